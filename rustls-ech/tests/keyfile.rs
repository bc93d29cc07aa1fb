use rustls::crypto::hpke::HpkePrivateKey;
use rustls_ech::config::{
    EchConfig, EchConfigBuilder, EchConfigContents, EchConfigList, HpkeKeyConfig,
};
use rustls_ech::keyfile::{KeyFile, KeyFileError};
use rustls_ech::suite::Kem;

const ALL_KEMS: [Kem; 4] = [
    Kem::DhKemX25519HkdfSha256,
    Kem::DhKemP256HkdfSha256,
    Kem::DhKemP384HkdfSha384,
    Kem::DhKemP521HkdfSha512,
];

/// Private keys written by `openssl genpkey`, with their public keys.
const OPENSSL_X25519: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VuBCIEINho5t5h4iO9qs5MX2lmWDV8bAHF216WUphu/UDm+91I
-----END PRIVATE KEY-----
";
const OPENSSL_X25519_PUBLIC: &str =
    "02dad24c5f063918420c80031414e8fcf4f4fb83f2e339546ac822a35f44d823";
const OPENSSL_P256: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgj66gu4vRJlcSz3B4
jKxK46kxMyhBCgd2FTgDeN83MAGhRANCAARCws3+qjluL9k1VVc1GAtHl16LsJfm
SiTAIk+/L9IllrnuzdtbegZ4Cn5LZQWf9dtTY3d17WAia7l9kIXcdnnb
-----END PRIVATE KEY-----
";
const OPENSSL_P256_PUBLIC: &str = "0442c2cdfeaa396e2fd935555735180b47975e8bb097e64a24c0224fbf2fd22\
                                   596b9eecddb5b7a06780a7e4b65059ff5db53637775ed60226bb97d9085dc7679db";

/// Tells whether an error is the one a malformed input should produce.
type ErrorCheck = fn(&KeyFileError) -> bool;

fn generate(kem: Kem, config_id: u8) -> (EchConfig, HpkePrivateKey) {
    EchConfigBuilder::new("public.example")
        .kem(kem)
        .config_id(config_id)
        .generate()
        .unwrap()
}

fn echconfig_block(list: &EchConfigList) -> String {
    format!(
        "-----BEGIN ECHCONFIG-----\n{}\n-----END ECHCONFIG-----\n",
        list.to_base64()
    )
}

fn config_with_public_key(kem: Kem, public_key: &str) -> EchConfig {
    EchConfig::from_contents(EchConfigContents {
        key_config: HpkeKeyConfig {
            config_id: 3,
            kem,
            public_key: hex::decode(public_key).unwrap(),
            cipher_suites: rustls_ech::config::default_cipher_suites(kem),
        },
        maximum_name_length: 0,
        public_name: "public.example".into(),
        extensions: vec![],
    })
    .unwrap()
}

#[test]
fn pem_round_trips_for_each_kem() {
    for kem in ALL_KEMS {
        let (config, key) = generate(kem, 5);
        let secret = key.secret_bytes().to_vec();
        let list = EchConfigList::new(vec![config.clone()]).unwrap();
        let file = KeyFile::new(list, Some(key)).unwrap();
        let text = file.to_pem().unwrap();
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{kem}");
        assert!(text.contains("-----END PRIVATE KEY-----\n-----BEGIN ECHCONFIG-----\n"));
        assert!(text.ends_with("-----END ECHCONFIG-----\n"));

        let read = KeyFile::from_pem(&text).unwrap();
        assert_eq!(read.key_config(), Some(&config));
        assert_eq!(read.private_key().unwrap().secret_bytes(), &secret[..]);
        assert_eq!(read.configs().encoded(), file.configs().encoded());
        assert_eq!(*read.to_pem().unwrap(), *text);
    }
}

#[test]
fn reads_private_keys_written_by_openssl() {
    for (kem, key_pem, public) in [
        (
            Kem::DhKemX25519HkdfSha256,
            OPENSSL_X25519,
            OPENSSL_X25519_PUBLIC,
        ),
        (Kem::DhKemP256HkdfSha256, OPENSSL_P256, OPENSSL_P256_PUBLIC),
    ] {
        let config = config_with_public_key(kem, public);
        let list = EchConfigList::new(vec![config.clone()]).unwrap();
        let text = format!("{key_pem}{}", echconfig_block(&list));
        let file = KeyFile::from_pem(&text).unwrap();
        assert_eq!(file.key_config(), Some(&config), "{kem}");
        // What we write is what OpenSSL wrote.
        let ours = file.to_pem().unwrap();
        assert!(ours.starts_with(key_pem), "{kem}: {}", *ours);
    }
}

#[test]
fn public_only_file_has_no_key() {
    let (config, _) = generate(Kem::DhKemX25519HkdfSha256, 1);
    let list = EchConfigList::new(vec![config]).unwrap();
    let file = KeyFile::from_pem(&echconfig_block(&list)).unwrap();
    assert!(file.private_key().is_none());
    assert!(file.key_config().is_none());
    assert_eq!(file.configs(), &list);
}

#[test]
fn key_is_matched_to_its_config_within_a_list() {
    let (first, _) = generate(Kem::DhKemX25519HkdfSha256, 1);
    let (second, key) = generate(Kem::DhKemX25519HkdfSha256, 1);
    let (third, _) = generate(Kem::DhKemP256HkdfSha256, 2);
    let list = EchConfigList::new(vec![first, second.clone(), third]).unwrap();
    let file = KeyFile::new(list, Some(key)).unwrap();
    assert_eq!(file.key_config(), Some(&second));
    let text = file.to_pem().unwrap();
    assert_eq!(
        KeyFile::from_pem(&text).unwrap().key_config(),
        Some(&second)
    );
}

#[test]
fn key_of_another_config_is_detected() {
    for kem in ALL_KEMS {
        let (config, _) = generate(kem, 1);
        let (other, other_key) = generate(kem, 1);
        let pem = KeyFile::new(EchConfigList::new(vec![other]).unwrap(), Some(other_key))
            .unwrap()
            .to_pem()
            .unwrap();
        let key_block = &pem[..pem.find("-----BEGIN ECHCONFIG").unwrap()];
        let list = EchConfigList::new(vec![config]).unwrap();
        let mixed = format!("{key_block}{}", echconfig_block(&list));
        assert!(
            matches!(
                KeyFile::from_pem(&mixed),
                Err(KeyFileError::KeyMatchesNoConfig)
            ),
            "{kem}"
        );
    }
}

#[test]
fn key_of_another_kem_is_detected() {
    let (config, _) = generate(Kem::DhKemP256HkdfSha256, 1);
    let list = EchConfigList::new(vec![config]).unwrap();
    let text = format!("{OPENSSL_X25519}{}", echconfig_block(&list));
    assert!(matches!(
        KeyFile::from_pem(&text),
        Err(KeyFileError::KeyMatchesNoConfig)
    ));
}

#[test]
fn malformed_files_yield_the_named_error() {
    let (config, _) = generate(Kem::DhKemX25519HkdfSha256, 1);
    let list = EchConfigList::new(vec![config]).unwrap();
    let block = echconfig_block(&list);
    let rsa_oid_key = "-----BEGIN PRIVATE KEY-----\n\
        MBcCAQAwDQYJKoZIhvcNAQEBBQAEAwIBAA==\n\
        -----END PRIVATE KEY-----\n";
    let p192_key = "-----BEGIN PRIVATE KEY-----\n\
        MG8CAQAwEwYHKoZIzj0CAQYIKoZIzj0DAQEEVTBTAgEBBBhnHhaly7xayy6NLRBl\n\
        UZ2V/cECgvUIeyWhNAMyAAT0rt4doHRD6zRv6jjlO9i17sNNjr5p4foB0DxJqFc3\n\
        BAmsyssXM0gC9baBdR0tSrM=\n\
        -----END PRIVATE KEY-----\n";

    let cases: Vec<(&str, String, ErrorCheck)> = vec![
        ("empty", String::new(), |e| {
            matches!(e, KeyFileError::NotPem)
        }),
        ("plain text", "hello\n".into(), |e| {
            matches!(e, KeyFileError::NotPem)
        }),
        (
            "unterminated block",
            "-----BEGIN ECHCONFIG-----\nAAAA\n".into(),
            |e| matches!(e, KeyFileError::NotPem),
        ),
        (
            "bad base64",
            "-----BEGIN ECHCONFIG-----\n!!!!\n-----END ECHCONFIG-----\n".into(),
            |e| matches!(e, KeyFileError::InvalidBase64),
        ),
        ("key only", OPENSSL_X25519.into(), |e| {
            matches!(e, KeyFileError::MissingEchConfig)
        }),
        ("two ECHCONFIG blocks", format!("{block}{block}"), |e| {
            matches!(e, KeyFileError::MultipleEchConfigs)
        }),
        (
            "two keys",
            format!("{OPENSSL_X25519}{OPENSSL_X25519}{block}"),
            |e| matches!(e, KeyFileError::MultiplePrivateKeys),
        ),
        (
            "certificate block",
            format!("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n{block}"),
            |e| matches!(e, KeyFileError::UnexpectedBlock(label) if label == "CERTIFICATE"),
        ),
        (
            "malformed list",
            "-----BEGIN ECHCONFIG-----\nAAA=\n-----END ECHCONFIG-----\n".into(),
            |e| matches!(e, KeyFileError::Config(_)),
        ),
        (
            "list of unknown versions",
            "-----BEGIN ECHCONFIG-----\nAAT+DAAA\n-----END ECHCONFIG-----\n".into(),
            |e| matches!(e, KeyFileError::NoUsableConfig),
        ),
        (
            "key not DER",
            format!("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n{block}"),
            |e| matches!(e, KeyFileError::InvalidPkcs8(_)),
        ),
        (
            "RSA key",
            format!("{rsa_oid_key}{block}"),
            |e| matches!(e, KeyFileError::UnsupportedKeyAlgorithm(oid) if oid == "1.2.840.113549.1.1.1"),
        ),
        (
            "P-192 key",
            format!("{p192_key}{block}"),
            |e| matches!(e, KeyFileError::UnsupportedCurve(oid) if oid == "1.2.840.10045.3.1.1"),
        ),
    ];
    for (name, text, expected) in cases {
        match KeyFile::from_pem(&text) {
            Ok(file) => panic!("{name}: parsed as {file:?}"),
            Err(err) => assert!(expected(&err), "{name}: got {err:?}"),
        }
    }
}

#[test]
fn raw_boringssl_form_is_accepted() {
    for kem in ALL_KEMS {
        let (config, key) = generate(kem, 9);
        let file = KeyFile::from_raw(config.encoded(), key.secret_bytes()).unwrap();
        assert_eq!(file.key_config(), Some(&config));

        let (_, other_key) = generate(kem, 9);
        assert!(matches!(
            KeyFile::from_raw(config.encoded(), other_key.secret_bytes()),
            Err(KeyFileError::KeyMatchesNoConfig)
        ));
        assert!(matches!(
            KeyFile::from_raw(config.encoded(), &[1u8; 67]),
            Err(KeyFileError::PrivateKeyLength { .. })
        ));
    }
    // A list is not a single ECHConfig.
    let (config, key) = generate(Kem::DhKemX25519HkdfSha256, 9);
    let list = EchConfigList::new(vec![config]).unwrap();
    assert!(matches!(
        KeyFile::from_raw(list.encoded(), key.secret_bytes()),
        Err(KeyFileError::Config(_))
    ));
}

#[test]
fn write_creates_owner_only_file_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ech.pem");
    let (config, key) = generate(Kem::DhKemX25519HkdfSha256, 1);
    let file = KeyFile::new(EchConfigList::new(vec![config]).unwrap(), Some(key)).unwrap();
    file.write_to_path(&path, false).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(matches!(
        file.write_to_path(&path, false),
        Err(KeyFileError::Io(err)) if err.kind() == std::io::ErrorKind::AlreadyExists
    ));
    file.write_to_path(&path, true).unwrap();
    let read = KeyFile::read(&path).unwrap();
    assert_eq!(read.key_config(), file.key_config());
}

#[test]
fn debug_does_not_show_the_private_key() {
    let (config, key) = generate(Kem::DhKemX25519HkdfSha256, 1);
    let hex_key = hex::encode(key.secret_bytes());
    let file = KeyFile::new(EchConfigList::new(vec![config]).unwrap(), Some(key)).unwrap();
    let debug = format!("{file:?}");
    assert!(!debug.contains(&hex_key));
    assert!(!debug.to_lowercase().contains("secret"));
}
