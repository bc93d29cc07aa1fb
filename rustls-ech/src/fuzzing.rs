//! Entry points for the fuzz targets in `fuzz/`: only built under cargo-fuzz (`cfg(fuzzing)`).
//! Each runs one parser or one step of the ClientHello path on arbitrary bytes; none may panic.

use crate::hello::testing::{
    ech_outer_data, handshake_message, supported_versions_data, ClientHelloBuilder,
};
use crate::hello::{self, ClientHello, EchClientHello};
use crate::keys::EchKey;
use crate::suite::{HpkeSuiteId, SymmetricSuite};
use crate::wire;

/// Parses a ClientHello message and everything the engine reads from it.
pub fn client_hello(message: &[u8]) {
    let Ok(hello) = ClientHello::parse(message) else {
        return;
    };
    let _ = hello.extensions().count();
    let _ = hello.is_bare_inner();
    if let Ok(Some(EchClientHello::Outer(outer))) = hello.ech() {
        let aad = hello.client_hello_outer_aad(&outer);
        assert_eq!(aad.len(), hello.body().len());
        let _ = hello.check_second_outer(outer.cipher_suite, outer.config_id);
    }
}

/// Rebuilds ClientHelloInner from a ClientHelloOuter message and an EncodedClientHelloInner.
pub fn client_hello_inner(outer: &[u8], encoded: &[u8], max_len: usize) {
    let Ok(outer) = ClientHello::parse(outer) else {
        return;
    };
    if let Ok(inner) = hello::decode_client_hello_inner(&outer, encoded, max_len) {
        assert!(inner.len() <= max_len);
        let parsed = ClientHello::parse(&inner).expect("a rebuilt ClientHelloInner parses");
        let _ = hello::validate_client_hello_inner(&parsed);
    }
}

/// A ClientHelloOuter record for `key` whose payload seals `encoded_inner`: the bytes the
/// engine decrypts are the fuzzer's, so the code behind the HPKE open is reached.
pub fn sealed_client_hello_outer(key: &EchKey, encoded_inner: &[u8]) -> Option<Vec<u8>> {
    let config = key.config();
    let suite: SymmetricSuite = *config.cipher_suites().first()?;
    let hpke = crate::hpke::HpkeBackend::default_backend().suite(HpkeSuiteId {
        kem: config.kem(),
        sym: suite,
    })?;
    let (enc, mut sealer) = hpke
        .setup_sealer(&config.hpke_info(), &config.key_config().hpke_public_key())
        .ok()?;
    let payload_len = encoded_inner.len() + 16;

    let build = |payload: &[u8]| {
        let sni = {
            let name = config.public_name().as_bytes();
            let mut data = ((name.len() + 3) as u16).to_be_bytes().to_vec();
            data.push(0);
            data.extend_from_slice(&(name.len() as u16).to_be_bytes());
            data.extend_from_slice(name);
            data
        };
        ClientHelloBuilder {
            legacy_session_id: vec![7; 32],
            ..Default::default()
        }
        .extension(0, sni)
        .extension(0x002b, supported_versions_data(&[0x0304, 0x0303]))
        .extension(0x000a, vec![0, 2, 0, 0x1d])
        .extension(0x0033, {
            let mut share = vec![0, 36, 0, 0x1d, 0, 32];
            share.extend_from_slice(&[9; 32]);
            share
        })
        .extension(
            wire::EXT_ENCRYPTED_CLIENT_HELLO,
            ech_outer_data(suite, config.config_id(), &enc.0, payload),
        )
        .message()
    };

    // The AAD is ClientHelloOuter with the payload zeroed (RFC 9849 §5.2).
    let zeroed = build(&vec![0; payload_len]);
    let aad = &zeroed[4..];
    let sealed = sealer.seal(aad, encoded_inner).ok()?;
    let message = build(&sealed);
    let mut record = Vec::with_capacity(message.len() + 5);
    wire::push_handshake_records(&mut record, [3, 1], &message);
    Some(record)
}

/// A ClientHello message from the fields the fuzzer chose, for targets that need a valid frame.
pub fn client_hello_message(body: &[u8]) -> Vec<u8> {
    handshake_message(body)
}
