//! Handshakes against rustls's own ECH client, in memory, through the ECH engine.

mod common;

use std::sync::Arc;

use common::*;
use rustls::client::EchStatus as ClientEchStatus;
use rustls::crypto::CryptoProvider;
use rustls::HandshakeKind;
use rustls_ech::suite::Kem;
use rustls_ech::EchStatus;

type NamedProvider = (&'static str, fn() -> CryptoProvider);

fn providers() -> [NamedProvider; 2] {
    [("aws-lc-rs", aws_lc_rs), ("ring", ring)]
}

#[test]
fn accepts_ech_and_serves_the_inner_name() {
    for (name, provider) in providers() {
        let (key, list) = x25519_key(7);
        let ech = server_with(vec![key]);
        let server = server_config(
            &ech,
            ServerOptions {
                provider: provider(),
                ..Default::default()
            },
        );
        let client = client_config(ClientOptions {
            ech: ClientEch::Config(list.encoded()),
            ..Default::default()
        });

        let outcome = handshake(client, server, ech.engine(), None);
        outcome.result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            outcome.client.ech_status(),
            ClientEchStatus::Accepted,
            "{name}"
        );
        assert_eq!(outcome.server.server_name(), Some(INNER_NAME), "{name}");
        assert_eq!(outcome.engine.status(), Some(&accepted(7)), "{name}");
    }
}

#[test]
fn accepts_ech_with_every_kem_and_symmetric_suite() {
    let kems = [
        Kem::DhKemX25519HkdfSha256,
        Kem::DhKemP256HkdfSha256,
        Kem::DhKemP384HkdfSha384,
        Kem::DhKemP521HkdfSha512,
    ];
    for kem in kems {
        // rustls's client takes the first suite it supports: offer each on its own.
        for suite in rustls_ech::config::default_cipher_suites(kem) {
            let (key, list) = key_with_suites(3, kem, vec![suite]);
            let ech = server_with(vec![key]);
            let server = server_config(&ech, ServerOptions::default());
            let client = client_config(ClientOptions {
                ech: ClientEch::Config(list.encoded()),
                ..Default::default()
            });
            let outcome = handshake(client, server, ech.engine(), None);
            outcome
                .result
                .unwrap_or_else(|e| panic!("{kem} {suite}: {e}"));
            assert_eq!(
                outcome.client.ech_status(),
                ClientEchStatus::Accepted,
                "{kem} {suite}"
            );
        }
    }
}

#[test]
fn accepts_ech_after_hello_retry_request() {
    for (name, provider) in providers() {
        let (key, list) = x25519_key(9);
        let ech = server_with(vec![key]);
        let server = server_config(
            &ech,
            ServerOptions {
                provider: p256_only(provider()),
                ..Default::default()
            },
        );
        let client = client_config(ClientOptions {
            ech: ClientEch::Config(list.encoded()),
            provider: x25519_first(aws_lc_rs()),
            ..Default::default()
        });

        let outcome = handshake(client, server, ech.engine(), None);
        outcome.result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            outcome.client.handshake_kind(),
            Some(HandshakeKind::FullWithHelloRetryRequest)
        );
        assert_eq!(
            outcome.client.ech_status(),
            ClientEchStatus::Accepted,
            "{name}"
        );
        assert_eq!(outcome.server.server_name(), Some(INNER_NAME), "{name}");
    }
}

#[test]
fn rejects_unknown_config_then_client_retries_with_retry_configs() {
    for (name, provider) in providers() {
        reject_then_retry(
            name,
            ServerOptions {
                provider: provider(),
                ..Default::default()
            },
        );
    }
}

/// The retry configs make EncryptedExtensions' record longer than a record may be when the
/// flight fills it: it must leave as two records, and every later record of the flight must
/// still decrypt. This also pins what the split relies on in rustls: it writes what the
/// encrypter returns verbatim behind one header, and numbers a key's records consecutively.
#[test]
fn sends_retry_configs_when_the_server_flight_fills_its_first_record() {
    for (name, provider) in providers() {
        for padding in [16 * 1024, 40 * 1024] {
            reject_then_retry(
                &format!("{name}, {padding}-byte padding"),
                ServerOptions {
                    provider: provider(),
                    public_chain_padding: padding,
                    ..Default::default()
                },
            );
        }
    }
}

/// A client holding a config the server lacks is rejected on the public name, receives the
/// server's retry configs, and is accepted with them.
fn reject_then_retry(label: &str, options: ServerOptions) {
    let (key, _) = x25519_key(1);
    let (_, stale) = x25519_key(2);
    let ech = server_with(vec![key]);
    let server = server_config(&ech, options);
    let client = client_config(ClientOptions {
        ech: ClientEch::Config(stale.encoded()),
        ..Default::default()
    });

    let outcome = handshake(client, server.clone(), ech.engine(), None);
    assert!(outcome.result.is_err(), "{label}");
    assert_eq!(outcome.server.server_name(), Some(PUBLIC_NAME), "{label}");
    assert_eq!(
        outcome.engine.status(),
        Some(&EchStatus::Rejected),
        "{label}"
    );
    let retry = retry_configs(outcome.client_error.as_ref())
        .unwrap_or_else(|| panic!("{label}: no retry configs: {:?}", outcome.result));
    assert_eq!(
        retry,
        ech.keys().snapshot().retry_configs().to_vec(),
        "{label}"
    );

    let client = client_config(ClientOptions {
        ech: ClientEch::Config(&retry),
        ..Default::default()
    });
    let outcome = handshake(client, server, ech.engine(), None);
    outcome
        .result
        .unwrap_or_else(|e| panic!("{label} retry: {e}"));
    assert_eq!(
        outcome.client.ech_status(),
        ClientEchStatus::Accepted,
        "{label}"
    );
    assert_eq!(outcome.engine.status(), Some(&accepted(1)), "{label}");
}

#[test]
fn the_application_can_decline_ech_by_the_inner_name() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    for serve_inner in [false, true] {
        let (key, list) = x25519_key(1);
        let seen = seen.clone();
        let ech = server_with(vec![key]).with_accept_filter(move |name| {
            seen.lock().unwrap().push(name.map(str::to_owned));
            serve_inner
        });
        let server = server_config(&ech, ServerOptions::default());
        let client = client_config(ClientOptions {
            ech: ClientEch::Config(list.encoded()),
            ..Default::default()
        });

        let outcome = handshake(client, server, ech.engine(), None);
        if serve_inner {
            outcome.result.unwrap();
            assert_eq!(outcome.engine.status(), Some(&accepted(1)));
            assert_eq!(outcome.server.server_name(), Some(INNER_NAME));
        } else {
            // Declined: the handshake runs on ClientHelloOuter, and the client, having verified
            // the public name's certificate, gets no retry configs: it is to connect again
            // without ECH.
            assert_eq!(outcome.engine.status(), Some(&EchStatus::Rejected));
            assert_eq!(outcome.server.server_name(), Some(PUBLIC_NAME));
            assert!(
                matches!(
                    outcome.client_error,
                    Some(rustls::Error::PeerIncompatible(
                        rustls::PeerIncompatible::ServerRejectedEncryptedClientHello(None)
                    ))
                ),
                "{:?}",
                outcome.result
            );
        }
    }
    assert_eq!(*seen.lock().unwrap(), vec![Some(INNER_NAME.to_owned()); 2]);
}

#[test]
fn rejects_after_hello_retry_request_with_retry_configs() {
    let (key, _) = x25519_key(1);
    let (_, stale) = x25519_key(2);
    let ech = server_with(vec![key]);
    let server = server_config(
        &ech,
        ServerOptions {
            provider: p256_only(aws_lc_rs()),
            ..Default::default()
        },
    );
    let client = client_config(ClientOptions {
        ech: ClientEch::Config(stale.encoded()),
        provider: x25519_first(aws_lc_rs()),
        ..Default::default()
    });
    let outcome = handshake(client, server, ech.engine(), None);
    assert!(
        retry_configs(outcome.client_error.as_ref()).is_some(),
        "{:?}",
        outcome.result
    );
}

#[test]
fn grease_client_completes_and_is_rejected() {
    let (key, _) = x25519_key(1);
    let ech = server_with(vec![key]);
    let server = server_config(&ech, ServerOptions::default());
    let client = client_config(ClientOptions {
        ech: ClientEch::Grease,
        ..Default::default()
    });

    let outcome = handshake(client, server, ech.engine(), None);
    outcome.result.unwrap();
    assert_eq!(outcome.client.ech_status(), ClientEchStatus::Grease);
    assert_eq!(outcome.engine.status(), Some(&EchStatus::Rejected));
}

#[test]
fn client_without_ech_and_tls12_client_complete_as_with_stock_rustls() {
    for (name, provider) in providers() {
        for tls12_only in [false, true] {
            let (key, _) = x25519_key(1);
            let ech = server_with(vec![key]);
            let server = server_config(
                &ech,
                ServerOptions {
                    provider: provider(),
                    ..Default::default()
                },
            );
            let client = client_config(ClientOptions {
                tls12_only,
                ..Default::default()
            });

            let outcome = handshake(client, server, ech.engine(), None);
            outcome
                .result
                .unwrap_or_else(|e| panic!("{name} tls12={tls12_only}: {e}"));
            assert_eq!(outcome.engine.status(), Some(&EchStatus::NotOffered));
            assert_eq!(outcome.server.server_name(), Some(INNER_NAME));
            let version = outcome.server.protocol_version().unwrap();
            assert_eq!(version == rustls::ProtocolVersion::TLSv1_2, tls12_only);
        }
    }
}

#[test]
fn server_without_keys_behaves_as_stock_rustls() {
    let ech = server_with(vec![]);
    let server = server_config(&ech, ServerOptions::default());
    let client = client_config(ClientOptions {
        ech: ClientEch::Grease,
        ..Default::default()
    });
    let outcome = handshake(client, server, ech.engine(), None);
    outcome.result.unwrap();
    assert_eq!(outcome.engine.status(), Some(&EchStatus::Rejected));
}

#[test]
fn resumes_with_a_ticket_from_an_ech_accepted_connection() {
    for (name, provider) in providers() {
        let (key, list) = x25519_key(4);
        let ech = server_with(vec![key]);
        let server = server_config(
            &ech,
            ServerOptions {
                provider: provider(),
                ..Default::default()
            },
        );
        let client = client_config(ClientOptions {
            ech: ClientEch::Config(list.encoded()),
            ..Default::default()
        });

        let mut first = handshake(client.clone(), server.clone(), ech.engine(), None);
        first
            .result
            .as_ref()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        first.deliver_tickets();

        let second = handshake(client, server, ech.engine(), None);
        second
            .result
            .unwrap_or_else(|e| panic!("{name} resumption: {e}"));
        assert_eq!(
            second.client.handshake_kind(),
            Some(HandshakeKind::Resumed),
            "{name}"
        );
        assert_eq!(
            second.client.ech_status(),
            ClientEchStatus::Accepted,
            "{name}"
        );
        assert_eq!(second.server.server_name(), Some(INNER_NAME), "{name}");
    }
}

#[test]
fn client_authentication_with_ech_accepted() {
    for (name, provider) in providers() {
        let (key, list) = x25519_key(5);
        let ech = server_with(vec![key]);
        let server = server_config(
            &ech,
            ServerOptions {
                provider: provider(),
                client_auth: true,
                ..Default::default()
            },
        );
        let client = client_config(ClientOptions {
            ech: ClientEch::Config(list.encoded()),
            client_auth: true,
            ..Default::default()
        });
        let outcome = handshake(client, server, ech.engine(), None);
        outcome.result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(outcome.client.ech_status(), ClientEchStatus::Accepted);
        assert!(outcome
            .server
            .peer_certificates()
            .is_some_and(|c| !c.is_empty()));
    }
}

#[test]
fn repeated_config_ids_are_all_tried() {
    let (wrong, _) = x25519_key(6);
    let (right, list) = x25519_key(6);
    let ech = server_with(vec![wrong, right]);
    let server = server_config(&ech, ServerOptions::default());
    let client = client_config(ClientOptions {
        ech: ClientEch::Config(list.encoded()),
        ..Default::default()
    });
    let outcome = handshake(client, server, ech.engine(), None);
    outcome.result.unwrap();
    assert_eq!(outcome.engine.status(), Some(&accepted(6)));
}

#[test]
fn key_rotation_does_not_affect_a_connection_in_flight() {
    let (old, old_list) = x25519_key(1);
    let (new, _) = x25519_key(2);
    let ech = server_with(vec![old]);
    let server = server_config(&ech, ServerOptions::default());
    let engine = ech.engine();
    ech.keys()
        .replace(rustls_ech::EchKeys::new(vec![new]).unwrap());

    let client = client_config(ClientOptions {
        ech: ClientEch::Config(old_list.encoded()),
        ..Default::default()
    });
    let outcome = handshake(client.clone(), server.clone(), engine, None);
    outcome.result.unwrap();
    assert_eq!(outcome.engine.status(), Some(&accepted(1)));

    // A connection started after the rotation no longer has the old key.
    let outcome = handshake(client, server, ech.engine(), None);
    assert_eq!(outcome.engine.status(), Some(&EchStatus::Rejected));
}

#[test]
fn refuses_configs_that_cannot_carry_ech() {
    let ech = server_with(vec![]);
    let unwrapped = rustls::ServerConfig::builder_with_provider(Arc::new(aws_lc_rs()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(rustls::server::ResolvesServerCertUsingSni::new()));
    let wrapped = rustls::ServerConfig::builder_with_provider(Arc::new(ech.wrap(aws_lc_rs())))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(rustls::server::ResolvesServerCertUsingSni::new()));
    let tls12_only = rustls::ServerConfig::builder_with_provider(Arc::new(ech.wrap(aws_lc_rs())))
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(rustls::server::ResolvesServerCertUsingSni::new()));

    assert_eq!(
        ech.check_config(&unwrapped),
        Err(rustls_ech::ServerConfigError::ProviderNotWrapped)
    );
    assert_eq!(
        ech.check_config(&tls12_only),
        Err(rustls_ech::ServerConfigError::NoTls13)
    );
    assert_eq!(ech.check_config(&wrapped), Ok(()));
}

#[test]
fn accepts_ech_with_the_hpke_rs_backend_on_ring() {
    let (key, list) = x25519_key(8);
    let ech = rustls_ech::EchServer::with_backend(
        rustls_ech::EchKeys::new(vec![key]).unwrap(),
        rustls_ech::hpke::HpkeBackend::hpke_rs(),
    );
    let server = server_config(
        &ech,
        ServerOptions {
            provider: ring(),
            ..Default::default()
        },
    );
    let client = client_config(ClientOptions {
        ech: ClientEch::Config(list.encoded()),
        ..Default::default()
    });
    let outcome = handshake(client, server, ech.engine(), None);
    outcome.result.unwrap();
    assert_eq!(outcome.client.ech_status(), ClientEchStatus::Accepted);
    assert_eq!(outcome.engine.status(), Some(&accepted(8)));
}

/// Split mode: a client-facing server decrypts ClientHelloOuter and forwards ClientHelloInner
/// to this server, which sees a bare inner hello and must confirm acceptance (RFC 9849 §7.2).
#[test]
fn backend_confirms_a_bare_inner_hello() {
    for (name, provider) in providers() {
        let (key, list) = x25519_key(2);
        let frontend = server_with(vec![key]);
        let backend = server_with(vec![]);
        let backend_config = server_config(
            &backend,
            ServerOptions {
                provider: provider(),
                ..Default::default()
            },
        );
        let client_config = client_config(ClientOptions {
            ech: ClientEch::Config(list.encoded()),
            ..Default::default()
        });

        let server_name = rustls::pki_types::ServerName::try_from(INNER_NAME).unwrap();
        let mut client = rustls::ClientConnection::new(client_config, server_name).unwrap();
        let mut server = rustls::ServerConnection::new(backend_config).unwrap();
        let mut front = frontend.engine();
        let mut back = backend.engine();

        for _ in 0..10 {
            let mut wire = Vec::new();
            while client.wants_write() {
                client.write_tls(&mut wire).unwrap();
            }
            // The client-facing server forwards what its engine would give rustls.
            let mut forwarded = Vec::new();
            front
                .receive(&wire, &mut forwarded, &mut Vec::new())
                .unwrap();
            let mut to_rustls = Vec::new();
            back.receive(&forwarded, &mut to_rustls, &mut Vec::new())
                .unwrap();
            server.read_tls(&mut &to_rustls[..]).unwrap();
            server
                .process_new_packets()
                .unwrap_or_else(|e| panic!("{name}: server: {e}"));
            let mut out = Vec::new();
            while server.wants_write() {
                server.write_tls(&mut out).unwrap();
            }
            let mut to_client = Vec::new();
            back.send(&out, &mut to_client).unwrap();
            client.read_tls(&mut &to_client[..]).unwrap();
            client
                .process_new_packets()
                .unwrap_or_else(|e| panic!("{name}: client: {e}"));
            if !client.is_handshaking() && !server.is_handshaking() {
                break;
            }
        }
        assert!(!client.is_handshaking(), "{name}");
        assert_eq!(front.status(), Some(&accepted(2)), "{name}");
        assert_eq!(back.status(), Some(&EchStatus::Backend), "{name}");
        assert_eq!(client.ech_status(), ClientEchStatus::Accepted, "{name}");
        assert_eq!(server.server_name(), Some(INNER_NAME), "{name}");
    }
}

/// Appends an extension to the ClientHello in a single-record first flight.
fn append_extension(flight: &mut Vec<u8>, ext_type: u16, data: &[u8]) {
    let len16 = |b: &[u8], at: usize| usize::from(u16::from_be_bytes([b[at], b[at + 1]]));
    let put16 = |b: &mut Vec<u8>, at: usize, v: usize| {
        b[at..at + 2].copy_from_slice(&(v as u16).to_be_bytes())
    };
    let added = 4 + data.len();
    let record_len = len16(flight, 3);
    assert_eq!(record_len + 5, flight.len(), "one record expected");
    // Record header (5), handshake header (4), version (2), random (32), session id.
    let mut at = 5 + 4 + 2 + 32;
    at += 1 + usize::from(flight[at]);
    at += 2 + len16(flight, at);
    at += 1 + usize::from(flight[at]);
    let extensions_len = len16(flight, at);
    flight.extend_from_slice(&ext_type.to_be_bytes());
    flight.extend_from_slice(&(data.len() as u16).to_be_bytes());
    flight.extend_from_slice(data);
    put16(flight, at, extensions_len + added);
    put16(flight, 3, record_len + added);
    let body_len = record_len + added - 4;
    flight[6..9].copy_from_slice(&(body_len as u32).to_be_bytes()[1..]);
}

#[test]
fn rejected_ech_on_a_tls12_handshake_passes_through_after_server_hello() {
    let (key, _) = x25519_key(1);
    let ech = server_with(vec![key]);
    let server = server_config(&ech, ServerOptions::default());
    let client = client_config(ClientOptions {
        tls12_only: true,
        ..Default::default()
    });
    // An outer ECH extension no key opens: config_id 0x55, HKDF-SHA256/AES-128-GCM.
    let mut ech_ext = vec![0, 0, 1, 0, 1, 0x55, 0, 32];
    ech_ext.extend_from_slice(&[7; 32]);
    ech_ext.extend_from_slice(&[0, 16]);
    ech_ext.extend_from_slice(&[9; 16]);
    let edit = move |flight: &mut Vec<u8>| append_extension(flight, 0xfe0d, &ech_ext);

    let outcome = handshake(client, server, ech.engine(), Some(&edit));
    // The edit puts bytes in the server's transcript the client never sent, so the handshake
    // fails at Finished; the ServerHello flight went out before that.
    let error = outcome.result.unwrap_err();
    assert!(!error.starts_with("engine"), "{error}");
    assert_eq!(
        outcome.server.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    assert_eq!(outcome.engine.status(), Some(&EchStatus::Rejected));
    assert!(outcome.engine.inbound_passthrough() && outcome.engine.outbound_passthrough());
}

/// Bytes the engine does not judge reach rustls unchanged: here the first part of a
/// ClientHello followed by an alert record, which rustls must see as sent.
#[test]
fn a_client_hello_interrupted_by_another_record_reaches_rustls_unchanged() {
    let ech = server_with(vec![x25519_key(1).0]);
    let mut engine = ech.engine();
    let mut flight = vec![22, 3, 1, 0, 6, 1, 0, 1, 0, 3, 3];
    flight.extend_from_slice(&[21, 3, 3, 0, 2, 1, 0]);
    let (mut to_rustls, mut to_peer) = (Vec::new(), Vec::new());
    engine
        .receive(&flight, &mut to_rustls, &mut to_peer)
        .unwrap();
    assert_eq!(to_rustls, flight);
    assert!(to_peer.is_empty());
    assert!(engine.inbound_passthrough());
}
