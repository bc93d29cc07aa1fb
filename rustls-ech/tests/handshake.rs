//! Handshakes against rustls's own ECH client, in memory, through the ECH engine.

mod common;

use common::*;
use rustls::client::EchStatus as ClientEchStatus;
use rustls_ech::EchStatus;

#[test]
fn accepts_ech_and_serves_the_inner_name() {
    let (key, list) = x25519_key(7);
    let ech = server_with(vec![key]);
    let server = server_config(&ech, ServerOptions::default());
    let client = client_config(ClientOptions {
        ech: ClientEch::Config(list.encoded()),
        ..Default::default()
    });

    let outcome = handshake(client, server, ech.engine(), None);
    outcome.result.unwrap();
    assert_eq!(outcome.client.ech_status(), ClientEchStatus::Accepted);
    assert_eq!(outcome.server.server_name(), Some(INNER_NAME));
    assert_eq!(
        outcome.engine.status(),
        Some(&EchStatus::Accepted {
            config_id: 7,
            outer_server_name: Some(PUBLIC_NAME.into())
        })
    );
}

#[test]
fn rejects_unknown_config_and_sends_retry_configs() {
    let (key, _) = x25519_key(1);
    let (_, stale) = x25519_key(2);
    let ech = server_with(vec![key]);
    let server = server_config(&ech, ServerOptions::default());
    let client = client_config(ClientOptions {
        ech: ClientEch::Config(stale.encoded()),
        ..Default::default()
    });

    let outcome = handshake(client, server, ech.engine(), None);
    let error = outcome.result.unwrap_err();
    assert!(retry_configs(&error), "{error}");
    assert_eq!(outcome.server.server_name(), Some(PUBLIC_NAME));
    assert_eq!(outcome.engine.status(), Some(&EchStatus::Rejected));
}

#[test]
fn client_without_ech_completes_as_with_stock_rustls() {
    let (key, _) = x25519_key(1);
    let ech = server_with(vec![key]);
    let server = server_config(&ech, ServerOptions::default());
    let client = client_config(ClientOptions::default());

    let outcome = handshake(client, server, ech.engine(), None);
    outcome.result.unwrap();
    assert_eq!(outcome.engine.status(), Some(&EchStatus::NotOffered));
    assert_eq!(outcome.server.server_name(), Some(INNER_NAME));
}
