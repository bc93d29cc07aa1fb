//! What this crate relies on in rustls. Each test fails loudly if a rustls upgrade breaks one
//! of these facts, naming the fact.

mod common;

use common::*;
use rustls::client::EchStatus as ClientEchStatus;
use rustls::pki_types::ServerName;

/// The plaintext handshake records rustls's server sent, as (first byte of the message) list.
fn plaintext_handshake_types(bytes: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 5 {
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        let Some(fragment) = rest.get(5..5 + len) else {
            break;
        };
        if rest[0] == 22 {
            types.extend(fragment.first().copied());
        }
        rest = &rest[5 + len..];
    }
    types
}

#[test]
fn server_hello_leaves_in_a_plaintext_record_of_its_own() {
    let (key, list) = x25519_key(1);
    let ech = server_with(vec![key]);
    let server_config = server_config(&ech, ServerOptions::default());
    let client_config = client_config(ClientOptions {
        ech: ClientEch::Config(list.encoded()),
        ..Default::default()
    });

    let mut client =
        rustls::ClientConnection::new(client_config, ServerName::try_from(INNER_NAME).unwrap())
            .unwrap();
    let mut server = rustls::ServerConnection::new(server_config).unwrap();
    let mut engine = ech.engine();
    let mut hello = Vec::new();
    client.write_tls(&mut hello).unwrap();
    let mut to_rustls = Vec::new();
    engine
        .receive(&hello, &mut to_rustls, &mut Vec::new())
        .unwrap();
    server.read_tls(&mut &to_rustls[..]).unwrap();
    server.process_new_packets().unwrap();
    let mut out = Vec::new();
    server.write_tls(&mut out).unwrap();

    // The first record is a plaintext handshake record holding exactly one ServerHello.
    assert_eq!(
        out[0], 22,
        "rustls no longer sends ServerHello in a plaintext record"
    );
    let len = usize::from(u16::from_be_bytes([out[3], out[4]]));
    let message_len =
        4 + (usize::from(out[6]) << 16 | usize::from(out[7]) << 8 | usize::from(out[8]));
    assert_eq!(out[5], 2, "the first record is not a ServerHello");
    assert_eq!(
        len, message_len,
        "ServerHello shares its record with another message"
    );
    assert_eq!(
        plaintext_handshake_types(&out),
        vec![2],
        "other plaintext handshake records follow"
    );
}

#[test]
fn transcript_runs_through_the_wrapped_hash_and_edits_agree() {
    // If rustls hashed the transcript anywhere but through the suite's Hash contexts, or
    // stopped feeding ServerHello whole, the two peers' keys would differ and this fails with
    // a decryption or Finished error.
    let (key, list) = x25519_key(1);
    let ech = server_with(vec![key]);
    let server = server_config(&ech, ServerOptions::default());
    let client = client_config(ClientOptions {
        ech: ClientEch::Config(list.encoded()),
        ..Default::default()
    });
    let outcome = handshake(client, server, ech.engine(), None);
    outcome
        .result
        .expect("transcript edits disagree: rustls hashes the transcript differently");
    assert_eq!(outcome.client.ech_status(), ClientEchStatus::Accepted);
}

#[test]
fn encrypted_extensions_is_first_in_the_first_encrypted_record() {
    // The retry_configs edit is applied to the first record encrypted under the server
    // handshake key, within the call that hashed EncryptedExtensions. If rustls reorders
    // that, the client receives no retry configs (or fails to decrypt).
    let (key, _) = x25519_key(1);
    let (_, stale) = x25519_key(2);
    let ech = server_with(vec![key]);
    let server = server_config(&ech, ServerOptions::default());
    let client = client_config(ClientOptions {
        ech: ClientEch::Config(stale.encoded()),
        ..Default::default()
    });
    let outcome = handshake(client, server, ech.engine(), None);
    let retry = retry_configs(outcome.client_error.as_ref())
        .expect("EncryptedExtensions edit did not reach the client");
    assert_eq!(retry, ech.keys().snapshot().retry_configs());
}

#[test]
fn psk_binder_forks_see_partial_client_hellos() {
    // rustls checks the PSK binder over a fork fed a truncated ClientHello. A wrapper that
    // held bytes back would make this resumption fail with an incorrect binder.
    let (key, list) = x25519_key(1);
    let ech = server_with(vec![key]);
    let server = server_config(&ech, ServerOptions::default());
    let client = client_config(ClientOptions {
        ech: ClientEch::Config(list.encoded()),
        ..Default::default()
    });
    let mut first = handshake(client.clone(), server.clone(), ech.engine(), None);
    first.result.as_ref().unwrap();
    first.deliver_tickets();

    let second = handshake(client, server, ech.engine(), None);
    second
        .result
        .expect("resumption through the wrapped hash failed");
    assert_eq!(
        second.client.handshake_kind(),
        Some(rustls::HandshakeKind::Resumed)
    );
}

#[test]
fn server_config_debug_still_lists_tls13() {
    // check_config reads the enabled versions from ServerConfig's Debug output.
    let ech = server_with(vec![]);
    let config = server_config(
        &ech,
        ServerOptions {
            tls12: false,
            ..Default::default()
        },
    );
    assert!(
        format!("{config:?}").contains("TLSv1_3"),
        "ServerConfig's Debug no longer names TLS 1.3"
    );
}
