//! HPKE backends, behind rustls's own [`Hpke`] trait.
//!
//! An [`HpkeBackend`] is a set of `&'static dyn Hpke` suites; the server picks one by
//! (KEM, KDF, AEAD) when a ClientHelloOuter names a cipher suite of one of its ECHConfigs.

#[cfg(feature = "hpke-rs")]
use rustls::crypto::hpke::HpkeSuite;
use rustls::crypto::hpke::{Hpke, HpkePrivateKey, HpkePublicKey};

use crate::suite::{Aead, HpkeSuiteId, Kdf, Kem, SymmetricSuite};

/// A set of HPKE suites from one cryptography library.
#[derive(Clone, Copy, Debug)]
pub struct HpkeBackend {
    name: &'static str,
    suites: &'static [&'static dyn Hpke],
}

impl HpkeBackend {
    /// rustls's aws-lc-rs HPKE suites (`rustls::crypto::aws_lc_rs::hpke`).
    #[cfg(feature = "aws-lc-rs")]
    pub fn aws_lc_rs() -> Self {
        Self {
            name: "aws-lc-rs",
            suites: rustls::crypto::aws_lc_rs::hpke::ALL_SUPPORTED_SUITES,
        }
    }

    /// HPKE suites from the hpke-rs crate with its libcrux cryptography provider.
    ///
    /// Offers every base-mode combination of KEM (DHKEM with X25519, P-256, P-384 or P-521),
    /// KDF (HKDF-SHA256, HKDF-SHA384 or HKDF-SHA512) and AEAD (AES-128-GCM, AES-256-GCM or
    /// ChaCha20Poly1305). Keys use the same raw encodings as rustls's aws-lc-rs suites
    /// (RFC 9180 §7.1.1), so a key pair works with either backend.
    #[cfg(feature = "hpke-rs")]
    pub fn hpke_rs() -> Self {
        Self {
            name: "hpke-rs",
            suites: hpke_rs_suites::ALL,
        }
    }

    /// The backend used when none is chosen: aws-lc-rs when built in, otherwise hpke-rs.
    ///
    /// Built with neither the `aws-lc-rs` nor the `hpke-rs` feature, this is an empty backend
    /// that offers no suite, so no ECHConfig can be opened and every ClientHelloOuter that offers
    /// ECH is rejected.
    pub fn default_backend() -> Self {
        #[cfg(feature = "aws-lc-rs")]
        {
            Self::aws_lc_rs()
        }
        #[cfg(all(not(feature = "aws-lc-rs"), feature = "hpke-rs"))]
        {
            Self::hpke_rs()
        }
        #[cfg(not(any(feature = "aws-lc-rs", feature = "hpke-rs")))]
        {
            Self {
                name: "none",
                suites: &[],
            }
        }
    }

    /// A backend of your own suites: any implementation of rustls's [`Hpke`] trait, for
    /// example a hardware-backed one.
    pub fn custom(name: &'static str, suites: &'static [&'static dyn Hpke]) -> Self {
        Self { name, suites }
    }

    /// A short name for logs and diagnostics.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Every suite this backend offers.
    pub fn suites(&self) -> &'static [&'static dyn Hpke] {
        self.suites
    }

    /// The suite for `id`, if this backend offers it.
    pub fn suite(&self, id: HpkeSuiteId) -> Option<&'static dyn Hpke> {
        self.suites
            .iter()
            .copied()
            .find(|hpke| suite_id(*hpke) == id)
    }

    /// Generates a key pair for `kem`, as raw public and private keys (RFC 9180 §7.1.1).
    pub fn generate_key_pair(
        &self,
        kem: Kem,
    ) -> Result<(HpkePublicKey, HpkePrivateKey), rustls::Error> {
        let hpke = self
            .suites
            .iter()
            .find(|hpke| suite_id(**hpke).kem == kem)
            .ok_or_else(|| {
                rustls::Error::General(format!("{} has no HPKE suite for {kem}", self.name))
            })?;
        hpke.generate_key_pair()
    }
}

impl Default for HpkeBackend {
    fn default() -> Self {
        Self::default_backend()
    }
}

/// The (KEM, KDF, AEAD) identifiers of a rustls HPKE suite.
pub fn suite_id(hpke: &dyn Hpke) -> HpkeSuiteId {
    let suite = hpke.suite();
    HpkeSuiteId {
        kem: Kem::from(u16::from(suite.kem)),
        sym: SymmetricSuite {
            kdf: Kdf::from(u16::from(suite.sym.kdf_id)),
            aead: Aead::from(u16::from(suite.sym.aead_id)),
        },
    }
}

/// The rustls [`HpkeSuite`] for a (KEM, KDF, AEAD) triple of IANA code points.
///
/// rustls exports the identifier types of [`HpkeSuite`] only under `rustls::internal`; this is
/// the one place this crate uses them.
#[cfg(feature = "hpke-rs")]
fn rustls_suite(kem: u16, kdf: u16, aead: u16) -> HpkeSuite {
    use rustls::internal::msgs::enums::{HpkeAead, HpkeKdf, HpkeKem};
    use rustls::internal::msgs::handshake::HpkeSymmetricCipherSuite;

    HpkeSuite {
        kem: HpkeKem::from(kem),
        sym: HpkeSymmetricCipherSuite {
            kdf_id: HpkeKdf::from(kdf),
            aead_id: HpkeAead::from(aead),
        },
    }
}

#[cfg(feature = "hpke-rs")]
mod hpke_rs_suites {
    //! rustls's [`Hpke`] trait over `hpke_rs::Hpke<HpkeLibcrux>`, in base mode (RFC 9180 §5.1.1).

    use core::fmt;

    use hpke_rs::hpke_types::{AeadAlgorithm, KdfAlgorithm, KemAlgorithm};
    use hpke_rs::{Context, HpkeError, Mode};
    use hpke_rs_crypto::{HpkeCrypto, HpkeDefaultPrng};
    use hpke_rs_libcrux::HpkeLibcrux;
    use rustls::crypto::hpke::{
        EncapsulatedSecret, Hpke, HpkeOpener, HpkePrivateKey, HpkePublicKey, HpkeSealer, HpkeSuite,
    };
    use rustls::Error;

    use crate::suite::Kem;

    /// One (KEM, KDF, AEAD) combination.
    ///
    /// It holds no state: each operation builds its own `hpke_rs::Hpke`, whose PRNG is a fresh
    /// libcrux HMAC-DRBG seeded from the operating system. `hpke_rs::Hpke` needs `&mut` for
    /// sealing and key generation, and a per-call instance keeps the suite shareable across
    /// threads without a lock.
    pub(super) struct HpkeRsSuite {
        kem: KemAlgorithm,
        kdf: KdfAlgorithm,
        aead: AeadAlgorithm,
    }

    impl HpkeRsSuite {
        const fn new(kem: KemAlgorithm, kdf: KdfAlgorithm, aead: AeadAlgorithm) -> Self {
            Self { kem, kdf, aead }
        }

        fn instance(&self) -> Result<hpke_rs::Hpke<HpkeLibcrux>, Error> {
            hpke_rs::Hpke::try_new(Mode::Base, self.kem, self.kdf, self.aead).map_err(map_error)
        }

        fn kem(&self) -> Kem {
            Kem::from(self.kem as u16)
        }

        /// Checks `bytes` is a public key or `enc` in the encoding of RFC 9180 §7.1.1.
        ///
        /// libcrux alone would also take a P-256 point without its SEC1 prefix byte.
        fn check_public(&self, what: &str, bytes: &[u8]) -> Result<(), Error> {
            let kem = self.kem();
            let well_formed = Some(bytes.len()) == kem.public_key_len()
                && (kem == Kem::DhKemX25519HkdfSha256 || bytes.first() == Some(&0x04));
            if !well_formed {
                return Err(Error::General(format!(
                    "hpke-rs: malformed {what} for {kem}"
                )));
            }
            Ok(())
        }

        fn check_private(&self, bytes: &[u8]) -> Result<(), Error> {
            let kem = self.kem();
            if Some(bytes.len()) != kem.private_key_len() {
                return Err(Error::General(format!(
                    "hpke-rs: malformed private key for {kem}"
                )));
            }
            Ok(())
        }

        fn sender(
            &self,
            info: &[u8],
            pub_key: &HpkePublicKey,
        ) -> Result<(EncapsulatedSecret, Context<HpkeLibcrux>), Error> {
            self.check_public("public key", &pub_key.0)?;
            let pk_r = hpke_rs::HpkePublicKey::from(pub_key.0.as_slice());
            let (enc, context) = self
                .instance()?
                .setup_sender(&pk_r, info, None, None, None)
                .map_err(map_error)?;
            Ok((EncapsulatedSecret(enc), context))
        }

        fn receiver(
            &self,
            enc: &EncapsulatedSecret,
            info: &[u8],
            secret_key: &HpkePrivateKey,
        ) -> Result<Context<HpkeLibcrux>, Error> {
            self.check_public("enc", &enc.0)?;
            self.check_private(secret_key.secret_bytes())?;
            let sk_r = hpke_rs::HpkePrivateKey::from(secret_key.secret_bytes());
            self.instance()?
                .setup_receiver(&enc.0, &sk_r, info, None, None, None)
                .map_err(map_error)
        }
    }

    impl Hpke for HpkeRsSuite {
        fn seal(
            &self,
            info: &[u8],
            aad: &[u8],
            plaintext: &[u8],
            pub_key: &HpkePublicKey,
        ) -> Result<(EncapsulatedSecret, Vec<u8>), Error> {
            let (enc, mut context) = self.sender(info, pub_key)?;
            let ciphertext = context.seal(aad, plaintext).map_err(map_error)?;
            Ok((enc, ciphertext))
        }

        fn setup_sealer(
            &self,
            info: &[u8],
            pub_key: &HpkePublicKey,
        ) -> Result<(EncapsulatedSecret, Box<dyn HpkeSealer + 'static>), Error> {
            let (enc, context) = self.sender(info, pub_key)?;
            Ok((enc, Box::new(SuiteContext { context })))
        }

        fn open(
            &self,
            enc: &EncapsulatedSecret,
            info: &[u8],
            aad: &[u8],
            ciphertext: &[u8],
            secret_key: &HpkePrivateKey,
        ) -> Result<Vec<u8>, Error> {
            self.receiver(enc, info, secret_key)?
                .open(aad, ciphertext)
                .map_err(map_error)
        }

        fn setup_opener(
            &self,
            enc: &EncapsulatedSecret,
            info: &[u8],
            secret_key: &HpkePrivateKey,
        ) -> Result<Box<dyn HpkeOpener + 'static>, Error> {
            let context = self.receiver(enc, info, secret_key)?;
            Ok(Box::new(SuiteContext { context }))
        }

        fn generate_key_pair(&self) -> Result<(HpkePublicKey, HpkePrivateKey), Error> {
            // Straight from the provider: hpke-rs shows a private key's bytes only under its
            // `hazmat` feature, which would also make its contexts print their keys.
            let mut prng =
                <HpkeLibcrux as HpkeDefaultPrng>::try_prng().map_err(map_crypto_error)?;
            let (public_key, private_key) =
                <HpkeLibcrux as HpkeCrypto>::kem_key_gen(self.kem, &mut prng)
                    .map_err(map_crypto_error)?;
            Ok((HpkePublicKey(public_key), HpkePrivateKey::from(private_key)))
        }

        fn suite(&self) -> HpkeSuite {
            super::rustls_suite(self.kem as u16, self.kdf as u16, self.aead as u16)
        }
    }

    impl fmt::Debug for HpkeRsSuite {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("HpkeRsSuite")
                .field("kem", &self.kem)
                .field("kdf", &self.kdf)
                .field("aead", &self.aead)
                .finish()
        }
    }

    /// A sender or receiver context (RFC 9180 §5.2); the sequence number lives inside it.
    struct SuiteContext {
        context: Context<HpkeLibcrux>,
    }

    impl HpkeSealer for SuiteContext {
        fn seal(&mut self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Error> {
            self.context.seal(aad, plaintext).map_err(map_error)
        }
    }

    impl HpkeOpener for SuiteContext {
        fn open(&mut self, aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, Error> {
            self.context.open(aad, ciphertext).map_err(map_error)
        }
    }

    impl fmt::Debug for SuiteContext {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            // The context holds the AEAD key and base nonce: print nothing of it.
            f.debug_struct("SuiteContext").finish_non_exhaustive()
        }
    }

    /// Maps an hpke-rs failure onto the closest rustls error.
    fn map_error(error: HpkeError) -> Error {
        match error {
            HpkeError::OpenError => Error::DecryptError,
            HpkeError::InsufficientRandomness => Error::FailedToGetRandomBytes,
            other => Error::General(format!("hpke-rs: {other:?}")),
        }
    }

    fn map_crypto_error(error: hpke_rs_crypto::error::Error) -> Error {
        map_error(HpkeError::from(error))
    }

    macro_rules! suites {
        ($($kem:ident: $($kdf:ident),+;)+) => {
            &[$($(
                &HpkeRsSuite::new(KemAlgorithm::$kem, KdfAlgorithm::$kdf, AeadAlgorithm::Aes128Gcm),
                &HpkeRsSuite::new(KemAlgorithm::$kem, KdfAlgorithm::$kdf, AeadAlgorithm::Aes256Gcm),
                &HpkeRsSuite::new(
                    KemAlgorithm::$kem,
                    KdfAlgorithm::$kdf,
                    AeadAlgorithm::ChaCha20Poly1305,
                ),
            )+)+]
        };
    }

    /// Every suite, each KEM first with the KDF of its own name (RFC 9180 §7.1).
    pub(super) static ALL: &[&dyn Hpke] = suites! {
        DhKem25519: HkdfSha256, HkdfSha384, HkdfSha512;
        DhKemP256: HkdfSha256, HkdfSha384, HkdfSha512;
        DhKemP384: HkdfSha384, HkdfSha256, HkdfSha512;
        DhKemP521: HkdfSha512, HkdfSha256, HkdfSha384;
    };
}
