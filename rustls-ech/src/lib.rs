//! Server-side Encrypted Client Hello (ECH, RFC 9849) for stock rustls 0.23.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod hpke;
pub mod keyfile;
pub mod keys;
pub mod suite;
