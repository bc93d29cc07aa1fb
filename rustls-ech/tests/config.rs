use rustls_ech::config::{
    validate_public_name, ConfigError, EchConfig, EchConfigBuilder, EchConfigContents,
    EchConfigExtension, EchConfigList, Field, HpkeKeyConfig, PublicNameError, ECH_VERSION,
};
use rustls_ech::suite::{Aead, Kdf, Kem, SymmetricSuite};

const ALL_KEMS: [Kem; 4] = [
    Kem::DhKemX25519HkdfSha256,
    Kem::DhKemP256HkdfSha256,
    Kem::DhKemP384HkdfSha384,
    Kem::DhKemP521HkdfSha512,
];

/// Builds the contents of a version 0xfe0d ECHConfig by hand.
fn contents(config_id: u8, public_key: &[u8], suites: &[u8], name: &[u8], exts: &[u8]) -> Vec<u8> {
    let mut out = vec![config_id, 0x00, 0x20];
    out.extend_from_slice(&(public_key.len() as u16).to_be_bytes());
    out.extend_from_slice(public_key);
    out.extend_from_slice(&(suites.len() as u16).to_be_bytes());
    out.extend_from_slice(suites);
    out.push(0); // maximum_name_length
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    out.extend_from_slice(exts);
    out
}

fn config(version: u16, contents: &[u8]) -> Vec<u8> {
    let mut out = version.to_be_bytes().to_vec();
    out.extend_from_slice(&(contents.len() as u16).to_be_bytes());
    out.extend_from_slice(contents);
    out
}

fn list(configs: &[&[u8]]) -> Vec<u8> {
    let body: Vec<u8> = configs.concat();
    let mut out = (body.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

const SUITE: [u8; 4] = [0x00, 0x01, 0x00, 0x01];

fn good_contents() -> Vec<u8> {
    contents(7, &[0x42; 32], &SUITE, b"public.example", &[])
}

#[test]
fn generated_configs_round_trip_for_each_kem() {
    for kem in ALL_KEMS {
        let (config, private_key) = EchConfigBuilder::new("public.example")
            .kem(kem)
            .config_id(9)
            .maximum_name_length(32)
            .generate()
            .unwrap();
        assert_eq!(config.kem(), kem);
        assert_eq!(config.config_id(), 9);
        assert_eq!(config.maximum_name_length(), 32);
        assert_eq!(config.public_name(), "public.example");
        assert_eq!(
            config.key_config().public_key.len(),
            kem.public_key_len().unwrap()
        );
        assert_eq!(
            private_key.secret_bytes().len(),
            kem.private_key_len().unwrap()
        );

        let reparsed = EchConfig::parse(config.encoded()).unwrap();
        assert_eq!(reparsed, config);

        let list = EchConfigList::new(vec![config.clone()]).unwrap();
        let parsed = EchConfigList::parse(list.encoded()).unwrap();
        assert_eq!(parsed.encoded(), list.encoded());
        assert_eq!(parsed.configs(), &[config]);
        assert_eq!(
            EchConfigList::from_base64(&list.to_base64()).unwrap(),
            parsed
        );
    }
}

#[test]
fn default_suites_use_hkdf_sha256_for_x25519() {
    let (config, _) = EchConfigBuilder::new("a.example").generate().unwrap();
    assert_eq!(config.kem(), Kem::DhKemX25519HkdfSha256);
    let aeads: Vec<Aead> = config.cipher_suites().iter().map(|s| s.aead).collect();
    assert_eq!(
        aeads,
        [Aead::Aes128Gcm, Aead::Aes256Gcm, Aead::ChaCha20Poly1305]
    );
    assert!(config
        .cipher_suites()
        .iter()
        .all(|s| s.kdf == Kdf::HkdfSha256));
}

#[test]
fn hand_built_list_round_trips_byte_for_byte() {
    // Extension 0x0001 carrying two bytes; a non-minimal but valid encoding is kept as is.
    let ext = [0x00, 0x01, 0x00, 0x02, 0xab, 0xcd];
    let one = config(
        ECH_VERSION,
        &contents(7, &[0x42; 32], &SUITE, b"public.example", &ext),
    );
    let bytes = list(&[&one]);
    let parsed = EchConfigList::parse(&bytes).unwrap();
    assert_eq!(parsed.encoded(), &bytes[..]);
    let config = &parsed.configs()[0];
    assert_eq!(config.encoded(), &one[..]);
    assert_eq!(config.config_id(), 7);
    assert_eq!(
        config.cipher_suites(),
        &[SymmetricSuite {
            kdf: Kdf::HkdfSha256,
            aead: Aead::Aes128Gcm
        }]
    );
    assert_eq!(
        config.extensions(),
        &[EchConfigExtension {
            extension_type: 1,
            data: vec![0xab, 0xcd]
        }]
    );
    assert!(!config.has_unsupported_mandatory_extension());

    let mut info = b"tls ech\0".to_vec();
    info.extend_from_slice(&one);
    assert_eq!(config.hpke_info(), info);

    let rebuilt = EchConfig::from_contents(config.contents().clone()).unwrap();
    assert_eq!(rebuilt.encoded(), &one[..]);
}

#[test]
fn unknown_versions_are_skipped_but_kept_in_the_encoding() {
    let unknown = config(0xfe0c, b"anything at all");
    let good = config(ECH_VERSION, &good_contents());
    let bytes = list(&[&unknown, &good, &unknown]);
    let parsed = EchConfigList::parse(&bytes).unwrap();
    assert_eq!(parsed.configs().len(), 1);
    assert_eq!(parsed.skipped_versions(), &[0xfe0c, 0xfe0c]);
    assert_eq!(parsed.encoded(), &bytes[..]);

    let only_unknown = list(&[&unknown]);
    assert!(EchConfigList::parse(&only_unknown)
        .unwrap()
        .configs()
        .is_empty());
    assert_eq!(
        EchConfig::parse(&unknown),
        Err(ConfigError::UnsupportedVersion(0xfe0c))
    );
}

#[test]
fn mandatory_unknown_extension_is_reported() {
    let ext = [0xfa, 0xce, 0x00, 0x00];
    let bytes = list(&[&config(
        ECH_VERSION,
        &contents(1, &[1; 32], &SUITE, b"a.example", &ext),
    )]);
    let parsed = EchConfigList::parse(&bytes).unwrap();
    let config = &parsed.configs()[0];
    assert!(config.extensions()[0].is_mandatory());
    assert!(config.has_unsupported_mandatory_extension());
    assert_eq!(
        config
            .unsupported_mandatory_extensions()
            .collect::<Vec<_>>(),
        [0xface]
    );
}

#[test]
fn malformed_lists_yield_the_named_error() {
    let good = config(ECH_VERSION, &good_contents());
    let p256_key = [4u8; 32];

    let mut truncated_list = list(&[&good]);
    truncated_list.pop();
    let mut trailing_list = list(&[&good]);
    trailing_list.push(0);
    let mut trailing_contents = good_contents();
    trailing_contents.push(0);
    let mut p256 = contents(1, &p256_key, &SUITE, b"a.example", &[]);
    p256[1..3].copy_from_slice(&[0x00, 0x10]);
    let long_label = [b'a'; 64];

    let cases: Vec<(&str, Vec<u8>, ConfigError)> = vec![
        (
            "no bytes",
            vec![],
            ConfigError::Truncated(Field::EchConfigList),
        ),
        (
            "one byte",
            vec![0],
            ConfigError::Truncated(Field::EchConfigList),
        ),
        ("empty list", vec![0, 0], ConfigError::EmptyList),
        (
            "list shorter than declared",
            truncated_list,
            ConfigError::Truncated(Field::EchConfigList),
        ),
        (
            "bytes after the list",
            trailing_list,
            ConfigError::TrailingBytes(Field::EchConfigList),
        ),
        (
            "list of one byte",
            list(&[&[0xfe]]),
            ConfigError::Truncated(Field::Version),
        ),
        (
            "no length",
            list(&[&[0xfe, 0x0d]]),
            ConfigError::Truncated(Field::Length),
        ),
        (
            "contents shorter than length",
            list(&[&[0xfe, 0x0d, 0x00, 0x05, 1]]),
            ConfigError::Truncated(Field::Contents),
        ),
        (
            "contents empty",
            list(&[&config(ECH_VERSION, &[])]),
            ConfigError::Truncated(Field::ConfigId),
        ),
        (
            "no kem_id",
            list(&[&config(ECH_VERSION, &[1, 0])]),
            ConfigError::Truncated(Field::KemId),
        ),
        (
            "public key cut short",
            list(&[&config(ECH_VERSION, &[1, 0, 0x20, 0, 32, 1, 2])]),
            ConfigError::Truncated(Field::PublicKey),
        ),
        (
            "empty public key",
            list(&[&config(
                ECH_VERSION,
                &contents(1, &[], &SUITE, b"a.example", &[]),
            )]),
            ConfigError::EmptyPublicKey,
        ),
        (
            "X25519 key of 31 bytes",
            list(&[&config(
                ECH_VERSION,
                &contents(1, &[1; 31], &SUITE, b"a.example", &[]),
            )]),
            ConfigError::PublicKeyLength {
                kem: Kem::DhKemX25519HkdfSha256,
                expected: 32,
                actual: 31,
            },
        ),
        (
            "P-256 key of 32 bytes",
            list(&[&config(ECH_VERSION, &p256)]),
            ConfigError::PublicKeyLength {
                kem: Kem::DhKemP256HkdfSha256,
                expected: 65,
                actual: 32,
            },
        ),
        (
            "empty cipher_suites",
            list(&[&config(
                ECH_VERSION,
                &contents(1, &[1; 32], &[], b"a.example", &[]),
            )]),
            ConfigError::EmptyCipherSuites,
        ),
        (
            "cipher_suites of 6 bytes",
            list(&[&config(
                ECH_VERSION,
                &contents(1, &[1; 32], &[0, 1, 0, 1, 0, 2], b"a.example", &[]),
            )]),
            ConfigError::CipherSuitesLength(6),
        ),
        (
            "empty public_name",
            list(&[&config(
                ECH_VERSION,
                &contents(1, &[1; 32], &SUITE, b"", &[]),
            )]),
            ConfigError::InvalidPublicName(PublicNameError::Empty),
        ),
        (
            "IPv4 public_name",
            list(&[&config(
                ECH_VERSION,
                &contents(1, &[1; 32], &SUITE, b"1.2.3.4", &[]),
            )]),
            ConfigError::InvalidPublicName(PublicNameError::IpAddress),
        ),
        (
            "public_name with a space",
            list(&[&config(
                ECH_VERSION,
                &contents(1, &[1; 32], &SUITE, b"a b.example", &[]),
            )]),
            ConfigError::InvalidPublicName(PublicNameError::InvalidCharacter(b' ')),
        ),
        (
            "public_name with a long label",
            list(&[&config(
                ECH_VERSION,
                &contents(1, &[1; 32], &SUITE, &long_label, &[]),
            )]),
            ConfigError::InvalidPublicName(PublicNameError::LabelTooLong(64)),
        ),
        (
            "extension data cut short",
            list(&[&config(
                ECH_VERSION,
                &contents(1, &[1; 32], &SUITE, b"a.example", &[0, 1, 0, 9, 1]),
            )]),
            ConfigError::Truncated(Field::ExtensionData),
        ),
        (
            "extension type cut short",
            list(&[&config(
                ECH_VERSION,
                &contents(1, &[1; 32], &SUITE, b"a.example", &[0]),
            )]),
            ConfigError::Truncated(Field::ExtensionType),
        ),
        (
            "bytes after the extensions",
            list(&[&config(ECH_VERSION, &trailing_contents)]),
            ConfigError::TrailingBytes(Field::Contents),
        ),
    ];

    for (name, bytes, expected) in cases {
        assert_eq!(EchConfigList::parse(&bytes), Err(expected), "{name}");
    }
}

#[test]
fn every_truncation_of_a_generated_list_is_an_error() {
    let (config, _) = EchConfigBuilder::new("a.example").generate().unwrap();
    let list = EchConfigList::new(vec![config]).unwrap();
    let bytes = list.encoded();
    for len in 0..bytes.len() {
        assert!(EchConfigList::parse(&bytes[..len]).is_err(), "length {len}");
    }
}

#[test]
fn single_config_parse_rejects_trailing_bytes() {
    let mut bytes = config(ECH_VERSION, &good_contents());
    bytes.push(0);
    assert_eq!(
        EchConfig::parse(&bytes),
        Err(ConfigError::TrailingBytes(Field::EchConfig))
    );
}

#[test]
fn bad_base64_is_reported() {
    assert!(matches!(
        EchConfigList::from_base64("not base64!"),
        Err(ConfigError::InvalidBase64(_))
    ));
}

#[test]
fn public_name_rules() {
    for good in [
        "example.com",
        "a",
        "a-b.example",
        "x1.example",
        "example.0xg",
    ] {
        assert_eq!(validate_public_name(good.as_bytes()), Ok(()), "{good}");
    }
    let long_name = ["a"; 129].join(".");
    let cases = [
        ("", PublicNameError::Empty),
        ("1.2.3.4", PublicNameError::IpAddress),
        ("example.0x1f", PublicNameError::IpAddress),
        ("example.0X", PublicNameError::IpAddress),
        ("12345", PublicNameError::IpAddress),
        ("a..b", PublicNameError::EmptyLabel),
        ("example.com.", PublicNameError::EdgeDot),
        (".example.com", PublicNameError::EdgeDot),
        ("-a.example", PublicNameError::HyphenAtLabelEdge),
        ("a_b.example", PublicNameError::InvalidCharacter(b'_')),
        ("[::1]", PublicNameError::InvalidCharacter(b'[')),
        (long_name.as_str(), PublicNameError::TooLong(257)),
    ];
    for (name, expected) in cases {
        assert_eq!(
            validate_public_name(name.as_bytes()),
            Err(expected),
            "{name:?}"
        );
    }
}

#[test]
fn builder_rejects_bad_public_names_and_empty_suites() {
    for name in ["1.2.3.4", "", "a..b"] {
        assert!(EchConfigBuilder::new(name).generate().is_err(), "{name:?}");
    }
    assert!(EchConfigBuilder::new("a.example")
        .cipher_suites(vec![])
        .generate()
        .is_err());
}

#[test]
fn from_contents_checks_like_parse() {
    let contents = EchConfigContents {
        key_config: HpkeKeyConfig {
            config_id: 1,
            kem: Kem::DhKemX25519HkdfSha256,
            public_key: vec![1; 5],
            cipher_suites: vec![SymmetricSuite {
                kdf: Kdf::HkdfSha256,
                aead: Aead::Aes128Gcm,
            }],
        },
        maximum_name_length: 0,
        public_name: "a.example".into(),
        extensions: vec![],
    };
    assert!(matches!(
        EchConfig::from_contents(contents),
        Err(ConfigError::PublicKeyLength { actual: 5, .. })
    ));
}
