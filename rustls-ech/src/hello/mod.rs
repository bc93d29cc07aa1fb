//! ClientHello parsing, the `encrypted_client_hello` extension, and ClientHelloInner
//! reconstruction (RFC 9849 §5, §7.1, §7.2), as pure functions over byte slices.
//!
//! The engine reassembles the first handshake message from TLS records and hands this module
//! the complete ClientHello message (4-byte handshake header and body). Parsing borrows: a
//! [`ClientHello`] records the byte range of each field and extension, so callers can edit or
//! rebuild a hello by splicing. The only allocations are the ClientHelloOuterAAD copy and
//! the rebuilt ClientHelloInner, each sized up front.

// The engine drives this layer; items and re-exports it has not started using yet would
// otherwise warn.
#![allow(dead_code, unused_imports)]
// `fuzzing` is set by cargo-fuzz, not by Cargo, so it is not a known cfg.
#![allow(unexpected_cfgs)]

mod client_hello;
mod ech;
mod inner;
mod reader;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

// Test helpers, kept out of ordinary builds and available to fuzz targets.
#[cfg(any(test, fuzzing))]
pub(crate) mod testing;

use core::fmt;

use rustls::AlertDescription;

pub(crate) use client_hello::{
    ClientHello, Extension, Extensions, HANDSHAKE_HEADER_LEN, HANDSHAKE_TYPE_CLIENT_HELLO,
};
pub(crate) use ech::{EchClientHello, EchOuter, EXT_ENCRYPTED_CLIENT_HELLO};
pub(crate) use inner::{
    check_offers_only_tls13, decode_client_hello_inner, is_grease, validate_client_hello_inner,
    EXT_ECH_OUTER_EXTENSIONS, EXT_SUPPORTED_VERSIONS,
};

/// Why a ClientHello, its `encrypted_client_hello` extension or its EncodedClientHelloInner
/// was refused. [`HelloError::alert`] names the alert to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HelloError {
    /// The handshake message is not a ClientHello; carries its `msg_type`.
    NotClientHello(u8),
    /// The message ends inside a field.
    Truncated,
    /// Bytes follow the end of the ClientHello body, or the handshake length disagrees
    /// with the body.
    TrailingData,
    /// `legacy_session_id` is longer than 32 bytes.
    SessionIdTooLong,
    /// `cipher_suites` is empty or has an odd length.
    InvalidCipherSuites,
    /// `legacy_compression_methods` is empty.
    NoCompressionMethods,
    /// The extensions block does not consist of whole extensions.
    MalformedExtensions,
    /// An extension type appears twice (RFC 8446 §4.2), in a ClientHello or in
    /// ClientHelloInner once its outer extensions are expanded.
    DuplicateExtension(u16),
    /// `encrypted_client_hello` is truncated or has bytes after its end (RFC 9849 §5).
    MalformedEchExtension,
    /// `encrypted_client_hello` has an unknown `ECHClientHelloType`.
    UnknownEchClientHelloType(u8),
    /// `encrypted_client_hello` of type outer has an empty `payload`.
    EmptyEchPayload,
    /// Bytes after the ClientHello in EncodedClientHelloInner are not all zero
    /// (RFC 9849 §5.1).
    NonZeroPadding,
    /// EncodedClientHelloInner has a non-empty `legacy_session_id` (RFC 9849 §5.1).
    InnerSessionIdNotEmpty,
    /// `ech_outer_extensions` is not a whole `OuterExtensions<2..254>` list.
    MalformedOuterExtensions,
    /// `ech_outer_extensions` names an extension ClientHelloOuter lacks.
    OuterExtensionMissing(u16),
    /// `ech_outer_extensions` names an extension twice.
    OuterExtensionRepeated(u16),
    /// `ech_outer_extensions` names extensions in an order ClientHelloOuter does not have.
    OuterExtensionOutOfOrder(u16),
    /// `ech_outer_extensions` names `encrypted_client_hello`.
    OuterExtensionsNamesEch,
    /// The rebuilt ClientHelloInner's extensions exceed 2^16-1 bytes.
    InnerExtensionsTooLong(usize),
    /// The rebuilt ClientHelloInner would exceed the caller's limit.
    InnerTooLarge {
        /// Its size, handshake header included.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// ClientHelloInner lacks `encrypted_client_hello` of type inner (RFC 9849 §7.1).
    MissingEchInnerExtension,
    /// ClientHelloInner lacks `supported_versions`, so it cannot offer TLS 1.3 only.
    MissingSupportedVersions,
    /// `supported_versions` is not a whole `versions<2..254>` list.
    MalformedSupportedVersions,
    /// ClientHelloInner does not offer TLS 1.3.
    InnerLacksTls13,
    /// ClientHelloInner offers a version older than TLS 1.3; carries it.
    InnerOffersOldVersion(u16),
    /// The second ClientHello after HelloRetryRequest lacks `encrypted_client_hello`
    /// although the first offered it (RFC 9849 §7.1.1).
    SecondHelloMissingEch,
    /// The second ClientHello's `encrypted_client_hello` is not of type outer.
    SecondHelloNotOuter,
    /// The second ClientHello changed `config_id` or `cipher_suite`.
    SecondHelloChangedParameters,
    /// The second ClientHello's `enc` is not empty.
    SecondHelloEncNotEmpty,
}

impl HelloError {
    /// The alert this error ends the handshake with.
    ///
    /// Syntax errors are `decode_error`; well-formed input that breaks a rule of RFC 8446 or
    /// RFC 9849 is `illegal_parameter`, except a second ClientHello without the extension,
    /// which RFC 9849 §7.1.1 makes `missing_extension`. A rebuilt ClientHelloInner over the
    /// size limit is `decode_error`, as for any oversized handshake message.
    pub fn alert(&self) -> AlertDescription {
        match self {
            Self::NotClientHello(_) => AlertDescription::UnexpectedMessage,
            Self::Truncated
            | Self::TrailingData
            | Self::SessionIdTooLong
            | Self::InvalidCipherSuites
            | Self::NoCompressionMethods
            | Self::MalformedExtensions
            | Self::MalformedEchExtension
            | Self::UnknownEchClientHelloType(_)
            | Self::EmptyEchPayload
            | Self::MalformedOuterExtensions
            | Self::InnerExtensionsTooLong(_)
            | Self::InnerTooLarge { .. }
            | Self::MalformedSupportedVersions => AlertDescription::DecodeError,
            Self::DuplicateExtension(_)
            | Self::NonZeroPadding
            | Self::InnerSessionIdNotEmpty
            | Self::OuterExtensionMissing(_)
            | Self::OuterExtensionRepeated(_)
            | Self::OuterExtensionOutOfOrder(_)
            | Self::OuterExtensionsNamesEch
            | Self::MissingEchInnerExtension
            | Self::MissingSupportedVersions
            | Self::InnerLacksTls13
            | Self::InnerOffersOldVersion(_)
            | Self::SecondHelloNotOuter
            | Self::SecondHelloChangedParameters
            | Self::SecondHelloEncNotEmpty => AlertDescription::IllegalParameter,
            Self::SecondHelloMissingEch => AlertDescription::MissingExtension,
        }
    }
}

impl fmt::Display for HelloError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotClientHello(msg_type) => {
                write!(f, "handshake message type {msg_type} is not a ClientHello")
            }
            Self::Truncated => f.write_str("ClientHello is truncated"),
            Self::TrailingData => f.write_str("bytes follow the ClientHello"),
            Self::SessionIdTooLong => f.write_str("legacy_session_id is longer than 32 bytes"),
            Self::InvalidCipherSuites => f.write_str("cipher_suites is empty or odd"),
            Self::NoCompressionMethods => f.write_str("legacy_compression_methods is empty"),
            Self::MalformedExtensions => f.write_str("malformed ClientHello extensions"),
            Self::DuplicateExtension(ext_type) => {
                write!(f, "extension 0x{ext_type:04x} appears twice")
            }
            Self::MalformedEchExtension => f.write_str("malformed encrypted_client_hello"),
            Self::UnknownEchClientHelloType(ech_type) => {
                write!(f, "unknown ECHClientHelloType {ech_type}")
            }
            Self::EmptyEchPayload => f.write_str("encrypted_client_hello payload is empty"),
            Self::NonZeroPadding => f.write_str("EncodedClientHelloInner padding is not zero"),
            Self::InnerSessionIdNotEmpty => {
                f.write_str("EncodedClientHelloInner legacy_session_id is not empty")
            }
            Self::MalformedOuterExtensions => f.write_str("malformed ech_outer_extensions"),
            Self::OuterExtensionMissing(ext_type) => write!(
                f,
                "ech_outer_extensions names 0x{ext_type:04x}, absent from ClientHelloOuter"
            ),
            Self::OuterExtensionRepeated(ext_type) => {
                write!(f, "ech_outer_extensions names 0x{ext_type:04x} twice")
            }
            Self::OuterExtensionOutOfOrder(ext_type) => write!(
                f,
                "ech_outer_extensions names 0x{ext_type:04x} out of ClientHelloOuter's order"
            ),
            Self::OuterExtensionsNamesEch => {
                f.write_str("ech_outer_extensions names encrypted_client_hello")
            }
            Self::InnerExtensionsTooLong(len) => {
                write!(f, "ClientHelloInner extensions are {len} bytes long")
            }
            Self::InnerTooLarge { len, max } => {
                write!(
                    f,
                    "ClientHelloInner is {len} bytes, over the limit of {max}"
                )
            }
            Self::MissingEchInnerExtension => {
                f.write_str("ClientHelloInner lacks encrypted_client_hello of type inner")
            }
            Self::MissingSupportedVersions => {
                f.write_str("ClientHelloInner lacks supported_versions")
            }
            Self::MalformedSupportedVersions => f.write_str("malformed supported_versions"),
            Self::InnerLacksTls13 => f.write_str("ClientHelloInner does not offer TLS 1.3"),
            Self::InnerOffersOldVersion(version) => {
                write!(f, "ClientHelloInner offers version 0x{version:04x}")
            }
            Self::SecondHelloMissingEch => {
                f.write_str("second ClientHello lacks encrypted_client_hello")
            }
            Self::SecondHelloNotOuter => {
                f.write_str("second ClientHello's encrypted_client_hello is not outer")
            }
            Self::SecondHelloChangedParameters => {
                f.write_str("second ClientHello changed ECH config_id or cipher_suite")
            }
            Self::SecondHelloEncNotEmpty => {
                f.write_str("second ClientHello's encrypted_client_hello has a non-empty enc")
            }
        }
    }
}

impl std::error::Error for HelloError {}
