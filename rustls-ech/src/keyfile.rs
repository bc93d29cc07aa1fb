//! ECH key files: PEM with an optional private key and an ECHConfigList.
//!
//! The format is the one OpenSSL's `openssl ech` command writes and nginx's `ssl_ech_file`
//! reads:
//!
//! ```text
//! -----BEGIN PRIVATE KEY-----
//! (PKCS#8 PrivateKeyInfo, base64)
//! -----END PRIVATE KEY-----
//! -----BEGIN ECHCONFIG-----
//! (the encoded ECHConfigList of RFC 9849 §4, 2-byte length included, base64)
//! -----END ECHCONFIG-----
//! ```
//!
//! An X25519 private key is PKCS#8 with algorithm id-X25519 (1.3.101.110) holding a
//! `CurvePrivateKey` OCTET STRING (RFC 8410 §7). A P-256, P-384 or P-521 key is PKCS#8 with
//! algorithm id-ecPublicKey and the curve's namedCurve OID, holding a SEC1 `ECPrivateKey`
//! (RFC 5915). The private key block may be absent (a file that only publishes configs); when
//! present it must belong to one of the configs, which is checked by HPKE itself: a probe is
//! sealed to the config's public key and must open with the private key.
//!
//! BoringSSL's tools instead keep one raw ECHConfig (not a list) and the raw private key bytes
//! apart; [`KeyFile::from_raw`] reads that form.

use core::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::path::Path;

use der::asn1::{AnyRef, ObjectIdentifier, OctetStringRef};
use der::{Decode as _, Encode as _};
use pkcs8::{AlgorithmIdentifierRef, PrivateKeyInfoRef};
use rustls::crypto::hpke::{HpkePrivateKey, HpkePublicKey};
use sec1::EcPrivateKey;
use zeroize::Zeroizing;

use crate::config::{ConfigError, EchConfig, EchConfigList};
use crate::hpke::HpkeBackend;
use crate::suite::Kem;

/// The PEM label of the private key block.
const PRIVATE_KEY_LABEL: &str = "PRIVATE KEY";
/// The PEM label of the ECHConfigList block.
const ECHCONFIG_LABEL: &str = "ECHCONFIG";

/// id-X25519 (RFC 8410 §3).
const ID_X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");
/// id-ecPublicKey (RFC 5480 §2.1.1).
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// secp256r1 (RFC 5480 §2.1.1.1).
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// secp384r1 (RFC 5480 §2.1.1.1).
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// secp521r1 (RFC 5480 §2.1.1.1).
const SECP521R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");

/// The plaintext sealed to a config's public key to test a private key against it.
const PROBE: &[u8] = b"rustls-ech key probe";

/// An error reading, checking or writing an ECH key file.
#[derive(Debug)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file could not be read or written.
    Io(io::Error),
    /// The text holds no well-formed PEM block.
    NotPem,
    /// A PEM block's body is not valid base64.
    InvalidBase64,
    /// A PEM block with a label other than `PRIVATE KEY` or `ECHCONFIG`.
    UnexpectedBlock(String),
    /// There is no `ECHCONFIG` block.
    MissingEchConfig,
    /// There is more than one `ECHCONFIG` block.
    MultipleEchConfigs,
    /// There is more than one `PRIVATE KEY` block.
    MultiplePrivateKeys,
    /// The ECHConfigList or ECHConfig is malformed.
    Config(ConfigError),
    /// The ECHConfigList holds no config of a version this crate implements.
    NoUsableConfig,
    /// The private key block is not well-formed PKCS#8 or SEC1 DER.
    InvalidPkcs8(String),
    /// The private key's algorithm is neither id-X25519 nor id-ecPublicKey.
    UnsupportedKeyAlgorithm(String),
    /// An id-ecPublicKey private key on a curve other than P-256, P-384 or P-521.
    UnsupportedCurve(String),
    /// The private key has the wrong length for its KEM.
    PrivateKeyLength {
        /// The KEM the key is for.
        kem: Kem,
        /// The length the KEM's private keys have (`Nsk`).
        expected: usize,
        /// The length found.
        actual: usize,
    },
    /// No config of the key's KEM has a cipher suite the HPKE backend offers, so the key cannot
    /// be checked (nor used).
    NoHpkeSuite,
    /// The private key does not belong to any config in the file.
    KeyMatchesNoConfig,
}

impl fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(err) => err.fmt(f),
            Self::NotPem => f.write_str("not a PEM file"),
            Self::InvalidBase64 => f.write_str("invalid base64 in a PEM block"),
            Self::UnexpectedBlock(label) => write!(f, "unexpected PEM block \"{label}\""),
            Self::MissingEchConfig => f.write_str("no ECHCONFIG PEM block"),
            Self::MultipleEchConfigs => f.write_str("more than one ECHCONFIG PEM block"),
            Self::MultiplePrivateKeys => f.write_str("more than one PRIVATE KEY PEM block"),
            Self::Config(err) => err.fmt(f),
            Self::NoUsableConfig => f.write_str("no ECHConfig of version 0xfe0d"),
            Self::InvalidPkcs8(reason) => write!(f, "invalid PKCS#8 private key: {reason}"),
            Self::UnsupportedKeyAlgorithm(oid) => {
                write!(f, "unsupported private key algorithm {oid}")
            }
            Self::UnsupportedCurve(oid) => write!(f, "unsupported elliptic curve {oid}"),
            Self::PrivateKeyLength {
                kem,
                expected,
                actual,
            } => write!(
                f,
                "private key is {actual} bytes, {kem} keys are {expected} bytes"
            ),
            Self::NoHpkeSuite => {
                f.write_str("the HPKE backend supports no cipher suite of the key's configs")
            }
            Self::KeyMatchesNoConfig => f.write_str("the private key matches no ECHConfig"),
        }
    }
}

impl std::error::Error for KeyFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(err) => Some(err),
            Self::Config(err) => Some(err),
            _ => None,
        }
    }
}

impl From<io::Error> for KeyFileError {
    fn from(err: io::Error) -> Self {
        Self::Io(err)
    }
}

impl From<ConfigError> for KeyFileError {
    fn from(err: ConfigError) -> Self {
        Self::Config(err)
    }
}

/// The contents of an ECH key file: an ECHConfigList and, optionally, the private key of one of
/// its configs.
pub struct KeyFile {
    configs: EchConfigList,
    private_key: Option<(usize, HpkePrivateKey)>,
}

impl KeyFile {
    /// Pairs `configs` with `private_key`, checking with the default HPKE backend that the key
    /// belongs to one of the configs (the first that matches is the key's config).
    pub fn new(
        configs: EchConfigList,
        private_key: Option<HpkePrivateKey>,
    ) -> Result<Self, KeyFileError> {
        Self::new_with(configs, private_key, None, &HpkeBackend::default_backend())
    }

    /// Reads a key file from PEM text, checking the key with the default HPKE backend.
    pub fn from_pem(text: &str) -> Result<Self, KeyFileError> {
        Self::from_pem_with(text, &HpkeBackend::default_backend())
    }

    /// Reads a key file from PEM text, checking the key with `backend`.
    pub fn from_pem_with(text: &str, backend: &HpkeBackend) -> Result<Self, KeyFileError> {
        let blocks = pem::parse_many(text).map_err(|err| match err {
            pem::PemError::InvalidData(_) => KeyFileError::InvalidBase64,
            _ => KeyFileError::NotPem,
        })?;
        if blocks.is_empty() {
            return Err(KeyFileError::NotPem);
        }

        let mut key_der = None;
        let mut list = None;
        for block in blocks {
            match block.tag() {
                PRIVATE_KEY_LABEL if key_der.is_some() => {
                    return Err(KeyFileError::MultiplePrivateKeys)
                }
                PRIVATE_KEY_LABEL => key_der = Some(Zeroizing::new(block.into_contents())),
                ECHCONFIG_LABEL if list.is_some() => return Err(KeyFileError::MultipleEchConfigs),
                ECHCONFIG_LABEL => list = Some(EchConfigList::parse(block.contents())?),
                other => return Err(KeyFileError::UnexpectedBlock(other.to_owned())),
            }
        }
        let list = list.ok_or(KeyFileError::MissingEchConfig)?;

        let (private_key, kem) = match key_der {
            Some(der) => {
                let (key, kem) = decode_pkcs8(&der)?;
                (Some(key), Some(kem))
            }
            None => (None, None),
        };
        Self::new_with(list, private_key, kem, backend)
    }

    /// Reads a key file from `path`, checking the key with the default HPKE backend.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, KeyFileError> {
        let text = Zeroizing::new(fs::read_to_string(path)?);
        Self::from_pem(&text)
    }

    /// Reads BoringSSL's raw form: one encoded ECHConfig (not a list) and the raw HPKE private
    /// key (RFC 9180 §7.1.2, `SerializePrivateKey`), checked with the default HPKE backend.
    pub fn from_raw(config: &[u8], private_key: &[u8]) -> Result<Self, KeyFileError> {
        let config = EchConfig::parse(config)?;
        let kem = config.kem();
        let private_key = fit_private_key(kem, private_key)?;
        let list = EchConfigList::new(vec![config])?;
        Self::new_with(
            list,
            Some(private_key),
            Some(kem),
            &HpkeBackend::default_backend(),
        )
    }

    fn new_with(
        configs: EchConfigList,
        private_key: Option<HpkePrivateKey>,
        kem: Option<Kem>,
        backend: &HpkeBackend,
    ) -> Result<Self, KeyFileError> {
        if configs.configs().is_empty() {
            return Err(KeyFileError::NoUsableConfig);
        }
        let private_key = match private_key {
            Some(key) => Some((find_config(&configs, &key, kem, backend)?, key)),
            None => None,
        };
        Ok(Self {
            configs,
            private_key,
        })
    }

    /// The ECHConfigList.
    pub fn configs(&self) -> &EchConfigList {
        &self.configs
    }

    /// The private key, if the file has one.
    pub fn private_key(&self) -> Option<&HpkePrivateKey> {
        self.private_key.as_ref().map(|(_, key)| key)
    }

    /// The config the private key belongs to, if the file has a key.
    pub fn key_config(&self) -> Option<&EchConfig> {
        self.private_key
            .as_ref()
            .and_then(|(index, _)| self.configs.configs().get(*index))
    }

    /// Splits the file into its key's config and the key, if it has one.
    pub fn into_key(self) -> Option<(EchConfig, HpkePrivateKey)> {
        let (index, key) = self.private_key?;
        let config = self.configs.into_configs().into_iter().nth(index)?;
        Some((config, key))
    }

    /// Writes the file as PEM text: the private key block (if any), then the ECHCONFIG block.
    pub fn to_pem(&self) -> Result<Zeroizing<String>, KeyFileError> {
        let mut blocks = Vec::with_capacity(2);
        if let (Some(config), Some(key)) = (self.key_config(), self.private_key()) {
            let der = encode_pkcs8(config, key)?;
            blocks.push(pem::Pem::new(PRIVATE_KEY_LABEL, der.to_vec()));
        }
        blocks.push(pem::Pem::new(ECHCONFIG_LABEL, self.configs.encoded()));

        let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
        // One block straight after the other, as OpenSSL writes them.
        let text: Zeroizing<String> = Zeroizing::new(
            blocks
                .iter()
                .map(|block| pem::encode_config(block, config))
                .collect(),
        );
        // pem::Pem does not wipe its contents; do it before they are dropped.
        for block in blocks {
            drop(Zeroizing::new(block.into_contents()));
        }
        Ok(text)
    }

    /// Writes the PEM text to a new file at `path`, readable and writable by its owner only
    /// (mode 0600 on Unix). An existing file is an error unless `overwrite` is set; an
    /// overwritten file is set to mode 0600 before the key is written into it.
    pub fn write_to_path(
        &self,
        path: impl AsRef<Path>,
        overwrite: bool,
    ) -> Result<(), KeyFileError> {
        let text = self.to_pem()?;
        let mut options = fs::OpenOptions::new();
        options.write(true);
        if overwrite {
            options.create(true).truncate(true);
        } else {
            options.create_new(true);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
            options.mode(0o600);
            let file = options.open(path.as_ref())?;
            // The mode above only applies to a file this call creates.
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
            write_all(file, text.as_bytes())
        }
        #[cfg(not(unix))]
        {
            write_all(options.open(path.as_ref())?, text.as_bytes())
        }
    }
}

fn write_all(mut file: fs::File, bytes: &[u8]) -> Result<(), KeyFileError> {
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

impl fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyFile")
            .field("configs", &self.configs)
            .field(
                "private_key_for",
                &self.key_config().map(EchConfig::config_id),
            )
            .finish()
    }
}

/// Whether `private_key` opens what is sealed to `config`'s public key, using the first cipher
/// suite of `config` that `backend` offers. `None` when the backend offers none of them.
pub fn key_matches_config(
    config: &EchConfig,
    private_key: &HpkePrivateKey,
    backend: &HpkeBackend,
) -> Option<bool> {
    let hpke = config
        .key_config()
        .suites()
        .find_map(|id| backend.suite(id))?;
    let info = config.hpke_info();
    let public_key = HpkePublicKey(config.key_config().public_key.clone());
    let Ok((enc, ciphertext)) = hpke.seal(&info, b"", PROBE, &public_key) else {
        return Some(false);
    };
    let opened = hpke.open(&enc, &info, b"", &ciphertext, private_key);
    Some(matches!(opened, Ok(plaintext) if plaintext == PROBE))
}

/// The index of the first config `private_key` belongs to.
fn find_config(
    configs: &EchConfigList,
    private_key: &HpkePrivateKey,
    kem: Option<Kem>,
    backend: &HpkeBackend,
) -> Result<usize, KeyFileError> {
    let mut checked_any = false;
    for (index, config) in configs.configs().iter().enumerate() {
        if kem.is_some_and(|kem| kem != config.kem())
            || config.kem().private_key_len() != Some(private_key.secret_bytes().len())
        {
            continue;
        }
        match key_matches_config(config, private_key, backend) {
            Some(true) => return Ok(index),
            Some(false) => checked_any = true,
            None => {}
        }
    }
    if checked_any {
        Err(KeyFileError::KeyMatchesNoConfig)
    } else if configs
        .configs()
        .iter()
        .any(|config| kem.is_none_or(|kem| kem == config.kem()))
    {
        Err(KeyFileError::NoHpkeSuite)
    } else {
        Err(KeyFileError::KeyMatchesNoConfig)
    }
}

/// Checks a raw private key's length for `kem`, restoring leading zero bytes some encoders
/// strip from an EC scalar.
fn fit_private_key(kem: Kem, bytes: &[u8]) -> Result<HpkePrivateKey, KeyFileError> {
    let expected = kem.private_key_len().ok_or(KeyFileError::NoHpkeSuite)?;
    let wrong_length = KeyFileError::PrivateKeyLength {
        kem,
        expected,
        actual: bytes.len(),
    };
    if bytes.len() == expected {
        return Ok(HpkePrivateKey::from(bytes.to_vec()));
    }
    let is_ec = !matches!(kem, Kem::DhKemX25519HkdfSha256);
    if !is_ec || bytes.len() > expected || bytes.is_empty() {
        return Err(wrong_length);
    }
    let mut padded = vec![0u8; expected - bytes.len()];
    padded.extend_from_slice(bytes);
    Ok(HpkePrivateKey::from(padded))
}

fn der_error(err: der::Error) -> KeyFileError {
    KeyFileError::InvalidPkcs8(err.to_string())
}

/// Decodes a PKCS#8 PrivateKeyInfo into a raw HPKE private key and its KEM.
fn decode_pkcs8(der: &[u8]) -> Result<(HpkePrivateKey, Kem), KeyFileError> {
    let info = PrivateKeyInfoRef::from_der(der).map_err(der_error)?;
    let inner = info.private_key.as_bytes();

    if info.algorithm.oid == ID_X25519 {
        // RFC 8410 §3: the parameters are absent.
        if info.algorithm.parameters.is_some() {
            return Err(KeyFileError::InvalidPkcs8(
                "id-X25519 with parameters".into(),
            ));
        }
        let key = <&OctetStringRef>::from_der(inner).map_err(der_error)?;
        let kem = Kem::DhKemX25519HkdfSha256;
        return Ok((fit_private_key(kem, key.as_bytes())?, kem));
    }

    if info.algorithm.oid != ID_EC_PUBLIC_KEY {
        return Err(KeyFileError::UnsupportedKeyAlgorithm(
            info.algorithm.oid.to_string(),
        ));
    }
    let curve = info
        .algorithm
        .parameters_oid()
        .map_err(|err| KeyFileError::InvalidPkcs8(err.to_string()))?;
    let kem = match curve {
        SECP256R1 => Kem::DhKemP256HkdfSha256,
        SECP384R1 => Kem::DhKemP384HkdfSha384,
        SECP521R1 => Kem::DhKemP521HkdfSha512,
        other => return Err(KeyFileError::UnsupportedCurve(other.to_string())),
    };
    let ec = EcPrivateKey::from_der(inner).map_err(der_error)?;
    if let Some(inner_curve) = ec.parameters.and_then(|p| p.named_curve()) {
        if inner_curve != curve {
            return Err(KeyFileError::InvalidPkcs8(
                "ECPrivateKey names a different curve".into(),
            ));
        }
    }
    Ok((fit_private_key(kem, ec.private_key)?, kem))
}

/// Encodes the private key of `config` as PKCS#8 DER.
fn encode_pkcs8(
    config: &EchConfig,
    private_key: &HpkePrivateKey,
) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
    let secret = private_key.secret_bytes();
    let (algorithm, inner) = match config.kem() {
        Kem::DhKemX25519HkdfSha256 => {
            let curve_private_key = OctetStringRef::new(secret).map_err(der_error)?;
            let inner = Zeroizing::new(curve_private_key.to_der().map_err(der_error)?);
            (
                AlgorithmIdentifierRef {
                    oid: ID_X25519,
                    parameters: None,
                },
                inner,
            )
        }
        kem => {
            let curve = match kem {
                Kem::DhKemP256HkdfSha256 => &SECP256R1,
                Kem::DhKemP384HkdfSha384 => &SECP384R1,
                Kem::DhKemP521HkdfSha512 => &SECP521R1,
                other => return Err(KeyFileError::UnsupportedKeyAlgorithm(other.to_string())),
            };
            // Include the public key as OpenSSL does, and omit the curve already named by the
            // PKCS#8 algorithm identifier.
            let ec = EcPrivateKey {
                private_key: secret,
                parameters: None,
                public_key: Some(&config.key_config().public_key),
            };
            let inner = Zeroizing::new(ec.to_der().map_err(der_error)?);
            (
                AlgorithmIdentifierRef {
                    oid: ID_EC_PUBLIC_KEY,
                    parameters: Some(AnyRef::from(curve)),
                },
                inner,
            )
        }
    };
    let info = PrivateKeyInfoRef {
        algorithm,
        private_key: OctetStringRef::new(&inner).map_err(der_error)?,
        public_key: None,
    };
    Ok(Zeroizing::new(info.to_der().map_err(der_error)?))
}
