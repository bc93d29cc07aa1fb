//! Server-side Encrypted Client Hello (ECH, RFC 9849) for stock rustls 0.23.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
mod confirm;
mod engine;
mod error;
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
pub use keys::{EchKey, EchKeyStore, EchKeys};
pub use server::{EchServer, ServerConfigError, DEFAULT_MAX_CLIENT_HELLO_LEN, DEFAULT_RECORD_ROOM};
pub use stream::EchStream;
#[cfg(feature = "tokio")]
pub use tokio::{EchAcceptor, EchIo};

/// Introspection for this crate's own tests; not part of the API.
#[doc(hidden)]
pub mod __test_support {
    /// How many ClientHello registrations the provider wrapper holds right now.
    pub fn live_registrations() -> usize {
        crate::provider::registry::len()
    }
}
