//! The ECHConfig and ECHConfigList structures of RFC 9849 §4: parsing, encoding and generation.
//!
//! Every parsed [`EchConfig`] keeps the exact bytes it was decoded from, because the HPKE `info`
//! of RFC 9849 §6.1 is `"tls ech" || 0x00 || ECHConfig` over the encoding the client saw, not
//! over a re-encoding of it.

use core::fmt;

use base64::Engine as _;
use rustls::crypto::hpke::{HpkePrivateKey, HpkePublicKey};

use crate::hpke::HpkeBackend;
use crate::suite::{Aead, HpkeSuiteId, Kdf, Kem, SymmetricSuite};

/// The ECHConfig version this crate implements (RFC 9849 §4).
pub const ECH_VERSION: u16 = 0xfe0d;

/// The prefix of the HPKE `info` string: `"tls ech" || 0x00` (RFC 9849 §6.1).
const INFO_PREFIX: &[u8] = b"tls ech\0";

/// A field of the ECHConfigList wire format, named as in RFC 9849 §4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Field {
    /// The whole `ECHConfigList` and its 2-byte length.
    EchConfigList,
    /// One whole `ECHConfig`.
    EchConfig,
    /// `ECHConfig.version`.
    Version,
    /// `ECHConfig.length`.
    Length,
    /// `ECHConfig.contents`.
    Contents,
    /// `HpkeKeyConfig.config_id`.
    ConfigId,
    /// `HpkeKeyConfig.kem_id`.
    KemId,
    /// `HpkeKeyConfig.public_key`.
    PublicKey,
    /// `HpkeKeyConfig.cipher_suites`.
    CipherSuites,
    /// `ECHConfigContents.maximum_name_length`.
    MaximumNameLength,
    /// `ECHConfigContents.public_name`.
    PublicName,
    /// `ECHConfigContents.extensions`.
    Extensions,
    /// `ECHConfigExtension.type`.
    ExtensionType,
    /// `ECHConfigExtension.data`.
    ExtensionData,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EchConfigList => "ECHConfigList",
            Self::EchConfig => "ECHConfig",
            Self::Version => "version",
            Self::Length => "length",
            Self::Contents => "contents",
            Self::ConfigId => "config_id",
            Self::KemId => "kem_id",
            Self::PublicKey => "public_key",
            Self::CipherSuites => "cipher_suites",
            Self::MaximumNameLength => "maximum_name_length",
            Self::PublicName => "public_name",
            Self::Extensions => "extensions",
            Self::ExtensionType => "extension type",
            Self::ExtensionData => "extension data",
        })
    }
}

/// Why a `public_name` is not acceptable (RFC 9849 §4).
///
/// A `public_name` must be a dot-separated sequence of LDH labels (letters, digits and hyphens,
/// 1 to 63 bytes each, no hyphen at either end of a label), with no dot at either end, and must
/// not look like an IPv4 address: its last label may be neither all digits nor `0x` followed by
/// hexadecimal digits. A fully qualified name with a trailing dot is therefore rejected; write
/// `example.com`, not `example.com.`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicNameError {
    /// The name is empty.
    Empty,
    /// The name is longer than 255 bytes.
    TooLong(usize),
    /// The name begins or ends with a dot.
    EdgeDot,
    /// Two dots follow each other.
    EmptyLabel,
    /// A label is longer than 63 bytes.
    LabelTooLong(usize),
    /// A byte that is not an ASCII letter, digit, hyphen or dot.
    InvalidCharacter(u8),
    /// A label begins or ends with a hyphen.
    HyphenAtLabelEdge,
    /// The name has the form of an IPv4 address.
    IpAddress,
}

impl fmt::Display for PublicNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("public_name is empty"),
            Self::TooLong(len) => write!(f, "public_name is {len} bytes long, more than 255"),
            Self::EdgeDot => f.write_str("public_name begins or ends with a dot"),
            Self::EmptyLabel => f.write_str("public_name has an empty label"),
            Self::LabelTooLong(len) => {
                write!(f, "public_name has a label of {len} bytes, more than 63")
            }
            Self::InvalidCharacter(byte) => {
                write!(
                    f,
                    "public_name holds the byte 0x{byte:02x}, not a letter, digit or hyphen"
                )
            }
            Self::HyphenAtLabelEdge => {
                f.write_str("public_name has a label beginning or ending with a hyphen")
            }
            Self::IpAddress => f.write_str("public_name has the form of an IPv4 address"),
        }
    }
}

impl std::error::Error for PublicNameError {}

/// Checks that `name` is acceptable as an ECHConfig `public_name` (RFC 9849 §4); see
/// [`PublicNameError`] for the rules.
pub fn validate_public_name(name: &[u8]) -> Result<(), PublicNameError> {
    if name.is_empty() {
        return Err(PublicNameError::Empty);
    }
    if name.len() > 255 {
        return Err(PublicNameError::TooLong(name.len()));
    }
    if name.first() == Some(&b'.') || name.last() == Some(&b'.') {
        return Err(PublicNameError::EdgeDot);
    }

    let mut last_label: &[u8] = &[];
    for label in name.split(|byte| *byte == b'.') {
        if label.is_empty() {
            return Err(PublicNameError::EmptyLabel);
        }
        if label.len() > 63 {
            return Err(PublicNameError::LabelTooLong(label.len()));
        }
        if let Some(byte) = label
            .iter()
            .find(|byte| !(byte.is_ascii_alphanumeric() || **byte == b'-'))
        {
            return Err(PublicNameError::InvalidCharacter(*byte));
        }
        if label.first() == Some(&b'-') || label.last() == Some(&b'-') {
            return Err(PublicNameError::HyphenAtLabelEdge);
        }
        last_label = label;
    }

    // A client would parse such a name as an IPv4 address (RFC 9849 §4), so it cannot name a
    // host to connect to.
    let all_digits = last_label.iter().all(u8::is_ascii_digit);
    let hex = matches!(last_label, [b'0', b'x' | b'X', rest @ ..] if rest.iter().all(u8::is_ascii_hexdigit));
    if all_digits || hex {
        return Err(PublicNameError::IpAddress);
    }
    Ok(())
}

/// An error in an ECHConfig or ECHConfigList encoding (RFC 9849 §4).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The input ended inside this field.
    Truncated(Field),
    /// Bytes were left over after this field or structure.
    TrailingBytes(Field),
    /// The ECHConfigList holds no ECHConfig at all.
    EmptyList,
    /// A single ECHConfig was expected, and its version is not one this crate implements.
    UnsupportedVersion(u16),
    /// `public_key` is empty.
    EmptyPublicKey,
    /// `public_key` has the wrong length for its KEM.
    PublicKeyLength {
        /// The KEM named by `kem_id`.
        kem: Kem,
        /// The length the KEM's public keys have (`Npk`).
        expected: usize,
        /// The length found.
        actual: usize,
    },
    /// `cipher_suites` is empty.
    EmptyCipherSuites,
    /// The length of `cipher_suites` is not a multiple of 4.
    CipherSuitesLength(usize),
    /// `public_name` is not acceptable.
    InvalidPublicName(PublicNameError),
    /// A field is too long to be encoded within its length prefix.
    TooLong(Field),
    /// Base64 text that does not decode.
    InvalidBase64(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated(field) => write!(f, "ECHConfig truncated in {field}"),
            Self::TrailingBytes(field) => write!(f, "trailing bytes after {field}"),
            Self::EmptyList => f.write_str("ECHConfigList is empty"),
            Self::UnsupportedVersion(version) => {
                write!(f, "unsupported ECHConfig version 0x{version:04x}")
            }
            Self::EmptyPublicKey => f.write_str("ECHConfig public_key is empty"),
            Self::PublicKeyLength {
                kem,
                expected,
                actual,
            } => write!(
                f,
                "ECHConfig public_key is {actual} bytes, {kem} keys are {expected} bytes"
            ),
            Self::EmptyCipherSuites => f.write_str("ECHConfig cipher_suites is empty"),
            Self::CipherSuitesLength(len) => {
                write!(
                    f,
                    "ECHConfig cipher_suites length {len} is not a multiple of 4"
                )
            }
            Self::InvalidPublicName(err) => write!(f, "invalid ECHConfig: {err}"),
            Self::TooLong(field) => write!(f, "{field} too long to encode"),
            Self::InvalidBase64(reason) => write!(f, "invalid base64: {reason}"),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidPublicName(err) => Some(err),
            _ => None,
        }
    }
}

/// `HpkeKeyConfig` (RFC 9849 §4): the HPKE key and suites a client may encrypt to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HpkeKeyConfig {
    /// `config_id`: the identifier a client echoes so the server can find the key.
    pub config_id: u8,
    /// `kem_id`: the HPKE KEM of `public_key`.
    pub kem: Kem,
    /// `public_key`: the serialized HPKE public key (RFC 9180 §4, `SerializePublicKey`).
    pub public_key: Vec<u8>,
    /// `cipher_suites`: the KDF and AEAD pairs a client may choose from.
    pub cipher_suites: Vec<SymmetricSuite>,
}

impl HpkeKeyConfig {
    /// The public key in the form rustls's HPKE trait takes.
    pub fn hpke_public_key(&self) -> HpkePublicKey {
        HpkePublicKey(self.public_key.clone())
    }

    /// Every full HPKE suite (this KEM with each of `cipher_suites`), in order.
    pub fn suites(&self) -> impl Iterator<Item = HpkeSuiteId> + '_ {
        self.cipher_suites.iter().map(move |sym| HpkeSuiteId {
            kem: self.kem,
            sym: *sym,
        })
    }
}

/// `ECHConfigExtension` (RFC 9849 §4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EchConfigExtension {
    /// `type`: the `ECHConfigExtensionType`.
    pub extension_type: u16,
    /// `data`: the extension's contents.
    pub data: Vec<u8>,
}

impl EchConfigExtension {
    /// Whether this extension is mandatory: the high bit of its type is set (RFC 9849 §4.2).
    /// A client that does not implement a mandatory extension must ignore the whole ECHConfig.
    pub fn is_mandatory(&self) -> bool {
        self.extension_type & 0x8000 != 0
    }
}

/// `ECHConfigContents` for version 0xfe0d (RFC 9849 §4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EchConfigContents {
    /// `key_config`: the HPKE key and suites.
    pub key_config: HpkeKeyConfig,
    /// `maximum_name_length`: the longest server name the client should expect to pad for
    /// (RFC 9849 §6.1.3); 0 leaves padding to the client.
    pub maximum_name_length: u8,
    /// `public_name`: the name a client puts in ClientHelloOuter, and for which the server must
    /// be able to authenticate when it rejects ECH.
    pub public_name: String,
    /// `extensions`.
    pub extensions: Vec<EchConfigExtension>,
}

/// One ECHConfig of version 0xfe0d, with the exact bytes it was encoded as (RFC 9849 §4).
///
/// A config may carry mandatory extensions this crate does not implement (it implements none).
/// Parsing does not fail on them, because a server can still open ClientHellos sent to such a
/// config: they are reported by [`EchConfig::unsupported_mandatory_extensions`] instead, and
/// clients following RFC 9849 §4.2 will ignore the config.
#[derive(Clone, PartialEq, Eq)]
pub struct EchConfig {
    contents: EchConfigContents,
    encoded: Vec<u8>,
}

impl EchConfig {
    /// Builds and encodes a config from its contents, checking them as parsing would.
    pub fn from_contents(contents: EchConfigContents) -> Result<Self, ConfigError> {
        let encoded = encode_config(&contents)?;
        // Decode what was encoded so a config built by hand meets exactly the checks a parsed
        // one does.
        let mut reader = Reader::new(&encoded);
        match read_config(&mut reader)? {
            Entry::Config(config) => Ok(config),
            Entry::Skipped(version) => Err(ConfigError::UnsupportedVersion(version)),
        }
    }

    /// Parses exactly one ECHConfig (not a list), as BoringSSL's tools store it.
    pub fn parse(bytes: &[u8]) -> Result<Self, ConfigError> {
        let mut reader = Reader::new(bytes);
        let entry = read_config(&mut reader)?;
        if !reader.is_empty() {
            return Err(ConfigError::TrailingBytes(Field::EchConfig));
        }
        match entry {
            Entry::Config(config) => Ok(config),
            Entry::Skipped(version) => Err(ConfigError::UnsupportedVersion(version)),
        }
    }

    /// The whole encoded ECHConfig, version and length included, exactly as parsed.
    pub fn encoded(&self) -> &[u8] {
        &self.encoded
    }

    /// The HPKE `info` for this config: `"tls ech" || 0x00 || ECHConfig` (RFC 9849 §6.1).
    pub fn hpke_info(&self) -> Vec<u8> {
        let mut info = Vec::with_capacity(INFO_PREFIX.len() + self.encoded.len());
        info.extend_from_slice(INFO_PREFIX);
        info.extend_from_slice(&self.encoded);
        info
    }

    /// `version`: always [`ECH_VERSION`].
    pub fn version(&self) -> u16 {
        ECH_VERSION
    }

    /// The decoded `contents`.
    pub fn contents(&self) -> &EchConfigContents {
        &self.contents
    }

    /// `key_config`.
    pub fn key_config(&self) -> &HpkeKeyConfig {
        &self.contents.key_config
    }

    /// `config_id`.
    pub fn config_id(&self) -> u8 {
        self.contents.key_config.config_id
    }

    /// `kem_id`.
    pub fn kem(&self) -> Kem {
        self.contents.key_config.kem
    }

    /// `cipher_suites`.
    pub fn cipher_suites(&self) -> &[SymmetricSuite] {
        &self.contents.key_config.cipher_suites
    }

    /// `public_name`.
    pub fn public_name(&self) -> &str {
        &self.contents.public_name
    }

    /// `maximum_name_length`.
    pub fn maximum_name_length(&self) -> u8 {
        self.contents.maximum_name_length
    }

    /// `extensions`.
    pub fn extensions(&self) -> &[EchConfigExtension] {
        &self.contents.extensions
    }

    /// The types of mandatory extensions this crate does not implement (RFC 9849 §4.2).
    pub fn unsupported_mandatory_extensions(&self) -> impl Iterator<Item = u16> + '_ {
        self.contents
            .extensions
            .iter()
            .filter(|ext| ext.is_mandatory())
            .map(|ext| ext.extension_type)
    }

    /// Whether any extension is mandatory and unimplemented; clients will ignore such a config.
    pub fn has_unsupported_mandatory_extension(&self) -> bool {
        self.unsupported_mandatory_extensions().next().is_some()
    }
}

impl fmt::Debug for EchConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EchConfig")
            .field("version", &format_args!("0x{ECH_VERSION:04x}"))
            .field("config_id", &self.config_id())
            .field("kem", &self.kem())
            .field("cipher_suites", &self.cipher_suites())
            .field("public_name", &self.public_name())
            .field("maximum_name_length", &self.maximum_name_length())
            .field("extensions", &self.extensions())
            .finish()
    }
}

/// An ECHConfigList (RFC 9849 §4), keeping its exact encoding.
///
/// Configs of versions other than [`ECH_VERSION`] are skipped, as RFC 9849 §4 asks: they stay
/// in [`EchConfigList::encoded`] but are not in [`EchConfigList::configs`]. Their versions are
/// listed by [`EchConfigList::skipped_versions`].
#[derive(Clone, PartialEq, Eq)]
pub struct EchConfigList {
    configs: Vec<EchConfig>,
    skipped_versions: Vec<u16>,
    encoded: Vec<u8>,
}

impl EchConfigList {
    /// Builds a list from configs, in order.
    pub fn new(configs: Vec<EchConfig>) -> Result<Self, ConfigError> {
        if configs.is_empty() {
            return Err(ConfigError::EmptyList);
        }
        let body_len: usize = configs.iter().map(|config| config.encoded.len()).sum();
        let prefix =
            u16::try_from(body_len).map_err(|_| ConfigError::TooLong(Field::EchConfigList))?;
        let mut encoded = Vec::with_capacity(2 + body_len);
        encoded.extend_from_slice(&prefix.to_be_bytes());
        for config in &configs {
            encoded.extend_from_slice(&config.encoded);
        }
        Ok(Self {
            configs,
            skipped_versions: Vec::new(),
            encoded,
        })
    }

    /// Parses an encoded ECHConfigList, 2-byte length included, with nothing after it.
    pub fn parse(bytes: &[u8]) -> Result<Self, ConfigError> {
        let mut reader = Reader::new(bytes);
        let body = reader.vec16(Field::EchConfigList)?;
        if !reader.is_empty() {
            return Err(ConfigError::TrailingBytes(Field::EchConfigList));
        }
        if body.is_empty() {
            return Err(ConfigError::EmptyList);
        }

        let mut configs = Vec::new();
        let mut skipped_versions = Vec::new();
        let mut body = Reader::new(body);
        while !body.is_empty() {
            match read_config(&mut body)? {
                Entry::Config(config) => configs.push(config),
                Entry::Skipped(version) => {
                    log::debug!("skipping ECHConfig of unsupported version 0x{version:04x}");
                    skipped_versions.push(version);
                }
            }
        }
        Ok(Self {
            configs,
            skipped_versions,
            encoded: bytes.to_vec(),
        })
    }

    /// Parses base64 (standard alphabet, padded) of an encoded ECHConfigList, as it appears in
    /// the `ech` parameter of a DNS HTTPS record. Surrounding whitespace is ignored.
    pub fn from_base64(text: &str) -> Result<Self, ConfigError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|err| ConfigError::InvalidBase64(err.to_string()))?;
        Self::parse(&bytes)
    }

    /// The encoding as base64 (standard alphabet, padded).
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.encoded)
    }

    /// The encoded list, 2-byte length included, exactly as parsed or built.
    pub fn encoded(&self) -> &[u8] {
        &self.encoded
    }

    /// The configs of version [`ECH_VERSION`], in order.
    pub fn configs(&self) -> &[EchConfig] {
        &self.configs
    }

    /// The versions of configs that were skipped, in order.
    pub fn skipped_versions(&self) -> &[u16] {
        &self.skipped_versions
    }

    /// Takes the configs out of the list.
    pub fn into_configs(self) -> Vec<EchConfig> {
        self.configs
    }
}

impl fmt::Debug for EchConfigList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EchConfigList")
            .field("configs", &self.configs)
            .field("skipped_versions", &self.skipped_versions)
            .finish()
    }
}

/// The cipher suites a generated config offers when none are given: the KDF that matches the
/// KEM's own hash, with AES-128-GCM, AES-256-GCM and ChaCha20Poly1305. For X25519 and P-256
/// that is HKDF-SHA256; P-384 gets HKDF-SHA384 and P-521 HKDF-SHA512, the pairings HPKE
/// libraries offer.
pub fn default_cipher_suites(kem: Kem) -> Vec<SymmetricSuite> {
    let kdf = match kem {
        Kem::DhKemP384HkdfSha384 => Kdf::HkdfSha384,
        Kem::DhKemP521HkdfSha512 => Kdf::HkdfSha512,
        _ => Kdf::HkdfSha256,
    };
    [Aead::Aes128Gcm, Aead::Aes256Gcm, Aead::ChaCha20Poly1305]
        .into_iter()
        .map(|aead| SymmetricSuite { kdf, aead })
        .collect()
}

/// An error generating an ECHConfig and its key pair.
#[derive(Debug)]
#[non_exhaustive]
pub enum GenerateError {
    /// The config would be invalid.
    Config(ConfigError),
    /// The HPKE backend cannot use this suite, so the server could not open what clients send.
    UnsupportedSuite(HpkeSuiteId),
    /// The system random number generator failed while choosing a `config_id`.
    Random(getrandom::Error),
    /// The HPKE backend failed to generate a key pair.
    KeyGeneration(rustls::Error),
}

impl fmt::Display for GenerateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(err) => err.fmt(f),
            Self::UnsupportedSuite(id) => {
                write!(
                    f,
                    "the HPKE backend has no suite {} with {}",
                    id.kem, id.sym
                )
            }
            Self::Random(err) => write!(f, "random number generator failed: {err}"),
            Self::KeyGeneration(err) => write!(f, "HPKE key generation failed: {err}"),
        }
    }
}

impl std::error::Error for GenerateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Config(err) => Some(err),
            Self::KeyGeneration(err) => Some(err),
            _ => None,
        }
    }
}

impl From<ConfigError> for GenerateError {
    fn from(err: ConfigError) -> Self {
        Self::Config(err)
    }
}

/// Generates a fresh ECHConfig and its HPKE private key.
///
/// Defaults: a random `config_id`, DHKEM(X25519, HKDF-SHA256), [`default_cipher_suites`],
/// `maximum_name_length` 0, no extensions, and [`HpkeBackend::default_backend`].
#[derive(Clone, Debug)]
pub struct EchConfigBuilder {
    public_name: String,
    config_id: Option<u8>,
    kem: Kem,
    cipher_suites: Option<Vec<SymmetricSuite>>,
    maximum_name_length: u8,
    extensions: Vec<EchConfigExtension>,
    backend: HpkeBackend,
}

impl EchConfigBuilder {
    /// Starts a config for `public_name`, which is checked by [`EchConfigBuilder::generate`].
    pub fn new(public_name: impl Into<String>) -> Self {
        Self {
            public_name: public_name.into(),
            config_id: None,
            kem: Kem::DhKemX25519HkdfSha256,
            cipher_suites: None,
            maximum_name_length: 0,
            extensions: Vec::new(),
            backend: HpkeBackend::default_backend(),
        }
    }

    /// Sets `config_id` instead of choosing one at random.
    pub fn config_id(mut self, config_id: u8) -> Self {
        self.config_id = Some(config_id);
        self
    }

    /// Sets the KEM.
    pub fn kem(mut self, kem: Kem) -> Self {
        self.kem = kem;
        self
    }

    /// Sets `cipher_suites`.
    pub fn cipher_suites(mut self, suites: Vec<SymmetricSuite>) -> Self {
        self.cipher_suites = Some(suites);
        self
    }

    /// Sets `maximum_name_length`.
    pub fn maximum_name_length(mut self, len: u8) -> Self {
        self.maximum_name_length = len;
        self
    }

    /// Adds an extension.
    pub fn extension(mut self, extension: EchConfigExtension) -> Self {
        self.extensions.push(extension);
        self
    }

    /// Sets the HPKE backend that generates the key pair and must support every suite.
    pub fn backend(mut self, backend: HpkeBackend) -> Self {
        self.backend = backend;
        self
    }

    /// Generates the key pair and returns the encoded config with its private key.
    pub fn generate(&self) -> Result<(EchConfig, HpkePrivateKey), GenerateError> {
        validate_public_name(self.public_name.as_bytes())
            .map_err(ConfigError::InvalidPublicName)?;
        let cipher_suites = self
            .cipher_suites
            .clone()
            .unwrap_or_else(|| default_cipher_suites(self.kem));
        if cipher_suites.is_empty() {
            return Err(ConfigError::EmptyCipherSuites.into());
        }
        for sym in &cipher_suites {
            let id = HpkeSuiteId {
                kem: self.kem,
                sym: *sym,
            };
            if self.backend.suite(id).is_none() {
                return Err(GenerateError::UnsupportedSuite(id));
            }
        }

        let config_id = match self.config_id {
            Some(id) => id,
            None => {
                let mut byte = [0u8; 1];
                getrandom::fill(&mut byte).map_err(GenerateError::Random)?;
                byte[0]
            }
        };
        let (public_key, private_key) = self
            .backend
            .generate_key_pair(self.kem)
            .map_err(GenerateError::KeyGeneration)?;

        let config = EchConfig::from_contents(EchConfigContents {
            key_config: HpkeKeyConfig {
                config_id,
                kem: self.kem,
                public_key: public_key.0,
                cipher_suites,
            },
            maximum_name_length: self.maximum_name_length,
            public_name: self.public_name.clone(),
            extensions: self.extensions.clone(),
        })?;
        log::debug!("generated ECHConfig config_id={config_id} kem={}", self.kem);
        Ok((config, private_key))
    }
}

/// One entry of an ECHConfigList: a usable config, or the version of a skipped one.
enum Entry {
    Config(EchConfig),
    Skipped(u16),
}

/// Reads one `ECHConfig { version; length; contents }`.
fn read_config(reader: &mut Reader<'_>) -> Result<Entry, ConfigError> {
    let start = reader.pos;
    let version = reader.u16(Field::Version)?;
    let length = reader.u16(Field::Length)?;
    let contents = reader.take(usize::from(length), Field::Contents)?;
    let encoded = &reader.buf[start..reader.pos];

    if version != ECH_VERSION {
        return Ok(Entry::Skipped(version));
    }

    let contents = read_contents(&mut Reader::new(contents))?;
    Ok(Entry::Config(EchConfig {
        contents,
        encoded: encoded.to_vec(),
    }))
}

/// Reads `ECHConfigContents`, which must fill `reader` exactly.
fn read_contents(reader: &mut Reader<'_>) -> Result<EchConfigContents, ConfigError> {
    let key_config = read_key_config(reader)?;

    let maximum_name_length = reader.u8(Field::MaximumNameLength)?;
    let public_name = reader.vec8(Field::PublicName)?;
    validate_public_name(public_name).map_err(ConfigError::InvalidPublicName)?;
    // Validation admits ASCII only, so this conversion cannot fail; map it anyway.
    let public_name = String::from_utf8(public_name.to_vec())
        .map_err(|_| ConfigError::InvalidPublicName(PublicNameError::InvalidCharacter(0x80)))?;

    let mut extensions_reader = Reader::new(reader.vec16(Field::Extensions)?);
    let mut extensions = Vec::new();
    while !extensions_reader.is_empty() {
        let extension_type = extensions_reader.u16(Field::ExtensionType)?;
        let data = extensions_reader.vec16(Field::ExtensionData)?.to_vec();
        extensions.push(EchConfigExtension {
            extension_type,
            data,
        });
    }

    if !reader.is_empty() {
        return Err(ConfigError::TrailingBytes(Field::Contents));
    }
    Ok(EchConfigContents {
        key_config,
        maximum_name_length,
        public_name,
        extensions,
    })
}

/// Reads `HpkeKeyConfig`.
fn read_key_config(reader: &mut Reader<'_>) -> Result<HpkeKeyConfig, ConfigError> {
    let config_id = reader.u8(Field::ConfigId)?;
    let kem = Kem::from(reader.u16(Field::KemId)?);

    let public_key = reader.vec16(Field::PublicKey)?;
    if public_key.is_empty() {
        return Err(ConfigError::EmptyPublicKey);
    }
    if let Some(expected) = kem.public_key_len() {
        if public_key.len() != expected {
            return Err(ConfigError::PublicKeyLength {
                kem,
                expected,
                actual: public_key.len(),
            });
        }
    }

    let suites = reader.vec16(Field::CipherSuites)?;
    if suites.is_empty() {
        return Err(ConfigError::EmptyCipherSuites);
    }
    if suites.len() % 4 != 0 {
        return Err(ConfigError::CipherSuitesLength(suites.len()));
    }
    let cipher_suites = suites
        .chunks_exact(4)
        .map(|suite| SymmetricSuite {
            kdf: Kdf::from(u16::from_be_bytes([suite[0], suite[1]])),
            aead: Aead::from(u16::from_be_bytes([suite[2], suite[3]])),
        })
        .collect();

    Ok(HpkeKeyConfig {
        config_id,
        kem,
        public_key: public_key.to_vec(),
        cipher_suites,
    })
}

/// Encodes one ECHConfig of version [`ECH_VERSION`].
fn encode_config(contents: &EchConfigContents) -> Result<Vec<u8>, ConfigError> {
    let key = &contents.key_config;
    let mut body = Vec::new();
    body.push(key.config_id);
    body.extend_from_slice(&u16::from(key.kem).to_be_bytes());
    put_vec16(&mut body, &key.public_key, Field::PublicKey)?;

    let mut suites = Vec::with_capacity(4 * key.cipher_suites.len());
    for suite in &key.cipher_suites {
        suites.extend_from_slice(&u16::from(suite.kdf).to_be_bytes());
        suites.extend_from_slice(&u16::from(suite.aead).to_be_bytes());
    }
    put_vec16(&mut body, &suites, Field::CipherSuites)?;

    body.push(contents.maximum_name_length);
    let name = contents.public_name.as_bytes();
    let name_len = u8::try_from(name.len()).map_err(|_| ConfigError::TooLong(Field::PublicName))?;
    body.push(name_len);
    body.extend_from_slice(name);

    let mut extensions = Vec::new();
    for ext in &contents.extensions {
        extensions.extend_from_slice(&ext.extension_type.to_be_bytes());
        put_vec16(&mut extensions, &ext.data, Field::ExtensionData)?;
    }
    put_vec16(&mut body, &extensions, Field::Extensions)?;

    let mut encoded = Vec::with_capacity(4 + body.len());
    encoded.extend_from_slice(&ECH_VERSION.to_be_bytes());
    put_vec16(&mut encoded, &body, Field::Contents)?;
    Ok(encoded)
}

/// Appends `data` with a 2-byte length prefix.
fn put_vec16(out: &mut Vec<u8>, data: &[u8], field: Field) -> Result<(), ConfigError> {
    let len = u16::try_from(data.len()).map_err(|_| ConfigError::TooLong(field))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
    Ok(())
}

/// A cursor over wire bytes whose every read names the field it is reading.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn take(&mut self, len: usize, field: Field) -> Result<&'a [u8], ConfigError> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|end| *end <= self.buf.len())
            .ok_or(ConfigError::Truncated(field))?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn u8(&mut self, field: Field) -> Result<u8, ConfigError> {
        Ok(self.take(1, field)?[0])
    }

    fn u16(&mut self, field: Field) -> Result<u16, ConfigError> {
        let bytes = self.take(2, field)?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    fn vec8(&mut self, field: Field) -> Result<&'a [u8], ConfigError> {
        let len = self.u8(field)?;
        self.take(usize::from(len), field)
    }

    fn vec16(&mut self, field: Field) -> Result<&'a [u8], ConfigError> {
        let len = self.u16(field)?;
        self.take(usize::from(len), field)
    }
}
