//! The table between the engine and the provider wrapper must not grow with traffic: each
//! engine removes what it registered once rustls has answered, or when it is dropped.
//! (A test binary of its own, so no other test's connections are counted.)

mod common;

use common::*;
use rustls_ech::__test_support::live_registrations;

#[test]
fn registrations_end_with_their_handshake_or_engine() {
    let (key, list) = x25519_key(1);
    let (_, stale) = x25519_key(2);
    let ech = server_with(vec![key]);
    let server = server_config(&ech, ServerOptions::default());

    for config in [list.encoded(), stale.encoded()] {
        for _ in 0..5 {
            let client = client_config(ClientOptions {
                ech: ClientEch::Config(config),
                ..Default::default()
            });
            let outcome = handshake(client, server.clone(), ech.engine(), None);
            assert_eq!(live_registrations(), 0, "{:?}", outcome.engine.status());
        }
    }

    // An engine that saw a ClientHello but never an answer holds its entry until dropped.
    let client = client_config(ClientOptions {
        ech: ClientEch::Config(list.encoded()),
        ..Default::default()
    });
    let name = rustls::pki_types::ServerName::try_from(INNER_NAME).unwrap();
    let mut conn = rustls::ClientConnection::new(client, name).unwrap();
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).unwrap();
    let mut engine = ech.engine();
    engine
        .receive(&hello, &mut Vec::new(), &mut Vec::new())
        .unwrap();
    assert!(live_registrations() > 0);
    drop(engine);
    assert_eq!(live_registrations(), 0);
}
