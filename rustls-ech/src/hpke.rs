//! HPKE backends, behind rustls's own [`Hpke`] trait.
//!
//! An [`HpkeBackend`] is a set of `&'static dyn Hpke` suites; the server picks one by
//! (KEM, KDF, AEAD) when a ClientHelloOuter names a cipher suite of one of its ECHConfigs.

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

    /// The backend used when none is chosen: aws-lc-rs when built in, otherwise hpke-rs.
    pub fn default_backend() -> Self {
        #[cfg(feature = "aws-lc-rs")]
        {
            Self::aws_lc_rs()
        }
        #[cfg(all(not(feature = "aws-lc-rs"), feature = "hpke-rs"))]
        {
            Self::hpke_rs()
        }
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
