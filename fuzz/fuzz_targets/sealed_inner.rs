//! Structure-aware: the fuzzer's bytes are sealed as EncodedClientHelloInner under a fixed key
//! inside a valid ClientHelloOuter, so the engine decrypts them and runs the reconstruction
//! and validation behind the HPKE open.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rustls_ech::config::EchConfigBuilder;
use rustls_ech::{EchKey, EchKeys, EchServer, EchStatus};

struct Fixture {
    server: EchServer,
    key: EchKey,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let (config, key) = EchConfigBuilder::new("public.example").config_id(1).generate().unwrap();
        let key = EchKey::new(config, key, true);
        let server = EchServer::new(EchKeys::new(vec![key.clone()]).unwrap());
        server.wrap(rustls::crypto::aws_lc_rs::default_provider());
        Fixture { server, key }
    })
}

fuzz_target!(|encoded_inner: &[u8]| {
    let fixture = fixture();
    let Some(record) = rustls_ech::fuzzing::sealed_client_hello_outer(&fixture.key, encoded_inner)
    else {
        return;
    };
    let mut engine = fixture.server.engine();
    let (mut to_rustls, mut to_peer) = (Vec::new(), Vec::new());
    match engine.receive(&record, &mut to_rustls, &mut to_peer) {
        // Whatever decrypted was accepted: the engine hands rustls a ClientHelloInner.
        Ok(()) => assert!(matches!(engine.status(), Some(EchStatus::Accepted { .. }))),
        Err(error) => assert!(!to_peer.is_empty(), "{error}: no alert sent"),
    }
});
