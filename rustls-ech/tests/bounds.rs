//! Resource bounds on the ClientHello path: what a peer can make the server hold or compute.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use rustls::crypto::hpke::{
    EncapsulatedSecret, Hpke, HpkeOpener, HpkePrivateKey, HpkePublicKey, HpkeSealer, HpkeSuite,
};
use rustls_ech::hpke::HpkeBackend;
use rustls_ech::{EchKeys, EchServer, EchStatus};

static OPENS: AtomicUsize = AtomicUsize::new(0);

/// rustls's X25519 / HKDF-SHA256 / AES-128-GCM suite, counting receiver contexts.
#[derive(Debug)]
struct CountingHpke;

fn base() -> &'static dyn Hpke {
    rustls::crypto::aws_lc_rs::hpke::DH_KEM_X25519_HKDF_SHA256_AES_128
}

impl Hpke for CountingHpke {
    fn seal(
        &self,
        info: &[u8],
        aad: &[u8],
        plaintext: &[u8],
        pub_key: &HpkePublicKey,
    ) -> Result<(EncapsulatedSecret, Vec<u8>), rustls::Error> {
        base().seal(info, aad, plaintext, pub_key)
    }

    fn setup_sealer(
        &self,
        info: &[u8],
        pub_key: &HpkePublicKey,
    ) -> Result<(EncapsulatedSecret, Box<dyn HpkeSealer + 'static>), rustls::Error> {
        base().setup_sealer(info, pub_key)
    }

    fn open(
        &self,
        enc: &EncapsulatedSecret,
        info: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
        secret_key: &HpkePrivateKey,
    ) -> Result<Vec<u8>, rustls::Error> {
        OPENS.fetch_add(1, Ordering::SeqCst);
        base().open(enc, info, aad, ciphertext, secret_key)
    }

    fn setup_opener(
        &self,
        enc: &EncapsulatedSecret,
        info: &[u8],
        secret_key: &HpkePrivateKey,
    ) -> Result<Box<dyn HpkeOpener + 'static>, rustls::Error> {
        OPENS.fetch_add(1, Ordering::SeqCst);
        base().setup_opener(enc, info, secret_key)
    }

    fn generate_key_pair(&self) -> Result<(HpkePublicKey, HpkePrivateKey), rustls::Error> {
        base().generate_key_pair()
    }

    fn suite(&self) -> HpkeSuite {
        base().suite()
    }
}

static COUNTING: &[&dyn Hpke] = &[&CountingHpke];

fn aes128_key(config_id: u8) -> (rustls_ech::EchKey, rustls_ech::config::EchConfigList) {
    let suite = rustls_ech::suite::SymmetricSuite {
        kdf: rustls_ech::suite::Kdf::HkdfSha256,
        aead: rustls_ech::suite::Aead::Aes128Gcm,
    };
    key_with_suites(
        config_id,
        rustls_ech::suite::Kem::DhKemX25519HkdfSha256,
        vec![suite],
    )
}

#[test]
fn trial_decryption_tries_only_keys_with_the_matching_config_id() {
    // Twenty keys under other ids, two under id 9 (one of which opens the hello).
    let mut keys: Vec<_> = (10..30).map(|id| aes128_key(id).0).collect();
    keys.push(aes128_key(9).0);
    let (right, list) = aes128_key(9);
    keys.push(right);
    let ech = EchServer::with_backend(
        EchKeys::new(keys).unwrap(),
        HpkeBackend::custom("counting", COUNTING),
    );
    let server = server_config(&ech, ServerOptions::default());

    let client = client_config(ClientOptions {
        ech: ClientEch::Config(list.encoded()),
        ..Default::default()
    });
    let before = OPENS.load(Ordering::SeqCst);
    let outcome = handshake(client, server.clone(), ech.engine(), None);
    outcome.result.unwrap();
    assert!(matches!(
        outcome.engine.status(),
        Some(EchStatus::Accepted { config_id: 9, .. })
    ));
    let opens = OPENS.load(Ordering::SeqCst) - before;
    assert!(
        (1..=2).contains(&opens),
        "{opens} HPKE contexts for two candidate keys"
    );

    // An id no key has costs no HPKE operation at all.
    let (_, unknown) = aes128_key(200);
    let client = client_config(ClientOptions {
        ech: ClientEch::Config(unknown.encoded()),
        ..Default::default()
    });
    let before = OPENS.load(Ordering::SeqCst);
    let outcome = handshake(client, server, ech.engine(), None);
    assert_eq!(outcome.engine.status(), Some(&EchStatus::Rejected));
    assert_eq!(OPENS.load(Ordering::SeqCst) - before, 0);
}

#[test]
fn a_stalled_client_hello_holds_only_the_bytes_that_arrived() {
    let ech = server_with(vec![x25519_key(1).0]);
    let mut engine = ech.engine();
    // A record announcing 16 KiB, carrying a ClientHello header announcing 30000 bytes, and
    // then only 20 bytes of it.
    let mut partial = vec![22, 3, 1, 0x40, 0x00, 1, 0, 0x75, 0x30];
    partial.extend_from_slice(&[0; 20]);
    let (mut to_rustls, mut to_peer) = (Vec::new(), Vec::new());
    engine
        .receive(&partial, &mut to_rustls, &mut to_peer)
        .unwrap();
    assert!(to_rustls.is_empty() && to_peer.is_empty());
    assert!(
        engine.buffered_len() <= partial.len(),
        "{} bytes held",
        engine.buffered_len()
    );
    assert_eq!(engine.status(), None);
}

#[test]
fn a_client_hello_over_the_bound_is_refused_from_its_header() {
    let ech = server_with(vec![]);
    let mut engine = ech.engine();
    let max = rustls_ech::DEFAULT_MAX_CLIENT_HELLO_LEN;
    let announced = max - 4 + 1;
    let mut header = vec![22, 3, 1, 0x00, 0x04, 1];
    header.extend_from_slice(&(announced as u32).to_be_bytes()[1..]);
    let (mut to_rustls, mut to_peer) = (Vec::new(), Vec::new());
    let error = engine
        .receive(&header, &mut to_rustls, &mut to_peer)
        .unwrap_err();
    assert_eq!(
        error,
        rustls_ech::EchError::ClientHelloTooLarge { len: max + 1, max }
    );
    assert_eq!(
        alerts(&to_peer),
        vec![rustls::AlertDescription::HandshakeFailure]
    );
    assert!(to_rustls.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_half_open_client_hello_ends_at_the_timeout() {
    let ech = server_with(vec![x25519_key(1).0]);
    let acceptor = ech
        .acceptor(server_config(&ech, ServerOptions::default()))
        .unwrap()
        .with_client_hello_timeout(Some(Duration::from_secs(5)));

    // A peer that sends the start of a ClientHello and then nothing, keeping the pipe open.
    let (server_end, mut client_end) = tokio::io::duplex(1 << 16);
    tokio::io::AsyncWriteExt::write_all(&mut client_end, &[22, 3, 1, 0x01, 0x00, 1, 0, 0, 0xfc])
        .await
        .unwrap();
    let error = acceptor.accept(server_end).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
    drop(client_end);
}

#[tokio::test(start_paused = true)]
async fn a_slow_loris_client_hello_ends_at_the_timeout() {
    let ech = server_with(vec![x25519_key(1).0]);
    let acceptor = ech
        .acceptor(server_config(&ech, ServerOptions::default()))
        .unwrap()
        .with_client_hello_timeout(Some(Duration::from_secs(5)));

    // One byte a second: each arrives well within any per-read timeout, the whole never does.
    let (server_end, mut client_end) = tokio::io::duplex(1 << 16);
    let trickle = tokio::spawn(async move {
        let hello = [22u8, 3, 1, 0x01, 0x00, 1, 0, 0, 0xfc];
        for byte in hello.iter().chain([0u8; 300].iter()) {
            if tokio::io::AsyncWriteExt::write_all(&mut client_end, &[*byte])
                .await
                .is_err()
            {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let error = acceptor.accept(server_end).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
    trickle.abort();
}
