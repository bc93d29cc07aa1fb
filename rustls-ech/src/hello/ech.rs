//! The `encrypted_client_hello` ClientHello extension (RFC 9849 §5), the AAD built from
//! ClientHelloOuter (§5.2), and the checks on a second ClientHelloOuter (§7.1.1).

use core::ops::Range;

use super::client_hello::ClientHello;
use super::reader::Reader;
use super::HelloError;
use crate::suite::{Aead, Kdf, SymmetricSuite};

/// `ExtensionType.encrypted_client_hello` (RFC 9849 §11.1).
pub(crate) const EXT_ENCRYPTED_CLIENT_HELLO: u16 = 0xfe0d;

const ECH_CLIENT_HELLO_TYPE_OUTER: u8 = 0;
const ECH_CLIENT_HELLO_TYPE_INNER: u8 = 1;

/// An `ECHClientHello` (RFC 9849 §5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EchClientHello {
    /// `ECHClientHelloType.outer`: the extension of a ClientHelloOuter.
    Outer(EchOuter),
    /// `ECHClientHelloType.inner`: the extension of a ClientHelloInner, with no content.
    Inner,
}

/// The fields of an outer `ECHClientHello` (RFC 9849 §5). The ranges index the buffer of the
/// [`ClientHello`] it was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EchOuter {
    /// `cipher_suite`: the KDF and AEAD the client chose from the ECHConfig.
    pub(crate) cipher_suite: SymmetricSuite,
    /// `config_id` of the ECHConfig the client used.
    pub(crate) config_id: u8,
    /// `enc`: the HPKE encapsulated key, empty in a second ClientHelloOuter.
    pub(crate) enc: Range<usize>,
    /// `payload`: the encrypted EncodedClientHelloInner.
    pub(crate) payload: Range<usize>,
}

impl EchClientHello {
    /// Parses the `extension_data` at `data` within `bytes` (RFC 9849 §5).
    ///
    /// Truncation, bytes after the structure, an unknown `ECHClientHelloType` and an empty
    /// `payload` (the RFC's minimum length is 1) are all syntax errors: `decode_error`.
    pub(crate) fn parse(bytes: &[u8], data: &Range<usize>) -> Result<Self, HelloError> {
        let mut reader = Reader::bounded(bytes, data.start, data.end)
            .ok_or(HelloError::MalformedEchExtension)?;
        let ech = match reader.u8().ok_or(HelloError::MalformedEchExtension)? {
            ECH_CLIENT_HELLO_TYPE_OUTER => Self::Outer(parse_outer(&mut reader)?),
            ECH_CLIENT_HELLO_TYPE_INNER => Self::Inner,
            other => return Err(HelloError::UnknownEchClientHelloType(other)),
        };
        if !reader.is_empty() {
            return Err(HelloError::MalformedEchExtension);
        }
        Ok(ech)
    }
}

fn parse_outer(reader: &mut Reader<'_>) -> Result<EchOuter, HelloError> {
    const MALFORMED: HelloError = HelloError::MalformedEchExtension;
    let kdf = reader.u16().ok_or(MALFORMED)?;
    let aead = reader.u16().ok_or(MALFORMED)?;
    let config_id = reader.u8().ok_or(MALFORMED)?;
    let enc = reader.vec_u16().ok_or(MALFORMED)?;
    let payload = reader.vec_u16().ok_or(MALFORMED)?;
    if payload.is_empty() {
        return Err(HelloError::EmptyEchPayload);
    }
    Ok(EchOuter {
        cipher_suite: SymmetricSuite {
            kdf: Kdf::from(kdf),
            aead: Aead::from(aead),
        },
        config_id,
        enc,
        payload,
    })
}

impl ClientHello<'_> {
    /// The `encrypted_client_hello` extension, if present (RFC 9849 §5).
    pub(crate) fn ech(&self) -> Result<Option<EchClientHello>, HelloError> {
        self.extension(EXT_ENCRYPTED_CLIENT_HELLO)
            .map(|ext| EchClientHello::parse(self.bytes(), &ext.data))
            .transpose()
    }

    /// `ClientHelloOuterAAD` (RFC 9849 §5.2): this hello's body, without the handshake
    /// header, with the bytes of `outer.payload` replaced by zeros.
    ///
    /// `outer` must have been read from this hello; a payload that does not lie in the body
    /// is left unzeroed, so decryption fails and ECH is rejected rather than the server
    /// panicking.
    pub(crate) fn client_hello_outer_aad(&self, outer: &EchOuter) -> Vec<u8> {
        let body = self.body_range();
        let mut aad = self.body().to_vec();
        let payload = outer.payload.start.wrapping_sub(body.start)
            ..outer.payload.end.wrapping_sub(body.start);
        match aad.get_mut(payload) {
            Some(payload) => payload.fill(0),
            None => debug_assert!(false, "ECH payload outside the ClientHelloOuter body"),
        }
        aad
    }

    /// Whether this is a bare ClientHelloInner, as a split-mode backend server receives it
    /// (RFC 9849 §7.2): it carries `encrypted_client_hello` of type inner. Its versions are not
    /// checked: §7.2 has the backend confirm ECH only when it negotiates TLS 1.3, and handle
    /// any other version as an ordinary handshake.
    pub(crate) fn is_bare_inner(&self) -> Result<bool, HelloError> {
        Ok(matches!(self.ech()?, Some(EchClientHello::Inner)))
    }

    /// Checks a second ClientHelloOuter, sent after HelloRetryRequest, against the first
    /// (RFC 9849 §7.1.1), returning its `encrypted_client_hello` extension.
    ///
    /// The extension must be present (`missing_extension`), be of type outer, keep the
    /// first hello's `config_id` and `cipher_suite`, and carry an empty `enc`
    /// (`illegal_parameter`): the client reuses the HPKE context of the first hello.
    pub(crate) fn check_second_outer(
        &self,
        cipher_suite: SymmetricSuite,
        config_id: u8,
    ) -> Result<EchOuter, HelloError> {
        let outer = match self.ech()? {
            None => return Err(HelloError::SecondHelloMissingEch),
            Some(EchClientHello::Inner) => return Err(HelloError::SecondHelloNotOuter),
            Some(EchClientHello::Outer(outer)) => outer,
        };
        if outer.config_id != config_id || outer.cipher_suite != cipher_suite {
            return Err(HelloError::SecondHelloChangedParameters);
        }
        if !outer.enc.is_empty() {
            return Err(HelloError::SecondHelloEncNotEmpty);
        }
        Ok(outer)
    }
}
