//! Zero-copy ClientHello parsing (RFC 8446 §4.1.2).

use core::ops::Range;

use super::reader::Reader;
use super::HelloError;

/// `HandshakeType.client_hello` (RFC 8446 §4).
pub(crate) const HANDSHAKE_TYPE_CLIENT_HELLO: u8 = 1;

/// The handshake message header: `msg_type` and a `uint24` length (RFC 8446 §4).
pub(crate) const HANDSHAKE_HEADER_LEN: usize = 4;

const RANDOM_LEN: usize = 32;
const MAX_SESSION_ID_LEN: usize = 32;

/// One extension of a ClientHello, as byte ranges into the hello's buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Extension {
    /// `ExtensionType`.
    pub(crate) ext_type: u16,
    /// The whole extension: type, length and data.
    pub(crate) whole: Range<usize>,
    /// `extension_data`, without its length prefix.
    pub(crate) data: Range<usize>,
}

/// A parsed ClientHello that borrows its bytes (RFC 8446 §4.1.2).
///
/// Every range indexes [`ClientHello::bytes`], and covers a vector's contents without its
/// length prefix, which sits immediately before the range (one byte for
/// `legacy_session_id` and `legacy_compression_methods`, two for `cipher_suites` and
/// `extensions`). Callers rebuild or edit a hello by splicing these ranges.
///
/// The `extensions` block may be absent: a TLS 1.2 client may omit it (RFC 5246 §7.4.1.2),
/// and rustls, which judges the hello afterwards, accepts TLS 1.2. For the same reason the
/// block's TLS 1.3 minimum length of 8 is not enforced here. Extension types must be
/// unique (RFC 8446 §4.2).
#[derive(Clone, Debug)]
pub(crate) struct ClientHello<'a> {
    bytes: &'a [u8],
    body_start: usize,
    end: usize,
    /// `legacy_version`.
    pub(crate) legacy_version: u16,
    /// `random` (32 bytes).
    pub(crate) random: Range<usize>,
    /// `legacy_session_id<0..32>`.
    pub(crate) legacy_session_id: Range<usize>,
    /// `cipher_suites<2..2^16-2>`.
    pub(crate) cipher_suites: Range<usize>,
    /// `legacy_compression_methods<1..2^8-1>`.
    pub(crate) legacy_compression_methods: Range<usize>,
    /// `extensions<8..2^16-1>`, or `None` when the hello has no extensions block.
    pub(crate) extensions: Option<Range<usize>>,
}

impl<'a> ClientHello<'a> {
    /// Parses a complete ClientHello handshake message: the 4-byte header, then the body,
    /// and nothing after it.
    pub(crate) fn parse(message: &'a [u8]) -> Result<Self, HelloError> {
        let mut reader = Reader::new(message, 0);
        let msg_type = reader.u8().ok_or(HelloError::Truncated)?;
        if msg_type != HANDSHAKE_TYPE_CLIENT_HELLO {
            return Err(HelloError::NotClientHello(msg_type));
        }
        let body_len = reader.u24().ok_or(HelloError::Truncated)?;
        let body_end = HANDSHAKE_HEADER_LEN + body_len;
        if message.len() < body_end {
            return Err(HelloError::Truncated);
        }
        if message.len() > body_end {
            return Err(HelloError::TrailingData);
        }

        let hello = Self::parse_fields(message, HANDSHAKE_HEADER_LEN)?;
        if hello.end != body_end {
            return Err(HelloError::TrailingData);
        }
        Ok(hello)
    }

    /// Parses a ClientHello body (no handshake header) at the start of `bytes`, stopping
    /// where its extensions end; whatever follows is left to the caller (the padding of an
    /// EncodedClientHelloInner, RFC 9849 §5.1).
    pub(crate) fn parse_body_prefix(bytes: &'a [u8]) -> Result<Self, HelloError> {
        Self::parse_fields(bytes, 0)
    }

    fn parse_fields(bytes: &'a [u8], body_start: usize) -> Result<Self, HelloError> {
        let mut reader = Reader::new(bytes, body_start);
        let legacy_version = reader.u16().ok_or(HelloError::Truncated)?;
        let random = reader.take(RANDOM_LEN).ok_or(HelloError::Truncated)?;

        let legacy_session_id = reader.vec_u8().ok_or(HelloError::Truncated)?;
        if legacy_session_id.len() > MAX_SESSION_ID_LEN {
            return Err(HelloError::SessionIdTooLong);
        }

        let cipher_suites = reader.vec_u16().ok_or(HelloError::Truncated)?;
        if cipher_suites.is_empty() || cipher_suites.len() % 2 != 0 {
            return Err(HelloError::InvalidCipherSuites);
        }

        let legacy_compression_methods = reader.vec_u8().ok_or(HelloError::Truncated)?;
        if legacy_compression_methods.is_empty() {
            return Err(HelloError::NoCompressionMethods);
        }

        let extensions = if reader.is_empty() {
            None
        } else {
            let block = reader.vec_u16().ok_or(HelloError::Truncated)?;
            check_extensions(bytes, &block)?;
            Some(block)
        };

        Ok(Self {
            bytes,
            body_start,
            end: reader.pos(),
            legacy_version,
            random,
            legacy_session_id,
            cipher_suites,
            legacy_compression_methods,
            extensions,
        })
    }

    /// The buffer every range indexes: the whole message for [`ClientHello::parse`], the
    /// body and anything after it for [`ClientHello::parse_body_prefix`].
    pub(crate) fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Where the body ends: the end of the extensions block, or of
    /// `legacy_compression_methods` when there is none.
    pub(crate) fn end(&self) -> usize {
        self.end
    }

    /// The range of the body, without the handshake header.
    pub(crate) fn body_range(&self) -> Range<usize> {
        self.body_start..self.end
    }

    /// The body, without the handshake header.
    pub(crate) fn body(&self) -> &'a [u8] {
        self.slice(&self.body_range())
    }

    /// The bytes of `range`, which must come from this hello; empty if it does not fit.
    pub(crate) fn slice(&self, range: &Range<usize>) -> &'a [u8] {
        self.bytes.get(range.clone()).unwrap_or_default()
    }

    /// The extensions, in order; empty if the hello has no extensions block.
    pub(crate) fn extensions(&self) -> Extensions<'a> {
        let range = self.extensions.clone().unwrap_or(self.end..self.end);
        Extensions {
            reader: Reader::bounded(self.bytes, range.start, range.end),
        }
    }

    /// The extension of type `ext_type`, if present.
    pub(crate) fn extension(&self, ext_type: u16) -> Option<Extension> {
        self.extensions().find(|ext| ext.ext_type == ext_type)
    }
}

/// Iterator over the extensions of a parsed [`ClientHello`].
#[derive(Clone, Debug)]
pub(crate) struct Extensions<'a> {
    reader: Option<Reader<'a>>,
}

impl Iterator for Extensions<'_> {
    type Item = Extension;

    fn next(&mut self) -> Option<Extension> {
        let reader = self.reader.as_mut()?;
        if reader.is_empty() {
            return None;
        }
        let extension = read_extension(reader);
        if extension.is_none() {
            // Only reachable for a block that failed validation: stop for good.
            self.reader = None;
        }
        extension
    }
}

fn read_extension(reader: &mut Reader<'_>) -> Option<Extension> {
    let start = reader.pos();
    let ext_type = reader.u16()?;
    let data = reader.vec_u16()?;
    Some(Extension {
        ext_type,
        whole: start..data.end,
        data,
    })
}

/// Checks that `block` holds whole extensions and no extension type twice (RFC 8446 §4.2).
fn check_extensions(bytes: &[u8], block: &Range<usize>) -> Result<(), HelloError> {
    let mut reader =
        Reader::bounded(bytes, block.start, block.end).ok_or(HelloError::MalformedExtensions)?;
    let mut seen = TypeSet::new();
    while !reader.is_empty() {
        let extension = read_extension(&mut reader).ok_or(HelloError::MalformedExtensions)?;
        if !seen.insert(extension.ext_type) {
            return Err(HelloError::DuplicateExtension(extension.ext_type));
        }
    }
    Ok(())
}

/// A set of extension types, for duplicate detection with no allocation in the common case.
///
/// Real ClientHellos carry a few dozen extensions at most: those are kept inline and searched
/// linearly. A hello with more spills to one bit per possible `ExtensionType`, so a hostile
/// hello with thousands of extensions stays linear.
pub(super) struct TypeSet {
    inline: [u16; INLINE_TYPES],
    len: usize,
    bits: Option<Box<[u64]>>,
}

const INLINE_TYPES: usize = 48;

impl TypeSet {
    pub(super) fn new() -> Self {
        Self {
            inline: [0; INLINE_TYPES],
            len: 0,
            bits: None,
        }
    }

    /// Adds `ext_type`; false if it was already present.
    pub(super) fn insert(&mut self, ext_type: u16) -> bool {
        if let Some(bits) = &mut self.bits {
            return insert_bit(bits, ext_type);
        }
        if self.inline[..self.len].contains(&ext_type) {
            return false;
        }
        if self.len < INLINE_TYPES {
            self.inline[self.len] = ext_type;
            self.len += 1;
            return true;
        }
        let mut bits = vec![0u64; 1 << 10].into_boxed_slice();
        for known in &self.inline {
            insert_bit(&mut bits, *known);
        }
        let fresh = insert_bit(&mut bits, ext_type);
        self.bits = Some(bits);
        fresh
    }
}

fn insert_bit(bits: &mut [u64], ext_type: u16) -> bool {
    let word = &mut bits[usize::from(ext_type >> 6)];
    let bit = 1u64 << (ext_type & 63);
    let fresh = *word & bit == 0;
    *word |= bit;
    fresh
}
