//! Server-side Encrypted Client Hello (ECH, [RFC 9849]) for stock rustls 0.23.
//!
//! rustls clients speak ECH; rustls servers have no hook for it. This crate adds the server
//! side without a fork:
//!
//! - an [`EchEngine`] sits between a connection's IO and rustls: it decrypts
//!   ClientHelloOuter and hands rustls ClientHelloInner (RFC 9849 §7.1), and puts the
//!   acceptance confirmation in ServerHello and HelloRetryRequest (§7.2, §7.2.1);
//! - [`EchServer::wrap`] wraps the [`rustls::crypto::CryptoProvider`], so the same edits reach
//!   rustls's transcript, and rejected clients receive `retry_configs` (§7.1);
//! - [`EchStream`] (std) and `EchAcceptor` / `EchIo` (tokio, feature `tokio`) are the
//!   adapters; once ServerHello is out, bytes pass straight through them.
//!
//! Keys come from the [`config`], [`keyfile`] and [`keys`] modules; HPKE runs through rustls's
//! own [`rustls::crypto::hpke::Hpke`] trait ([`hpke`]).
//!
//! On rejection the handshake continues on ClientHelloOuter, so your certificate resolver sees
//! the outer server name (the config's `public_name`): it must have a certificate for it.
//!
//! # Example
//!
//! A server with one fresh key, and rustls's own ECH client, in memory:
//!
//! ```
//! use std::sync::Arc;
//! use rustls::client::{EchConfig, EchMode, EchStatus as ClientStatus};
//! use rustls::pki_types::{EchConfigListBytes, PrivateKeyDer};
//! use rustls_ech::config::{EchConfigBuilder, EchConfigList};
//! use rustls_ech::{EchKey, EchKeys, EchServer, EchStatus};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // An ECH key for the public name, and the server that holds it.
//! let (config, private_key) = EchConfigBuilder::new("public.example").config_id(1).generate()?;
//! let list = EchConfigList::new(vec![config.clone()])?; // what DNS publishes
//! let ech = EchServer::new(EchKeys::new(vec![EchKey::new(config, private_key, true)])?);
//!
//! // An ordinary rustls ServerConfig, on the wrapped provider.
//! let cert = rcgen::generate_simple_self_signed(["secret.example".to_string()])?;
//! let provider = Arc::new(ech.wrap(rustls::crypto::aws_lc_rs::default_provider()));
//! let server_config = rustls::ServerConfig::builder_with_provider(provider)
//!     .with_safe_default_protocol_versions()?
//!     .with_no_client_auth()
//!     .with_single_cert(
//!         vec![cert.cert.der().clone()],
//!         PrivateKeyDer::try_from(cert.signing_key.serialize_der())?,
//!     )?;
//! ech.check_config(&server_config)?;
//!
//! // rustls's ECH client, trusting the test certificate.
//! let mut roots = rustls::RootCertStore::empty();
//! roots.add(cert.cert.der().clone())?;
//! let hpke = rustls::crypto::aws_lc_rs::hpke::ALL_SUPPORTED_SUITES;
//! let ech_mode = EchMode::Enable(EchConfig::new(EchConfigListBytes::from(list.encoded()), hpke)?);
//! let client_provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
//! let client_config = rustls::ClientConfig::builder_with_provider(client_provider)
//!     .with_ech(ech_mode)?
//!     .with_root_certificates(roots)
//!     .with_no_client_auth();
//!
//! let mut client =
//!     rustls::ClientConnection::new(Arc::new(client_config), "secret.example".try_into()?)?;
//! let mut server = rustls::ServerConnection::new(Arc::new(server_config))?;
//! let mut engine = ech.engine();
//!
//! // Pump bytes: client -> engine -> server, and server -> engine -> client.
//! while client.is_handshaking() || server.is_handshaking() {
//!     let (mut wire, mut to_server, mut to_client) = (Vec::new(), Vec::new(), Vec::new());
//!     client.write_tls(&mut wire)?;
//!     engine.receive(&wire, &mut to_server, &mut to_client)?;
//!     server.read_tls(&mut &to_server[..])?;
//!     server.process_new_packets()?;
//!     let mut out = Vec::new();
//!     server.write_tls(&mut out)?;
//!     engine.send(&out, &mut to_client)?;
//!     client.read_tls(&mut &to_client[..])?;
//!     client.process_new_packets()?;
//! }
//!
//! assert_eq!(client.ech_status(), ClientStatus::Accepted);
//! assert_eq!(server.server_name(), Some("secret.example"));
//! assert!(matches!(engine.status(), Some(EchStatus::Accepted { config_id: 1, .. })));
//! # Ok(()) }
//! ```
//!
//! [RFC 9849]: https://www.rfc-editor.org/rfc/rfc9849
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
mod confirm;
mod engine;
mod error;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
mod hello;
pub mod hpke;
pub mod keyfile;
pub mod keys;
mod provider;
mod server;
mod stream;
pub mod suite;
#[cfg(feature = "tokio")]
mod tokio;
mod wire;

pub use engine::{EchEngine, EchStatus};
pub use error::{ClientHelloError, EchError};
pub use keys::{EchKey, EchKeyReloader, EchKeyStore, EchKeys};
pub use server::{EchServer, ServerConfigError, DEFAULT_MAX_CLIENT_HELLO_LEN};
pub use stream::EchStream;
#[cfg(feature = "tokio")]
pub use tokio::{EchAcceptor, EchIo, DEFAULT_CLIENT_HELLO_TIMEOUT};

/// Introspection for this crate's own tests; not part of the API.
#[doc(hidden)]
pub mod __test_support {
    /// How many ClientHello registrations the provider wrapper holds right now.
    pub fn live_registrations() -> usize {
        crate::provider::registry::len()
    }
}
