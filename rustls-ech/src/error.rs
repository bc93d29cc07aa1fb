//! Errors of the ECH layer, and the one place they become TLS alerts.

use core::fmt;

use rustls::AlertDescription;

pub use crate::hello::HelloError as ClientHelloError;

/// Why the ECH engine ended a handshake. Each error has one alert, sent to the peer before
/// the error is returned (see [`EchError::alert`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EchError {
    /// A ClientHello, ClientHelloInner or `encrypted_client_hello` extension was malformed or
    /// broke a rule of RFC 8446 or RFC 9849.
    ClientHello(ClientHelloError),
    /// ClientHello2 after HelloRetryRequest did not decrypt under the HPKE context of
    /// ClientHello1 (RFC 9849 §7.1.1).
    SecondHelloDecryptFailed,
    /// The ClientHello announced a length above the configured bound; it was not buffered.
    ClientHelloTooLarge {
        /// The announced length of the handshake message, header included.
        len: usize,
        /// The configured bound.
        max: usize,
    },
    /// The first handshake message was not a ClientHello.
    UnexpectedMessage,
    /// A record header announced more than a TLS record may carry.
    RecordOverflow,
    /// The engine already ended this connection.
    ConnectionFailed,
}

impl EchError {
    /// The alert this error ends the handshake with.
    pub fn alert(&self) -> AlertDescription {
        match self {
            Self::ClientHello(error) => error.alert(),
            Self::SecondHelloDecryptFailed => AlertDescription::DecryptError,
            Self::ClientHelloTooLarge { .. } => AlertDescription::HandshakeFailure,
            Self::UnexpectedMessage => AlertDescription::UnexpectedMessage,
            Self::RecordOverflow => AlertDescription::RecordOverflow,
            Self::ConnectionFailed => AlertDescription::InternalError,
        }
    }
}

impl fmt::Display for EchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientHello(error) => write!(f, "invalid ClientHello: {error}"),
            Self::SecondHelloDecryptFailed => {
                f.write_str("ClientHello2 did not decrypt under the ECH context of ClientHello1")
            }
            Self::ClientHelloTooLarge { len, max } => {
                write!(
                    f,
                    "ClientHello of {len} bytes exceeds the limit of {max} bytes"
                )
            }
            Self::UnexpectedMessage => {
                f.write_str("the first handshake message is not a ClientHello")
            }
            Self::RecordOverflow => f.write_str("a record exceeds the TLS maximum length"),
            Self::ConnectionFailed => f.write_str("the connection already failed"),
        }
    }
}

impl std::error::Error for EchError {}

impl From<EchError> for std::io::Error {
    fn from(error: EchError) -> Self {
        Self::new(std::io::ErrorKind::InvalidData, error)
    }
}
