//! HPKE algorithm identifiers used by ECHConfig (RFC 9180 §7).

use core::fmt;

macro_rules! hpke_id {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $value:expr, $label:expr;)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
            /// A value this crate does not know. It is carried through parsing and encoding
            /// unchanged, but no HPKE backend offers it.
            Unknown(u16),
        }

        impl From<u16> for $name {
            fn from(value: u16) -> Self {
                match value {
                    $($value => Self::$variant,)*
                    other => Self::Unknown(other),
                }
            }
        }

        impl From<$name> for u16 {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => $value,)*
                    $name::Unknown(other) => other,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $(Self::$variant => f.write_str($label),)*
                    Self::Unknown(other) => write!(f, "unknown(0x{other:04x})"),
                }
            }
        }
    };
}

hpke_id! {
    /// An HPKE key encapsulation mechanism (`HpkeKemId`).
    Kem {
        /// DHKEM(P-256, HKDF-SHA256).
        DhKemP256HkdfSha256 = 0x0010, "DHKEM(P-256, HKDF-SHA256)";
        /// DHKEM(P-384, HKDF-SHA384).
        DhKemP384HkdfSha384 = 0x0011, "DHKEM(P-384, HKDF-SHA384)";
        /// DHKEM(P-521, HKDF-SHA512).
        DhKemP521HkdfSha512 = 0x0012, "DHKEM(P-521, HKDF-SHA512)";
        /// DHKEM(X25519, HKDF-SHA256).
        DhKemX25519HkdfSha256 = 0x0020, "DHKEM(X25519, HKDF-SHA256)";
    }
}

hpke_id! {
    /// An HPKE key derivation function (`HpkeKdfId`).
    Kdf {
        /// HKDF-SHA256.
        HkdfSha256 = 0x0001, "HKDF-SHA256";
        /// HKDF-SHA384.
        HkdfSha384 = 0x0002, "HKDF-SHA384";
        /// HKDF-SHA512.
        HkdfSha512 = 0x0003, "HKDF-SHA512";
    }
}

hpke_id! {
    /// An HPKE AEAD (`HpkeAeadId`).
    Aead {
        /// AES-128-GCM.
        Aes128Gcm = 0x0001, "AES-128-GCM";
        /// AES-256-GCM.
        Aes256Gcm = 0x0002, "AES-256-GCM";
        /// ChaCha20Poly1305.
        ChaCha20Poly1305 = 0x0003, "ChaCha20Poly1305";
        /// The export-only AEAD; ECH cannot use it.
        ExportOnly = 0xffff, "export-only";
    }
}

/// A KDF and AEAD pair: `HpkeSymmetricCipherSuite` of RFC 9849 §4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SymmetricSuite {
    /// The key derivation function.
    pub kdf: Kdf,
    /// The AEAD.
    pub aead: Aead,
}

impl fmt::Display for SymmetricSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kdf, self.aead)
    }
}

/// A full HPKE suite: KEM, KDF and AEAD.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HpkeSuiteId {
    /// The key encapsulation mechanism.
    pub kem: Kem,
    /// The KDF and AEAD.
    pub sym: SymmetricSuite,
}

impl Kem {
    /// The size in bytes of an encoded public key (`Npk`), for known KEMs.
    pub fn public_key_len(self) -> Option<usize> {
        match self {
            Self::DhKemP256HkdfSha256 => Some(65),
            Self::DhKemP384HkdfSha384 => Some(97),
            Self::DhKemP521HkdfSha512 => Some(133),
            Self::DhKemX25519HkdfSha256 => Some(32),
            Self::Unknown(_) => None,
        }
    }

    /// The size in bytes of an encoded private key (`Nsk`), for known KEMs.
    pub fn private_key_len(self) -> Option<usize> {
        match self {
            Self::DhKemP256HkdfSha256 => Some(32),
            Self::DhKemP384HkdfSha384 => Some(48),
            Self::DhKemP521HkdfSha512 => Some(66),
            Self::DhKemX25519HkdfSha256 => Some(32),
            Self::Unknown(_) => None,
        }
    }
}
