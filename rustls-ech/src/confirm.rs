//! ECH acceptance confirmation (RFC 9849 §7.2 and §7.2.1).
//!
//! The server signals acceptance with eight bytes derived from ClientHelloInner.random and the
//! transcript. The provider wrapper computes them as rustls hashes ServerHello or
//! HelloRetryRequest, edits the transcript, and hands the edited message to the byte engine,
//! which sends it in place of rustls's.

use rustls::crypto::hash::Output;
use rustls::crypto::tls13::Hkdf;

use crate::wire;

/// Length of `accept_confirmation` and of the HelloRetryRequest confirmation.
pub(crate) const CONFIRMATION_LEN: usize = 8;

/// Which confirmation is computed: it selects the HKDF label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Confirmation {
    /// In `ServerHello.random[24..32]` (§7.2).
    ServerHello,
    /// In the `encrypted_client_hello` extension of HelloRetryRequest (§7.2.1).
    HelloRetryRequest,
}

impl Confirmation {
    fn label(self) -> &'static [u8] {
        match self {
            Self::ServerHello => b"ech accept confirmation",
            Self::HelloRetryRequest => b"hrr ech accept confirmation",
        }
    }
}

/// `HKDF-Expand-Label(HKDF-Extract(0, ClientHelloInner.random), label, transcript_hash, 8)`.
///
/// `transcript_hash` is the hash of the transcript with the confirmation bytes zeroed, computed
/// with the negotiated suite's hash; `hkdf` is that suite's HKDF.
pub(crate) fn compute(
    hkdf: &dyn Hkdf,
    kind: Confirmation,
    inner_random: &[u8; 32],
    transcript_hash: &[u8],
) -> [u8; CONFIRMATION_LEN] {
    // HKDF-Extract with an all-zero salt of hash length; `None` means exactly that (RFC 5869 §2.2).
    let expander = hkdf.extract_from_secret(None, inner_random);

    // HkdfLabel of RFC 8446 §7.1: length, "tls13 " || label, context.
    let label = kind.label();
    let length = (CONFIRMATION_LEN as u16).to_be_bytes();
    let label_len = [(b"tls13 ".len() + label.len()) as u8];
    let context_len = [transcript_hash.len() as u8];
    let info: [&[u8]; 6] = [
        &length,
        &label_len,
        b"tls13 ",
        label,
        &context_len,
        transcript_hash,
    ];

    let mut out = [0u8; CONFIRMATION_LEN];
    // Eight bytes is far below HKDF's limit of 255 hash lengths, so this cannot fail.
    let _ = expander.expand_slice(&info, &mut out);
    out
}

/// ServerHello with `accept_confirmation` in `random[24..32]` (RFC 9849 §7.2).
///
/// `transcript_hash` hashes the transcript so far followed by the given message.
pub(crate) fn confirm_server_hello(
    hkdf: &dyn Hkdf,
    inner_random: &[u8; 32],
    message: &[u8],
    transcript_hash: &mut dyn FnMut(&[u8]) -> Output,
) -> Option<Vec<u8>> {
    let range = wire::server_hello_confirmation_range(message)?;
    let mut edited = message.to_vec();
    edited[range.clone()].fill(0);
    let hash = transcript_hash(&edited);
    edited[range].copy_from_slice(&compute(
        hkdf,
        Confirmation::ServerHello,
        inner_random,
        hash.as_ref(),
    ));
    Some(edited)
}

/// HelloRetryRequest with an `encrypted_client_hello` extension carrying the HelloRetryRequest
/// confirmation (RFC 9849 §7.2.1). `transcript_hash` is as for [`confirm_server_hello`].
pub(crate) fn confirm_hello_retry_request(
    hkdf: &dyn Hkdf,
    inner_random: &[u8; 32],
    message: &[u8],
    transcript_hash: &mut dyn FnMut(&[u8]) -> Output,
) -> Option<Vec<u8>> {
    let (mut edited, range) = wire::add_hrr_confirmation_extension(message)?;
    let hash = transcript_hash(&edited);
    let confirmation = compute(
        hkdf,
        Confirmation::HelloRetryRequest,
        inner_random,
        hash.as_ref(),
    );
    edited[range].copy_from_slice(&confirmation);
    Some(edited)
}
