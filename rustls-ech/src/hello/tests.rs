use rustls::AlertDescription;

use super::testing::*;
use super::*;
use crate::suite::{Aead, Kdf, SymmetricSuite};

const SERVER_NAME: u16 = 0x0000;
const SUPPORTED_GROUPS: u16 = 0x000a;
const EC_POINT_FORMATS: u16 = 0x000b;
const SIGNATURE_ALGORITHMS: u16 = 0x000d;
const ALPN: u16 = 0x0010;
const PADDING: u16 = 0x0015;
const PSK_KEY_EXCHANGE_MODES: u16 = 0x002d;
const KEY_SHARE: u16 = 0x0033;

const SUITE: SymmetricSuite = SymmetricSuite {
    kdf: Kdf::HkdfSha256,
    aead: Aead::Aes128Gcm,
};
const CONFIG_ID: u8 = 7;
const ENC: [u8; 32] = [0x42; 32];
const PAYLOAD: [u8; 100] = [0xee; 100];
const SESSION_ID: [u8; 32] = [0x77; 32];
const MAX_LEN: usize = 1 << 16;

fn server_name(name: &str) -> Vec<u8> {
    let mut entry = vec![0];
    entry.extend_from_slice(&(name.len() as u16).to_be_bytes());
    entry.extend_from_slice(name.as_bytes());
    let mut data = (entry.len() as u16).to_be_bytes().to_vec();
    data.extend_from_slice(&entry);
    data
}

fn shared_extensions() -> Vec<(u16, Vec<u8>)> {
    vec![
        (EC_POINT_FORMATS, vec![1, 0]),
        (SUPPORTED_GROUPS, vec![0, 4, 0x00, 0x1d, 0x00, 0x17]),
        (SIGNATURE_ALGORITHMS, vec![0, 4, 0x04, 0x03, 0x08, 0x04]),
        (ALPN, b"\x00\x03\x02h2".to_vec()),
    ]
}

fn key_share() -> Vec<u8> {
    let mut data = vec![0, 36, 0x00, 0x1d, 0, 32];
    data.extend_from_slice(&[0x33; 32]);
    data
}

/// A ClientHelloOuter shaped like a browser's, offering TLS 1.3 and 1.2.
fn outer_builder() -> ClientHelloBuilder {
    let mut builder = ClientHelloBuilder {
        legacy_session_id: SESSION_ID.to_vec(),
        ..Default::default()
    }
    .extension(SERVER_NAME, server_name("public.example"));
    for (ext_type, data) in shared_extensions() {
        builder = builder.extension(ext_type, data);
    }
    builder
        .extension(
            EXT_SUPPORTED_VERSIONS,
            supported_versions_data(&[0x0304, 0x0303]),
        )
        .extension(PSK_KEY_EXCHANGE_MODES, vec![1, 1])
        .extension(KEY_SHARE, key_share())
        .extension(
            EXT_ENCRYPTED_CLIENT_HELLO,
            ech_outer_data(SUITE, CONFIG_ID, &ENC, &PAYLOAD),
        )
}

/// The ClientHelloInner matching [`outer_builder`], as the server must rebuild it: with the
/// outer `legacy_session_id`.
fn inner_builder() -> ClientHelloBuilder {
    inner_builder_with(&[0x0304])
}

fn inner_builder_with(versions: &[u16]) -> ClientHelloBuilder {
    let mut builder = ClientHelloBuilder {
        random: [0x1e; 32],
        legacy_session_id: SESSION_ID.to_vec(),
        ..Default::default()
    }
    .extension(SERVER_NAME, server_name("secret.example"));
    for (ext_type, data) in shared_extensions() {
        builder = builder.extension(ext_type, data);
    }
    builder
        .extension(EXT_SUPPORTED_VERSIONS, supported_versions_data(versions))
        .extension(PSK_KEY_EXCHANGE_MODES, vec![1, 1])
        .extension(KEY_SHARE, key_share())
        .extension(EXT_ENCRYPTED_CLIENT_HELLO, ech_inner_data())
}

/// An EncodedClientHelloInner: `builder`'s body with an empty `legacy_session_id`.
fn encoded(builder: ClientHelloBuilder) -> Vec<u8> {
    ClientHelloBuilder {
        legacy_session_id: Vec::new(),
        ..builder
    }
    .body()
}

/// An EncodedClientHelloInner whose compressed part is `references`, verbatim, between
/// supported_versions and the inner `encrypted_client_hello`.
fn encoded_with_references(references: Vec<u8>) -> Vec<u8> {
    encoded(
        ClientHelloBuilder {
            random: [0x1e; 32],
            ..Default::default()
        }
        .extension(SERVER_NAME, server_name("secret.example"))
        .extension(EXT_SUPPORTED_VERSIONS, supported_versions_data(&[0x0304]))
        .extension(EXT_ECH_OUTER_EXTENSIONS, references)
        .extension(EXT_ENCRYPTED_CLIENT_HELLO, ech_inner_data()),
    )
}

fn decode(encoded: &[u8]) -> Result<Vec<u8>, HelloError> {
    let outer = outer_builder().message();
    let outer = ClientHello::parse(&outer).unwrap();
    decode_client_hello_inner(&outer, encoded, MAX_LEN)
}

/// A ClientHello body assembled from raw parts, for malformed inputs the builder cannot
/// express.
fn raw_body(session_id: &[u8], suites: &[u8], compression: &[u8], extensions: &[u8]) -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&[0x5a; 32]);
    body.push(session_id.len() as u8);
    body.extend_from_slice(session_id);
    body.extend_from_slice(&(suites.len() as u16).to_be_bytes());
    body.extend_from_slice(suites);
    body.push(compression.len() as u8);
    body.extend_from_slice(compression);
    body.extend_from_slice(extensions);
    body
}

#[test]
fn parses_real_shaped_client_hello() {
    let message = outer_builder().message();
    let hello = ClientHello::parse(&message).unwrap();

    assert_eq!(hello.legacy_version, 0x0303);
    assert_eq!(hello.slice(&hello.random), &[0x5a; 32]);
    assert_eq!(hello.slice(&hello.legacy_session_id), &SESSION_ID);
    assert_eq!(
        hello.slice(&hello.cipher_suites),
        &[0x13, 0x01, 0x13, 0x02, 0x13, 0x03]
    );
    assert_eq!(hello.slice(&hello.legacy_compression_methods), &[0]);
    assert_eq!(hello.body(), message.get(4..).unwrap());
    assert_eq!(hello.end(), message.len());

    let types: Vec<u16> = hello.extensions().map(|e| e.ext_type).collect();
    assert_eq!(
        types,
        [
            SERVER_NAME,
            EC_POINT_FORMATS,
            SUPPORTED_GROUPS,
            SIGNATURE_ALGORITHMS,
            ALPN,
            EXT_SUPPORTED_VERSIONS,
            PSK_KEY_EXCHANGE_MODES,
            KEY_SHARE,
            EXT_ENCRYPTED_CLIENT_HELLO,
        ]
    );
    let alpn = hello.extension(ALPN).unwrap();
    assert_eq!(hello.slice(&alpn.data), b"\x00\x03\x02h2");
    assert_eq!(hello.slice(&alpn.whole), b"\x00\x10\x00\x05\x00\x03\x02h2");

    let Some(EchClientHello::Outer(ech)) = hello.ech().unwrap() else {
        panic!("expected an outer encrypted_client_hello");
    };
    assert_eq!(ech.cipher_suite, SUITE);
    assert_eq!(ech.config_id, CONFIG_ID);
    assert_eq!(hello.slice(&ech.enc), &ENC);
    assert_eq!(hello.slice(&ech.payload), &PAYLOAD);
    assert!(!hello.is_bare_inner().unwrap());
}

#[test]
fn parses_client_hello_without_extensions() {
    let message = ClientHelloBuilder {
        extensions: None,
        ..Default::default()
    }
    .message();
    let hello = ClientHello::parse(&message).unwrap();
    assert_eq!(hello.extensions, None);
    assert_eq!(hello.extensions().count(), 0);
    assert_eq!(hello.ech().unwrap(), None);
}

#[test]
fn rejects_every_truncation() {
    let message = outer_builder().message();
    for cut in 0..message.len() {
        let prefix = message.get(..cut).unwrap();
        assert!(ClientHello::parse(prefix).is_err(), "prefix of {cut} bytes");
    }
}

#[test]
fn rejects_every_truncation_with_consistent_header() {
    let builder = outer_builder();
    let body = builder.body();
    let hello = builder.message();
    let hello = ClientHello::parse(&hello).unwrap();
    // The one place a body may legitimately end early: no extensions block at all.
    let without_extensions = hello.extensions.unwrap().start - 2 - HANDSHAKE_HEADER_LEN;
    for cut in 0..body.len() {
        let message = handshake_message(body.get(..cut).unwrap());
        let parsed = ClientHello::parse(&message);
        assert_eq!(
            parsed.is_ok(),
            cut == without_extensions,
            "body of {cut} bytes"
        );
    }
}

#[test]
fn rejects_malformed_client_hellos() {
    let good = ClientHelloBuilder::default().body();
    let suites = [0x13, 0x01];
    let cases: Vec<(&str, Vec<u8>, HelloError)> = vec![
        ("empty", vec![], HelloError::Truncated),
        (
            "server hello",
            [&[2u8, 0, 0, 0][..]].concat(),
            HelloError::NotClientHello(2),
        ),
        (
            "trailing after message",
            [handshake_message(&good), vec![0]].concat(),
            HelloError::TrailingData,
        ),
        (
            "trailing after extensions",
            handshake_message(&[good.clone(), vec![0]].concat()),
            HelloError::TrailingData,
        ),
        (
            "stray byte instead of extensions",
            handshake_message(&raw_body(&[], &suites, &[0], &[0])),
            HelloError::Truncated,
        ),
        (
            "session id of 33 bytes",
            handshake_message(&raw_body(&[1; 33], &suites, &[0], &[0, 0])),
            HelloError::SessionIdTooLong,
        ),
        (
            "no cipher suites",
            handshake_message(&raw_body(&[], &[], &[0], &[0, 0])),
            HelloError::InvalidCipherSuites,
        ),
        (
            "odd cipher suites",
            handshake_message(&raw_body(&[], &[0x13, 0x01, 0x13], &[0], &[0, 0])),
            HelloError::InvalidCipherSuites,
        ),
        (
            "no compression methods",
            handshake_message(&raw_body(&[], &suites, &[], &[0, 0])),
            HelloError::NoCompressionMethods,
        ),
        (
            "extensions block longer than the body",
            handshake_message(&raw_body(&[], &suites, &[0], &[0, 9, 0, 0, 0, 0])),
            HelloError::Truncated,
        ),
        (
            "extension overruns its block",
            handshake_message(&raw_body(&[], &suites, &[0], &[0, 5, 0, 0, 0, 5, 1])),
            HelloError::MalformedExtensions,
        ),
        (
            "half an extension header",
            handshake_message(&raw_body(&[], &suites, &[0], &[0, 3, 0, 0, 0])),
            HelloError::MalformedExtensions,
        ),
        (
            "duplicate extension",
            ClientHelloBuilder::default()
                .extension(SERVER_NAME, server_name("a.example"))
                .extension(ALPN, vec![0, 3, 2, b'h', b'2'])
                .extension(SERVER_NAME, server_name("b.example"))
                .message(),
            HelloError::DuplicateExtension(SERVER_NAME),
        ),
    ];
    for (name, message, expected) in cases {
        assert_eq!(
            ClientHello::parse(&message).unwrap_err(),
            expected,
            "{name}"
        );
    }
}

#[test]
fn parses_ech_extension() {
    let outer = ech_outer_data(SUITE, CONFIG_ID, &ENC, &PAYLOAD);
    let unknown_suite = SymmetricSuite {
        kdf: Kdf::Unknown(0x7777),
        aead: Aead::Unknown(0x8888),
    };
    let cases: Vec<(&str, Vec<u8>, Result<EchClientHello, HelloError>)> = vec![
        ("inner", vec![1], Ok(EchClientHello::Inner)),
        (
            "outer",
            outer.clone(),
            Ok(EchClientHello::Outer(EchOuter {
                cipher_suite: SUITE,
                config_id: CONFIG_ID,
                enc: 8..40,
                payload: 42..142,
            })),
        ),
        (
            "outer with empty enc",
            ech_outer_data(SUITE, 0, &[], &[9]),
            Ok(EchClientHello::Outer(EchOuter {
                cipher_suite: SUITE,
                config_id: 0,
                enc: 8..8,
                payload: 10..11,
            })),
        ),
        (
            "outer with unknown suite",
            ech_outer_data(unknown_suite, 1, &[], &[9]),
            Ok(EchClientHello::Outer(EchOuter {
                cipher_suite: unknown_suite,
                config_id: 1,
                enc: 8..8,
                payload: 10..11,
            })),
        ),
        ("empty", vec![], Err(HelloError::MalformedEchExtension)),
        (
            "inner with content",
            vec![1, 0],
            Err(HelloError::MalformedEchExtension),
        ),
        (
            "unknown type",
            vec![2],
            Err(HelloError::UnknownEchClientHelloType(2)),
        ),
        (
            "outer type only",
            vec![0],
            Err(HelloError::MalformedEchExtension),
        ),
        (
            "outer with empty payload",
            ech_outer_data(SUITE, CONFIG_ID, &ENC, &[]),
            Err(HelloError::EmptyEchPayload),
        ),
        (
            "outer with trailing byte",
            [outer.clone(), vec![0]].concat(),
            Err(HelloError::MalformedEchExtension),
        ),
    ];
    for (name, data, expected) in cases {
        assert_eq!(
            EchClientHello::parse(&data, &(0..data.len())),
            expected,
            "{name}"
        );
    }

    for cut in 0..outer.len() {
        assert_eq!(
            EchClientHello::parse(&outer, &(0..cut)),
            Err(HelloError::MalformedEchExtension),
            "outer cut at {cut}"
        );
    }
}

#[test]
fn aad_zeroes_exactly_the_payload() {
    let message = outer_builder().message();
    let hello = ClientHello::parse(&message).unwrap();
    let Some(EchClientHello::Outer(ech)) = hello.ech().unwrap() else {
        panic!("expected an outer encrypted_client_hello");
    };

    let aad = hello.client_hello_outer_aad(&ech);

    let body = hello.body();
    assert_eq!(aad.len(), body.len());
    let payload = ech.payload.start - HANDSHAKE_HEADER_LEN..ech.payload.end - HANDSHAKE_HEADER_LEN;
    assert_eq!(body.get(payload.clone()).unwrap(), &PAYLOAD);
    for (index, (aad_byte, body_byte)) in aad.iter().zip(body).enumerate() {
        let expected = if payload.contains(&index) {
            0
        } else {
            *body_byte
        };
        assert_eq!(*aad_byte, expected, "byte {index}");
    }
}

#[test]
fn compress_then_decode_gives_back_client_hello_inner() {
    let choices: [&[u16]; 6] = [
        &[],
        &[KEY_SHARE],
        &[SUPPORTED_GROUPS, SIGNATURE_ALGORITHMS],
        &[
            EC_POINT_FORMATS,
            SUPPORTED_GROUPS,
            SIGNATURE_ALGORITHMS,
            ALPN,
        ],
        &[PSK_KEY_EXCHANGE_MODES, KEY_SHARE],
        &[EC_POINT_FORMATS],
    ];
    let inner = inner_builder().message();
    let outer_message = outer_builder().message();
    let outer = ClientHello::parse(&outer_message).unwrap();
    for compress in choices {
        for padding in [0, 1, 31] {
            let encoded =
                encode_client_hello_inner(&inner, &outer_message, compress, padding).unwrap();
            let decoded = decode_client_hello_inner(&outer, &encoded, MAX_LEN).unwrap();
            assert_eq!(
                decoded, inner,
                "compressing {compress:x?}, padding {padding}"
            );
            assert_eq!(decoded.capacity(), decoded.len());
            assert!(decoded.len() <= encoded.len() + outer.body().len());
        }
    }
}

#[test]
fn decode_restores_empty_outer_session_id() {
    let outer_message = ClientHelloBuilder {
        legacy_session_id: Vec::new(),
        ..outer_builder()
    }
    .message();
    let inner = ClientHelloBuilder {
        legacy_session_id: Vec::new(),
        ..inner_builder()
    }
    .message();
    let encoded = encode_client_hello_inner(&inner, &outer_message, &[KEY_SHARE], 5).unwrap();
    let outer = ClientHello::parse(&outer_message).unwrap();
    assert_eq!(
        decode_client_hello_inner(&outer, &encoded, MAX_LEN).unwrap(),
        inner
    );
}

#[test]
fn rejects_outer_extensions_out_of_order() {
    let references = outer_extensions_data(&[SIGNATURE_ALGORITHMS, SUPPORTED_GROUPS]);
    assert_eq!(
        decode(&encoded_with_references(references)),
        Err(HelloError::OuterExtensionOutOfOrder(SUPPORTED_GROUPS))
    );
}

#[test]
fn rejects_outer_extensions_missing() {
    let references = outer_extensions_data(&[SUPPORTED_GROUPS, 0x1234]);
    assert_eq!(
        decode(&encoded_with_references(references)),
        Err(HelloError::OuterExtensionMissing(0x1234))
    );
}

#[test]
fn rejects_outer_extensions_repeated() {
    let references = outer_extensions_data(&[SUPPORTED_GROUPS, KEY_SHARE, SUPPORTED_GROUPS]);
    assert_eq!(
        decode(&encoded_with_references(references)),
        Err(HelloError::OuterExtensionRepeated(SUPPORTED_GROUPS))
    );
}

#[test]
fn rejects_outer_extensions_naming_ech() {
    let references = outer_extensions_data(&[KEY_SHARE, EXT_ENCRYPTED_CLIENT_HELLO]);
    assert_eq!(
        decode(&encoded_with_references(references)),
        Err(HelloError::OuterExtensionsNamesEch)
    );
}

#[test]
fn rejects_outer_extension_already_in_inner() {
    let references = outer_extensions_data(&[SERVER_NAME]);
    assert_eq!(
        decode(&encoded_with_references(references)),
        Err(HelloError::DuplicateExtension(SERVER_NAME))
    );
}

#[test]
fn rejects_two_outer_extensions_lists() {
    let encoded = encoded(
        inner_builder()
            .extension(EXT_ECH_OUTER_EXTENSIONS, outer_extensions_data(&[ALPN]))
            .extension(
                EXT_ECH_OUTER_EXTENSIONS,
                outer_extensions_data(&[KEY_SHARE]),
            ),
    );
    assert_eq!(
        decode(&encoded),
        Err(HelloError::DuplicateExtension(EXT_ECH_OUTER_EXTENSIONS))
    );
    assert_eq!(
        HelloError::DuplicateExtension(EXT_ECH_OUTER_EXTENSIONS).alert(),
        AlertDescription::IllegalParameter
    );
}

#[test]
fn rejects_malformed_outer_extensions() {
    let cases: [(&str, Vec<u8>); 6] = [
        ("empty", vec![]),
        ("empty list", vec![0]),
        ("one byte list", vec![1, 0]),
        ("odd list", vec![3, 0x00, 0x0a, 0x00]),
        ("list overruns", vec![4, 0x00, 0x0a]),
        ("trailing byte", vec![2, 0x00, 0x0a, 0]),
    ];
    for (name, references) in cases {
        assert_eq!(
            decode(&encoded_with_references(references)),
            Err(HelloError::MalformedOuterExtensions),
            "{name}"
        );
    }
}

#[test]
fn rejects_nonzero_padding() {
    let mut encoded = encoded(inner_builder());
    encoded.extend_from_slice(&[0, 0, 0, 1, 0]);
    assert_eq!(decode(&encoded), Err(HelloError::NonZeroPadding));
}

#[test]
fn rejects_inner_session_id() {
    let encoded = inner_builder().body();
    assert_eq!(decode(&encoded), Err(HelloError::InnerSessionIdNotEmpty));
}

#[test]
fn rejects_missing_inner_extension() {
    let mut without = inner_builder();
    without
        .extensions
        .as_mut()
        .unwrap()
        .retain(|(ext_type, _)| *ext_type != EXT_ENCRYPTED_CLIENT_HELLO);
    let mut outer_typed = without.clone();
    outer_typed.extensions.as_mut().unwrap().push((
        EXT_ENCRYPTED_CLIENT_HELLO,
        ech_outer_data(SUITE, CONFIG_ID, &ENC, &PAYLOAD),
    ));
    let no_extensions = ClientHelloBuilder {
        extensions: None,
        ..inner_builder()
    };
    for (name, builder) in [
        ("absent", without),
        ("of type outer", outer_typed),
        ("no extensions block", no_extensions),
    ] {
        assert_eq!(
            decode(&encoded(builder)),
            Err(HelloError::MissingEchInnerExtension),
            "{name}"
        );
    }
}

#[test]
fn rejects_inner_offering_tls12() {
    for versions in [&[0x0304, 0x0303][..], &[0x0303, 0x0304], &[0x0304, 0x0302]] {
        let old = versions.iter().copied().find(|v| *v != 0x0304).unwrap();
        assert_eq!(
            decode(&encoded(inner_builder_with(versions))),
            Err(HelloError::InnerOffersOldVersion(old)),
            "{versions:x?}"
        );
    }
}

#[test]
fn rejects_inner_without_tls13() {
    let cases: [(&str, Vec<u8>, HelloError); 5] = [
        (
            "no TLS 1.3",
            supported_versions_data(&[0x7f1c, 0x2a2a]),
            HelloError::InnerLacksTls13,
        ),
        (
            "empty list",
            vec![0],
            HelloError::MalformedSupportedVersions,
        ),
        (
            "odd list",
            vec![3, 3, 4, 3],
            HelloError::MalformedSupportedVersions,
        ),
        (
            "trailing byte",
            vec![2, 3, 4, 0],
            HelloError::MalformedSupportedVersions,
        ),
        (
            "overrun",
            vec![4, 3, 4],
            HelloError::MalformedSupportedVersions,
        ),
    ];
    for (name, data, expected) in cases {
        let mut builder = inner_builder();
        for (ext_type, ext_data) in builder.extensions.as_mut().unwrap() {
            if *ext_type == EXT_SUPPORTED_VERSIONS {
                *ext_data = data.clone();
            }
        }
        assert_eq!(decode(&encoded(builder)), Err(expected), "{name}");
    }

    let mut without = inner_builder();
    without
        .extensions
        .as_mut()
        .unwrap()
        .retain(|(ext_type, _)| *ext_type != EXT_SUPPORTED_VERSIONS);
    assert_eq!(
        decode(&encoded(without)),
        Err(HelloError::MissingSupportedVersions)
    );
}

#[test]
fn tolerates_grease_in_supported_versions() {
    for versions in [
        &[0x0a0a, 0x0304][..],
        &[0x0304, 0xfafa],
        &[0x3a3a, 0x0304, 0x7f1c, 0xfefd],
    ] {
        let inner = inner_builder_with(versions).message();
        assert_eq!(
            decode(&encoded(inner_builder_with(versions))),
            Ok(inner),
            "{versions:x?}"
        );
    }
}

#[test]
fn recognises_grease_values() {
    for high in 0..16u16 {
        let value = high << 12 | 0x0a00 | high << 4 | 0x0a;
        assert!(is_grease(value), "0x{value:04x}");
    }
    for value in [0x0304, 0x0303, 0x0a0b, 0x0b0b, 0x1a2a, 0xabab, 0x0000] {
        assert!(!is_grease(value), "0x{value:04x}");
    }
}

#[test]
fn rejects_truncated_encoded_inner() {
    let encoded = encode_client_hello_inner(
        &inner_builder().message(),
        &outer_builder().message(),
        &[KEY_SHARE],
        0,
    )
    .unwrap();
    for cut in 0..encoded.len() {
        assert!(decode(encoded.get(..cut).unwrap()).is_err(), "cut at {cut}");
    }
}

#[test]
fn decode_survives_corrupted_bytes() {
    let encoded = encode_client_hello_inner(
        &inner_builder().message(),
        &outer_builder().message(),
        &[SUPPORTED_GROUPS, SIGNATURE_ALGORITHMS],
        8,
    )
    .unwrap();
    for index in 0..encoded.len() {
        for value in [0x00, 0x01, 0x7f, 0xff] {
            let mut corrupted = encoded.clone();
            if let Some(byte) = corrupted.get_mut(index) {
                *byte = value;
            }
            if let Ok(decoded) = decode(&corrupted) {
                ClientHello::parse(&decoded).unwrap();
            }
        }
    }
}

#[test]
fn enforces_inner_size_limit() {
    let inner = inner_builder().message();
    let outer_message = outer_builder().message();
    let outer = ClientHello::parse(&outer_message).unwrap();
    let encoded = encode_client_hello_inner(&inner, &outer_message, &[KEY_SHARE], 0).unwrap();

    assert_eq!(
        decode_client_hello_inner(&outer, &encoded, inner.len()),
        Ok(inner.clone())
    );
    assert_eq!(
        decode_client_hello_inner(&outer, &encoded, inner.len() - 1),
        Err(HelloError::InnerTooLarge {
            len: inner.len(),
            max: inner.len() - 1,
        })
    );
}

#[test]
fn rejects_expanded_extensions_over_u16() {
    let outer_message = outer_builder()
        .extension(PADDING, vec![0; 30_000])
        .message();
    let outer = ClientHello::parse(&outer_message).unwrap();
    let encoded = encoded(
        ClientHelloBuilder::default()
            .extension(0x7777, vec![0; 40_000])
            .extension(EXT_ECH_OUTER_EXTENSIONS, outer_extensions_data(&[PADDING]))
            .extension(EXT_ENCRYPTED_CLIENT_HELLO, ech_inner_data()),
    );
    assert!(matches!(
        decode_client_hello_inner(&outer, &encoded, usize::MAX),
        Err(HelloError::InnerExtensionsTooLong(len)) if len > 0xffff
    ));
}

#[test]
fn checks_second_client_hello_outer() {
    let second = |data: Option<Vec<u8>>| {
        let mut builder = outer_builder();
        let extensions = builder.extensions.as_mut().unwrap();
        extensions.retain(|(ext_type, _)| *ext_type != EXT_ENCRYPTED_CLIENT_HELLO);
        if let Some(data) = data {
            extensions.push((EXT_ENCRYPTED_CLIENT_HELLO, data));
        }
        builder.message()
    };
    let other_suite = SymmetricSuite {
        kdf: Kdf::HkdfSha384,
        aead: Aead::Aes128Gcm,
    };
    // Extension data of the second hello (`None`: absent), and the expected error.
    type Case = (&'static str, Option<Vec<u8>>, Option<HelloError>);
    let cases: [Case; 7] = [
        (
            "same parameters, empty enc",
            Some(ech_outer_data(SUITE, CONFIG_ID, &[], &PAYLOAD)),
            None,
        ),
        ("missing", None, Some(HelloError::SecondHelloMissingEch)),
        (
            "inner",
            Some(ech_inner_data()),
            Some(HelloError::SecondHelloNotOuter),
        ),
        (
            "other config_id",
            Some(ech_outer_data(SUITE, CONFIG_ID + 1, &[], &PAYLOAD)),
            Some(HelloError::SecondHelloChangedParameters),
        ),
        (
            "other cipher suite",
            Some(ech_outer_data(other_suite, CONFIG_ID, &[], &PAYLOAD)),
            Some(HelloError::SecondHelloChangedParameters),
        ),
        (
            "non-empty enc",
            Some(ech_outer_data(SUITE, CONFIG_ID, &ENC, &PAYLOAD)),
            Some(HelloError::SecondHelloEncNotEmpty),
        ),
        (
            "malformed",
            Some(vec![0, 0]),
            Some(HelloError::MalformedEchExtension),
        ),
    ];
    for (name, data, expected) in cases {
        let message = second(data);
        let hello = ClientHello::parse(&message).unwrap();
        match (hello.check_second_outer(SUITE, CONFIG_ID), expected) {
            (Ok(outer), None) => assert_eq!(hello.slice(&outer.payload), &PAYLOAD, "{name}"),
            (result, expected) => assert_eq!(result.err(), expected, "{name}"),
        }
    }
    assert_eq!(
        HelloError::SecondHelloMissingEch.alert(),
        AlertDescription::MissingExtension
    );
}

#[test]
fn detects_bare_inner_client_hello() {
    let inner = inner_builder().message();
    let outer = outer_builder().message();
    let plain = ClientHelloBuilder::default()
        .extension(EXT_SUPPORTED_VERSIONS, supported_versions_data(&[0x0304]))
        .message();
    let tls12_inner = inner_builder_with(&[0x0304, 0x0303]).message();
    let malformed = ClientHelloBuilder::default()
        .extension(EXT_ENCRYPTED_CLIENT_HELLO, vec![1, 0])
        .message();

    let cases: [(&str, &[u8], Result<bool, HelloError>); 5] = [
        ("inner", &inner, Ok(true)),
        ("outer", &outer, Ok(false)),
        ("no ECH", &plain, Ok(false)),
        ("inner offering TLS 1.2", &tls12_inner, Ok(true)),
        (
            "malformed ECH",
            &malformed,
            Err(HelloError::MalformedEchExtension),
        ),
    ];
    for (name, message, expected) in cases {
        assert_eq!(
            ClientHello::parse(message).unwrap().is_bare_inner(),
            expected,
            "{name}"
        );
    }
}

#[test]
fn maps_each_error_to_its_alert() {
    use AlertDescription::{DecodeError, IllegalParameter, MissingExtension, UnexpectedMessage};
    let table = [
        (HelloError::NotClientHello(2), UnexpectedMessage),
        (HelloError::Truncated, DecodeError),
        (HelloError::TrailingData, DecodeError),
        (HelloError::SessionIdTooLong, DecodeError),
        (HelloError::InvalidCipherSuites, DecodeError),
        (HelloError::NoCompressionMethods, DecodeError),
        (HelloError::MalformedExtensions, DecodeError),
        (HelloError::DuplicateExtension(0), IllegalParameter),
        (HelloError::MalformedEchExtension, DecodeError),
        (HelloError::UnknownEchClientHelloType(2), DecodeError),
        (HelloError::EmptyEchPayload, DecodeError),
        (HelloError::NonZeroPadding, IllegalParameter),
        (HelloError::InnerSessionIdNotEmpty, IllegalParameter),
        (HelloError::MalformedOuterExtensions, DecodeError),
        (HelloError::OuterExtensionMissing(1), IllegalParameter),
        (HelloError::OuterExtensionRepeated(1), IllegalParameter),
        (HelloError::OuterExtensionOutOfOrder(1), IllegalParameter),
        (HelloError::OuterExtensionsNamesEch, IllegalParameter),
        (HelloError::InnerExtensionsTooLong(70_000), DecodeError),
        (HelloError::InnerTooLarge { len: 2, max: 1 }, DecodeError),
        (HelloError::MissingEchInnerExtension, IllegalParameter),
        (HelloError::MissingSupportedVersions, IllegalParameter),
        (HelloError::MalformedSupportedVersions, DecodeError),
        (HelloError::InnerLacksTls13, IllegalParameter),
        (HelloError::InnerOffersOldVersion(0x0303), IllegalParameter),
        (HelloError::SecondHelloMissingEch, MissingExtension),
        (HelloError::SecondHelloNotOuter, IllegalParameter),
        (HelloError::SecondHelloChangedParameters, IllegalParameter),
        (HelloError::SecondHelloEncNotEmpty, IllegalParameter),
    ];
    for (error, alert) in table {
        assert_eq!(error.alert(), alert, "{error:?}");
        assert!(!error.to_string().is_empty());
    }
}

#[test]
fn finds_duplicate_extensions_among_many() {
    // Few extensions are checked inline, many in a bit set: a duplicate is found either way,
    // wherever it falls, and distinct types are never taken for duplicates.
    for count in [1u16, 2, 47, 48, 49, 50, 200, 3000] {
        let distinct = (0..count).fold(ClientHelloBuilder::default(), |builder, i| {
            builder.extension(0x1000 + i * 7, vec![])
        });
        assert!(
            ClientHello::parse(&distinct.message()).is_ok(),
            "{count} distinct"
        );

        for repeated in [0, count / 2, count - 1] {
            let ext_type = 0x1000 + repeated * 7;
            let message = (0..count)
                .fold(ClientHelloBuilder::default(), |builder, i| {
                    builder.extension(0x1000 + i * 7, vec![])
                })
                .extension(ext_type, vec![])
                .message();
            assert_eq!(
                ClientHello::parse(&message).unwrap_err(),
                HelloError::DuplicateExtension(ext_type),
                "{count} extensions, repeating number {repeated}"
            );
        }
    }
}
