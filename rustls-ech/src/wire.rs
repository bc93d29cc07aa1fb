//! Small TLS wire helpers shared by the engine and the provider wrapper: record framing and the
//! edits both apply to server messages, so that the wire and the transcript change alike.

use core::ops::Range;

/// Handshake message types this crate looks at (RFC 8446 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum HandshakeType {
    ClientHello = 1,
    ServerHello = 2,
    EncryptedExtensions = 8,
    MessageHash = 254,
}

/// TLS record content types (RFC 8446 §5.1).
pub(crate) const CONTENT_CHANGE_CIPHER_SPEC: u8 = 20;
pub(crate) const CONTENT_ALERT: u8 = 21;
pub(crate) const CONTENT_HANDSHAKE: u8 = 22;
pub(crate) const CONTENT_APPLICATION_DATA: u8 = 23;

/// A record header's size.
pub(crate) const RECORD_HEADER_LEN: usize = 5;
/// The largest plaintext fragment a record may carry (RFC 8446 §5.1).
pub(crate) const MAX_FRAGMENT_LEN: usize = 1 << 14;

/// The `encrypted_client_hello` extension type (RFC 9849 §5).
pub(crate) const EXT_ENCRYPTED_CLIENT_HELLO: u16 = 0xfe0d;

/// `ServerHello.random` of a HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3).
const HELLO_RETRY_REQUEST_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Offset of `random` in a ServerHello message (4-byte header, 2-byte legacy_version).
const RANDOM_OFFSET: usize = 4 + 2;

pub(crate) fn u16_at(bytes: &[u8], at: usize) -> Option<usize> {
    let b = bytes.get(at..at + 2)?;
    Some(usize::from(b[0]) << 8 | usize::from(b[1]))
}

pub(crate) fn u24(bytes: &[u8]) -> usize {
    usize::from(bytes[0]) << 16 | usize::from(bytes[1]) << 8 | usize::from(bytes[2])
}

fn put_u16(bytes: &mut [u8], at: usize, value: usize) {
    bytes[at..at + 2].copy_from_slice(&(value as u16).to_be_bytes());
}

fn put_u24(bytes: &mut [u8], at: usize, value: usize) {
    bytes[at..at + 3].copy_from_slice(&(value as u32).to_be_bytes()[1..]);
}

/// Whether a complete ServerHello message is a HelloRetryRequest.
pub(crate) fn is_hello_retry_request(message: &[u8]) -> bool {
    message.get(RANDOM_OFFSET..RANDOM_OFFSET + 32) == Some(&HELLO_RETRY_REQUEST_RANDOM[..])
}

/// Where `accept_confirmation` goes: the last 8 bytes of `ServerHello.random` (RFC 9849 §7.2).
pub(crate) fn server_hello_confirmation_range(message: &[u8]) -> Option<Range<usize>> {
    let range = RANDOM_OFFSET + 24..RANDOM_OFFSET + 32;
    (message.len() >= range.end).then_some(range)
}

/// Offset of the extensions length in a ServerHello message, after checking the message's
/// lengths are consistent.
fn server_hello_extensions_offset(message: &[u8]) -> Option<usize> {
    if message.len() < 4 || u24(&message[1..4]) != message.len() - 4 {
        return None;
    }
    let session_id_len = usize::from(*message.get(RANDOM_OFFSET + 32)?);
    let at = RANDOM_OFFSET + 32 + 1 + session_id_len + 2 + 1;
    let extensions_len = u16_at(message, at)?;
    (at + 2 + extensions_len == message.len()).then_some(at)
}

/// Whether a complete ServerHello selects TLS 1.3: its `supported_versions` extension holds
/// 0x0304 (RFC 8446 §4.2.1).
pub(crate) fn server_hello_selects_tls13(message: &[u8]) -> bool {
    const EXT_SUPPORTED_VERSIONS: usize = 43;
    let Some(at) = server_hello_extensions_offset(message) else {
        return false;
    };
    let mut extensions = &message[at + 2..];
    while let (Some(typ), Some(len)) = (u16_at(extensions, 0), u16_at(extensions, 2)) {
        let Some(data) = extensions.get(4..4 + len) else {
            return false;
        };
        if typ == EXT_SUPPORTED_VERSIONS {
            return data == [0x03, 0x04];
        }
        extensions = &extensions[4 + len..];
    }
    false
}

/// The HelloRetryRequest with an `encrypted_client_hello` extension of eight zero bytes added,
/// and the range of those bytes (RFC 9849 §7.2.1).
pub(crate) fn add_hrr_confirmation_extension(message: &[u8]) -> Option<(Vec<u8>, Range<usize>)> {
    let at = server_hello_extensions_offset(message)?;
    let added = 4 + crate::confirm::CONFIRMATION_LEN;
    let extensions_len = u16_at(message, at)? + added;
    if extensions_len > usize::from(u16::MAX) {
        return None;
    }

    let mut edited = Vec::with_capacity(message.len() + added);
    edited.extend_from_slice(message);
    edited.extend_from_slice(&EXT_ENCRYPTED_CLIENT_HELLO.to_be_bytes());
    edited.extend_from_slice(&(crate::confirm::CONFIRMATION_LEN as u16).to_be_bytes());
    edited.extend_from_slice(&[0; crate::confirm::CONFIRMATION_LEN]);
    put_u16(&mut edited, at, extensions_len);
    let body_len = edited.len() - 4;
    put_u24(&mut edited, 1, body_len);

    let end = edited.len();
    Some((edited, end - crate::confirm::CONFIRMATION_LEN..end))
}

/// The largest `retry_configs` this crate sends: the extension it makes must fit in one record,
/// so that EncryptedExtensions' first record spills over into at most one more (see the
/// provider wrapper's encrypter).
pub(crate) const MAX_RETRY_CONFIGS_LEN: usize = MAX_FRAGMENT_LEN - 4;

/// The EncryptedExtensions message with `retry_configs` added (RFC 9849 §7.1), or `None` when
/// there is nothing to add or the list is longer than [`MAX_RETRY_CONFIGS_LEN`].
pub(crate) fn add_retry_configs(message: &[u8], retry_configs: &[u8]) -> Option<Vec<u8>> {
    if retry_configs.is_empty() || message.len() < 6 || u24(&message[1..4]) != message.len() - 4 {
        return None;
    }
    if retry_configs.len() > MAX_RETRY_CONFIGS_LEN {
        log::warn!(
            "retry configs ({} bytes) exceed {MAX_RETRY_CONFIGS_LEN} bytes; not sent",
            retry_configs.len()
        );
        return None;
    }
    let added = 4 + retry_configs.len();
    let extensions_len = u16_at(message, 4)? + added;
    if extensions_len > usize::from(u16::MAX) || u16_at(message, 4)? + 6 != message.len() {
        return None;
    }

    let mut edited = Vec::with_capacity(message.len() + added);
    edited.extend_from_slice(message);
    edited.extend_from_slice(&EXT_ENCRYPTED_CLIENT_HELLO.to_be_bytes());
    edited.extend_from_slice(&(retry_configs.len() as u16).to_be_bytes());
    edited.extend_from_slice(retry_configs);
    put_u16(&mut edited, 4, extensions_len);
    let body_len = edited.len() - 4;
    put_u24(&mut edited, 1, body_len);
    Some(edited)
}

/// Appends `message` to `out` as plaintext handshake records of at most 2^14 bytes each.
pub(crate) fn push_handshake_records(out: &mut Vec<u8>, version: [u8; 2], message: &[u8]) {
    for fragment in message.chunks(MAX_FRAGMENT_LEN) {
        out.push(CONTENT_HANDSHAKE);
        out.extend_from_slice(&version);
        out.extend_from_slice(&(fragment.len() as u16).to_be_bytes());
        out.extend_from_slice(fragment);
    }
}

/// A fatal plaintext alert record.
pub(crate) fn alert_record(description: rustls::AlertDescription) -> [u8; 7] {
    [
        CONTENT_ALERT,
        0x03,
        0x03,
        0x00,
        0x02,
        2,
        u8::from(description),
    ]
}
