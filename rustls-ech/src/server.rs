//! [`EchServer`]: the entry point a server application holds.

use core::fmt;
use std::sync::{Arc, RwLock};

use rustls::crypto::hash::{HashAlgorithm, Output};
use rustls::crypto::CryptoProvider;
use rustls::{ServerConfig, SupportedCipherSuite, Tls13CipherSuite};

use crate::engine::EchEngine;
use crate::hpke::HpkeBackend;
use crate::keys::EchKeyStore;
use crate::provider;

/// The default bound on a ClientHello's size, header included.
///
/// Real ClientHellos, post-quantum key shares and ECH included, stay far below it.
pub const DEFAULT_MAX_CLIENT_HELLO_LEN: usize = 32 * 1024;

/// Server-side ECH for rustls: holds the keys and makes the pieces a server needs.
///
/// - [`EchServer::wrap`] wraps the [`CryptoProvider`] given to [`ServerConfig`];
/// - [`EchServer::check_config`] checks a [`ServerConfig`] can carry ECH;
/// - [`EchServer::engine`] makes a sans-IO engine for one connection, and
///   [`EchServer::stream`] (std) or `EchServer::acceptor` (tokio) wrap a connection's IO.
///
/// Cloning is cheap and shares the keys: rotating them through the [`EchKeyStore`] affects
/// new connections only.
#[derive(Clone)]
pub struct EchServer {
    shared: Arc<ServerShared>,
}

/// The application's say on a decrypted ClientHelloInner: see [`EchServer::with_accept_filter`].
pub(crate) type AcceptFilter = dyn Fn(Option<&str>) -> bool + Send + Sync;

pub(crate) struct ServerShared {
    pub(crate) keys: EchKeyStore,
    pub(crate) hpke: HpkeBackend,
    pub(crate) max_client_hello_len: usize,
    accept_filter: RwLock<Option<Arc<AcceptFilter>>>,
    /// The base TLS 1.3 suites of every provider this server wrapped.
    suites: RwLock<Vec<&'static Tls13CipherSuite>>,
}

impl EchServer {
    /// A server using `keys`, the default HPKE backend and the default limits.
    pub fn new(keys: impl Into<EchKeyStore>) -> Self {
        Self::with_backend(keys, HpkeBackend::default())
    }

    /// A server using `keys` and the HPKE suites of `hpke`.
    pub fn with_backend(keys: impl Into<EchKeyStore>, hpke: HpkeBackend) -> Self {
        Self {
            shared: Arc::new(ServerShared {
                keys: keys.into(),
                hpke,
                max_client_hello_len: DEFAULT_MAX_CLIENT_HELLO_LEN,
                accept_filter: RwLock::new(None),
                suites: RwLock::new(Vec::new()),
            }),
        }
    }

    /// Lets the application decline ECH once ClientHelloInner is decrypted: `filter` gets its
    /// server name and returns whether to accept. Declined, the handshake continues on
    /// ClientHelloOuter (status [`EchStatus::Rejected`], the certificate for the outer name)
    /// and sends no `retry_configs`, which tells the client to connect again without ECH
    /// (RFC 9849 §6.1.6), as BoringSSL's `ssl_select_cert_disable_ech` does. A server can so
    /// send clients of a service it does not offer behind ECH (one that needs TLS 1.2, say)
    /// back to plain TLS.
    ///
    /// The filter applies to ClientHellos processed after this call, by this server and its
    /// clones. It is not asked about a bare ClientHelloInner ([`EchStatus::Backend`]).
    ///
    /// [`EchStatus::Rejected`]: crate::EchStatus::Rejected
    /// [`EchStatus::Backend`]: crate::EchStatus::Backend
    pub fn with_accept_filter(
        self,
        filter: impl Fn(Option<&str>) -> bool + Send + Sync + 'static,
    ) -> Self {
        *self
            .shared
            .accept_filter
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(filter));
        self
    }

    /// The key store: replace or reload keys through it while the server runs.
    pub fn keys(&self) -> &EchKeyStore {
        &self.shared.keys
    }

    /// `provider`, with its TLS 1.3 cipher suites wrapped so that rustls's transcript and
    /// records carry ECH's edits. TLS 1.2 suites are untouched. Use the result for every
    /// [`ServerConfig`] whose connections go through this server's engines.
    pub fn wrap(&self, provider: CryptoProvider) -> CryptoProvider {
        let mut suites = self
            .shared
            .suites
            .write()
            .unwrap_or_else(|p| p.into_inner());
        for suite in &provider.cipher_suites {
            if let SupportedCipherSuite::Tls13(base) = suite {
                let base = provider::base_of(base).unwrap_or(base);
                if !suites.iter().any(|known| core::ptr::eq(*known, base)) {
                    suites.push(base);
                }
            }
        }
        provider::wrap_provider(provider)
    }

    /// Checks that `config` can carry ECH through this server's engines: its provider came
    /// from [`EchServer::wrap`] and it allows TLS 1.3.
    ///
    /// Any `max_fragment_size` will do: `retry_configs` need no room kept free in records.
    /// When they make the record carrying EncryptedExtensions longer than 2^14 bytes, it
    /// leaves as two records. That record may exceed a `max_fragment_size` below 2^14 by the
    /// size of the retry configs.
    pub fn check_config(&self, config: &ServerConfig) -> Result<(), ServerConfigError> {
        let tls13: Vec<_> = config
            .crypto_provider()
            .cipher_suites
            .iter()
            .filter_map(|suite| match suite {
                SupportedCipherSuite::Tls13(suite) => Some(*suite),
                _ => None,
            })
            .collect();
        if tls13.is_empty() || !tls13_enabled(config) {
            return Err(ServerConfigError::NoTls13);
        }
        if tls13.iter().any(|suite| provider::base_of(suite).is_none()) {
            return Err(ServerConfigError::ProviderNotWrapped);
        }
        Ok(())
    }

    /// A sans-IO engine for one connection, holding the key set as it is now.
    pub fn engine(&self) -> EchEngine {
        EchEngine::new(self.shared.clone())
    }

    /// Wraps a blocking connection's IO: rustls reads and writes through it.
    pub fn stream<S>(&self, io: S) -> crate::stream::EchStream<S> {
        crate::stream::EchStream::new(io, self.engine())
    }
}

impl fmt::Debug for EchServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EchServer")
            .field("hpke", &self.shared.hpke.name())
            .field("max_client_hello_len", &self.shared.max_client_hello_len)
            .finish_non_exhaustive()
    }
}

/// rustls keeps a config's protocol versions private; its `Debug` output lists them.
fn tls13_enabled(config: &ServerConfig) -> bool {
    format!("{config:?}").contains("TLSv1_3")
}

impl ServerShared {
    /// The accept filter as it is now, for one connection.
    pub(crate) fn accept_filter(&self) -> Option<Arc<AcceptFilter>> {
        self.accept_filter
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The digests of a delivered ClientHello under each hash the wrapped suites use: the keys
    /// under which the provider wrapper finds the connection's plan.
    pub(crate) fn digests(&self, client_hello: &[u8]) -> Vec<Output> {
        let suites = self.suites.read().unwrap_or_else(|p| p.into_inner());
        let mut seen: Vec<HashAlgorithm> = Vec::with_capacity(2);
        let mut digests = Vec::with_capacity(2);
        for suite in suites.iter() {
            let hash = suite.common.hash_provider;
            if !seen.contains(&hash.algorithm()) {
                seen.push(hash.algorithm());
                digests.push(hash.hash(client_hello));
            }
        }
        digests
    }
}

/// Why a [`ServerConfig`] cannot carry ECH.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerConfigError {
    /// The config's provider did not come from [`EchServer::wrap`].
    ProviderNotWrapped,
    /// The config does not allow TLS 1.3, which ECH requires.
    NoTls13,
}

impl fmt::Display for ServerConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ProviderNotWrapped => {
                f.write_str("the ServerConfig's CryptoProvider was not wrapped by EchServer::wrap")
            }
            Self::NoTls13 => {
                f.write_str("the ServerConfig does not allow TLS 1.3, which ECH needs")
            }
        }
    }
}

impl std::error::Error for ServerConfigError {}
