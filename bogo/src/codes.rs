//! Errors as the runner expects to read them: BoringSSL's reason codes, such as
//! `:DECODE_ERROR:`. Where rustls cannot tell two of BoringSSL's failures apart, the config's
//! `ErrorMap` lists the alternatives.

use rustls::{
    AlertDescription, CertificateError, Error, InvalidMessage, PeerIncompatible, PeerMisbehaved,
};
use rustls_ech::{ClientHelloError, EchError};

/// The BoringSSL code for an error of the ECH layer.
pub fn ech_code(error: &EchError) -> &'static str {
    match error {
        EchError::ClientHello(hello) => hello_code(hello),
        EchError::SecondHelloDecryptFailed => ":DECRYPTION_FAILED:",
        EchError::ClientHelloTooLarge { .. } => ":EXCESSIVE_MESSAGE_SIZE:",
        EchError::UnexpectedMessage => ":UNEXPECTED_MESSAGE:",
        EchError::RecordOverflow => ":ENCRYPTED_LENGTH_TOO_LONG:",
        _ => ":ECH_LAYER_FAILED:",
    }
}

fn hello_code(error: &ClientHelloError) -> &'static str {
    use ClientHelloError as E;
    match error {
        E::NotClientHello(_) => ":UNEXPECTED_MESSAGE:",
        E::Truncated
        | E::TrailingData
        | E::SessionIdTooLong
        | E::InvalidCipherSuites
        | E::NoCompressionMethods
        | E::MalformedExtensions => ":CLIENTHELLO_PARSE_FAILED:",
        E::DuplicateExtension(_) => ":DUPLICATE_EXTENSION:",
        E::MalformedEchExtension | E::UnknownEchClientHelloType(_) | E::EmptyEchPayload => {
            ":ERROR_PARSING_EXTENSION:"
        }
        E::NonZeroPadding | E::InnerSessionIdNotEmpty | E::SecondHelloChangedParameters => {
            ":DECODE_ERROR:"
        }
        E::MalformedOuterExtensions
        | E::OuterExtensionMissing(_)
        | E::OuterExtensionRepeated(_)
        | E::OuterExtensionOutOfOrder(_)
        | E::OuterExtensionsNamesEch => ":INVALID_OUTER_EXTENSION:",
        E::MissingEchInnerExtension
        | E::MissingSupportedVersions
        | E::MalformedSupportedVersions
        | E::InnerLacksTls13
        | E::InnerOffersOldVersion(_)
        | E::InnerExtensionsTooLong(_)
        | E::InnerTooLarge { .. } => ":INVALID_CLIENT_HELLO_INNER:",
        E::SecondHelloMissingEch => ":MISSING_EXTENSION:",
        E::SecondHelloNotOuter | E::SecondHelloEncNotEmpty => ":INCONSISTENT_ECH_NEGOTIATION:",
    }
}

/// The BoringSSL code for a rustls error.
pub fn rustls_code(error: &Error) -> &'static str {
    match error {
        Error::InappropriateMessage { .. } | Error::InappropriateHandshakeMessage { .. } => {
            ":UNEXPECTED_MESSAGE:"
        }
        Error::InvalidMessage(message) => invalid_message_code(message),
        Error::NoCertificatesPresented => ":PEER_DID_NOT_RETURN_A_CERTIFICATE:",
        Error::DecryptError => ":DECRYPTION_FAILED_OR_BAD_RECORD_MAC:",
        Error::PeerIncompatible(why) => incompatible_code(why),
        Error::PeerMisbehaved(why) => misbehaved_code(why),
        Error::AlertReceived(alert) => alert_code(*alert),
        Error::InvalidCertificate(why) => certificate_code(why),
        Error::PeerSentOversizedRecord => ":ENCRYPTED_LENGTH_TOO_LONG:",
        Error::NoApplicationProtocol => ":NO_APPLICATION_PROTOCOL:",
        _ => ":RUSTLS_ERROR:",
    }
}

fn certificate_code(why: &CertificateError) -> &'static str {
    match why {
        CertificateError::BadSignature => ":BAD_SIGNATURE:",
        CertificateError::BadEncoding => ":CANNOT_PARSE_LEAF_CERT:",
        CertificateError::UnsupportedSignatureAlgorithmContext { .. }
        | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            ":WRONG_SIGNATURE_TYPE:"
        }
        _ => ":CERTIFICATE_VERIFY_FAILED:",
    }
}

fn invalid_message_code(message: &InvalidMessage) -> &'static str {
    match message {
        InvalidMessage::InvalidContentType | InvalidMessage::UnknownProtocolVersion => {
            ":WRONG_VERSION_NUMBER:"
        }
        InvalidMessage::MessageTooLarge => ":ENCRYPTED_LENGTH_TOO_LONG:",
        InvalidMessage::HandshakePayloadTooLarge | InvalidMessage::CertificatePayloadTooLarge => {
            ":EXCESSIVE_MESSAGE_SIZE:"
        }
        InvalidMessage::InvalidCcs => ":BAD_CHANGE_CIPHER_SPEC:",
        InvalidMessage::InvalidEmptyPayload => ":UNEXPECTED_RECORD:",
        InvalidMessage::DuplicateExtension(_) => ":DUPLICATE_EXTENSION:",
        InvalidMessage::PreSharedKeyIsNotFinalExtension => ":PRE_SHARED_KEY_MUST_BE_LAST:",
        InvalidMessage::InvalidKeyUpdate => ":BAD_HANDSHAKE_RECORD:",
        InvalidMessage::UnexpectedMessage(_) => ":UNEXPECTED_MESSAGE:",
        InvalidMessage::UnsupportedCompression => ":UNSUPPORTED_COMPRESSION_ALGORITHM:",
        InvalidMessage::InvalidServerName => ":BAD_EXTENSION:",
        _ => ":DECODE_ERROR:",
    }
}

fn incompatible_code(why: &PeerIncompatible) -> &'static str {
    match why {
        PeerIncompatible::NoCipherSuitesInCommon => ":NO_SHARED_CIPHER:",
        PeerIncompatible::NoKxGroupsInCommon | PeerIncompatible::NamedGroupsExtensionRequired => {
            ":NO_SHARED_GROUP:"
        }
        PeerIncompatible::NoSignatureSchemesInCommon
        | PeerIncompatible::SignatureAlgorithmsExtensionRequired => {
            ":NO_COMMON_SIGNATURE_ALGORITHMS:"
        }
        PeerIncompatible::ExtendedMasterSecretExtensionRequired => {
            ":EXTENDED_MASTER_SECRET_NOT_SUPPORTED:"
        }
        PeerIncompatible::SupportedVersionsExtensionRequired
        | PeerIncompatible::Tls12NotOffered
        | PeerIncompatible::Tls12NotOfferedOrEnabled
        | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig => ":UNSUPPORTED_PROTOCOL:",
        PeerIncompatible::KeyShareExtensionRequired => ":MISSING_KEY_SHARE:",
        PeerIncompatible::NullCompressionRequired => ":INVALID_COMPRESSION_LIST:",
        _ => ":INCOMPATIBLE:",
    }
}

fn misbehaved_code(why: &PeerMisbehaved) -> &'static str {
    use PeerMisbehaved as P;
    match why {
        P::DuplicateClientHelloExtensions => ":DUPLICATE_EXTENSION:",
        P::IncorrectBinder => ":DIGEST_CHECK_FAILED:",
        P::InvalidKeyShare => ":BAD_ECPOINT:",
        P::MissingKeyShare => ":MISSING_KEY_SHARE:",
        P::MissingPskModesExtension => ":MISSING_EXTENSION:",
        P::OfferedDuplicateKeyShares => ":DUPLICATE_KEY_SHARE:",
        P::WrongGroupForKeyShare => ":WRONG_CURVE:",
        P::PskExtensionMustBeLast => ":PRE_SHARED_KEY_MUST_BE_LAST:",
        P::PskExtensionWithMismatchedIdsAndBinders => ":PSK_IDENTITY_BINDER_COUNT_MISMATCH:",
        P::MissingBinderInPskExtension => ":DECODE_ERROR:",
        P::MissingPskExtensionInSecondClientHello => ":MISSING_EXTENSION:",
        P::TooMuchEarlyDataReceived => ":TOO_MUCH_READ_EARLY_DATA:",
        P::TooManyKeyUpdateRequests => ":TOO_MANY_KEY_UPDATES:",
        P::TooManyWarningAlertsReceived => ":TOO_MANY_WARNING_ALERTS:",
        P::TooManyEmptyFragments => ":TOO_MANY_EMPTY_FRAGMENTS:",
        P::KeyEpochWithPendingFragment => ":EXCESS_HANDSHAKE_DATA:",
        P::MessageInterleavedWithHandshakeMessage
        | P::RejectedEarlyDataInterleavedWithHandshakeMessage => ":UNEXPECTED_RECORD:",
        P::IllegalMiddleboxChangeCipherSpec => ":UNEXPECTED_RECORD:",
        P::IllegalTlsInnerPlaintext => ":DECRYPTION_FAILED_OR_BAD_RECORD_MAC:",
        P::OfferedIncorrectCompressions => ":INVALID_COMPRESSION_LIST:",
        P::OfferedEmptyApplicationProtocol => ":PARSE_TLSEXT:",
        P::SignedHandshakeWithUnadvertisedSigScheme => ":WRONG_SIGNATURE_TYPE:",
        P::UnexpectedCleartextExtension => ":UNEXPECTED_EXTENSION:",
        P::EarlyDataAttemptedInSecondClientHello => ":UNEXPECTED_EXTENSION:",
        P::RefusedToFollowHelloRetryRequest => ":WRONG_CURVE:",
        P::ResumptionOfferedWithVariedEms | P::ResumptionAttemptedWithVariedEms => {
            ":RESUMED_EMS_SESSION_WITHOUT_EMS_EXTENSION:"
        }
        P::DuplicateServerNameTypes | P::ServerNameMustContainOneHostName => ":DECODE_ERROR:",
        P::InvalidCertCompression => ":CERT_DECOMPRESSION_FAILED:",
        P::OfferedDuplicateCertificateCompressions => ":ERROR_PARSING_EXTENSION:",
        _ => ":PEER_MISBEHAVED:",
    }
}

/// BoringSSL names a received fatal alert `:TLSV1_ALERT_<NAME>:` or, for alerts SSLv3 had,
/// `:SSLV3_ALERT_<NAME>:`.
fn alert_code(alert: AlertDescription) -> &'static str {
    match alert {
        AlertDescription::CloseNotify => ":SSLV3_ALERT_CLOSE_NOTIFY:",
        AlertDescription::UnexpectedMessage => ":SSLV3_ALERT_UNEXPECTED_MESSAGE:",
        AlertDescription::BadRecordMac => ":SSLV3_ALERT_BAD_RECORD_MAC:",
        AlertDescription::HandshakeFailure => ":SSLV3_ALERT_HANDSHAKE_FAILURE:",
        AlertDescription::BadCertificate => ":SSLV3_ALERT_BAD_CERTIFICATE:",
        AlertDescription::CertificateUnknown => ":SSLV3_ALERT_CERTIFICATE_UNKNOWN:",
        AlertDescription::IllegalParameter => ":SSLV3_ALERT_ILLEGAL_PARAMETER:",
        AlertDescription::RecordOverflow => ":TLSV1_ALERT_RECORD_OVERFLOW:",
        AlertDescription::DecodeError => ":TLSV1_ALERT_DECODE_ERROR:",
        AlertDescription::DecryptError => ":TLSV1_ALERT_DECRYPT_ERROR:",
        AlertDescription::ProtocolVersion => ":TLSV1_ALERT_PROTOCOL_VERSION:",
        AlertDescription::InternalError => ":TLSV1_ALERT_INTERNAL_ERROR:",
        AlertDescription::UserCanceled => ":TLSV1_ALERT_USER_CANCELLED:",
        AlertDescription::NoApplicationProtocol => ":TLSV1_ALERT_NO_APPLICATION_PROTOCOL:",
        AlertDescription::CertificateRequired => ":TLSV1_ALERT_CERTIFICATE_REQUIRED:",
        _ => ":TLSV1_ALERT_OTHER:",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ech_failures_use_boringssl_codes() {
        let cases = [
            (
                EchError::ClientHello(ClientHelloError::OuterExtensionOutOfOrder(10)),
                ":INVALID_OUTER_EXTENSION:",
            ),
            (
                EchError::ClientHello(ClientHelloError::InnerOffersOldVersion(0x0303)),
                ":INVALID_CLIENT_HELLO_INNER:",
            ),
            (
                EchError::ClientHello(ClientHelloError::SecondHelloMissingEch),
                ":MISSING_EXTENSION:",
            ),
            (EchError::SecondHelloDecryptFailed, ":DECRYPTION_FAILED:"),
        ];
        for (error, code) in cases {
            assert_eq!(ech_code(&error), code, "{error:?}");
        }
    }
}
