//! A bounds-checked cursor over handshake bytes.

use core::ops::Range;

/// Reads big-endian integers and length-prefixed vectors without ever reading past the end of
/// its slice.
///
/// Positions are offsets into the whole slice the reader was built over, so every range it
/// returns indexes that slice (and, when the reader was built over a prefix, the caller's
/// buffer) directly. A failed read returns `None`; callers choose the error.
#[derive(Clone, Debug)]
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`, starting at offset `pos`.
    pub(super) fn new(buf: &'a [u8], pos: usize) -> Self {
        Self { buf, pos }
    }

    /// A reader over `buf[..end]`, starting at offset `pos`; `None` if `end` is out of range.
    pub(super) fn bounded(buf: &'a [u8], pos: usize, end: usize) -> Option<Self> {
        Some(Self::new(buf.get(..end)?, pos))
    }

    /// The current offset.
    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    /// Whether every byte has been read.
    pub(super) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Skips `len` bytes, returning their range.
    pub(super) fn take(&mut self, len: usize) -> Option<Range<usize>> {
        let end = self.pos.checked_add(len)?;
        if end > self.buf.len() {
            return None;
        }
        let range = self.pos..end;
        self.pos = end;
        Some(range)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let range = self.take(N)?;
        self.buf.get(range)?.try_into().ok()
    }

    pub(super) fn u8(&mut self) -> Option<u8> {
        self.array::<1>().map(u8::from_be_bytes)
    }

    pub(super) fn u16(&mut self) -> Option<u16> {
        self.array::<2>().map(u16::from_be_bytes)
    }

    pub(super) fn u24(&mut self) -> Option<usize> {
        let [a, b, c] = self.array::<3>()?;
        Some(usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c))
    }

    /// An `opaque x<0..2^8-1>` vector: the range of its contents.
    pub(super) fn vec_u8(&mut self) -> Option<Range<usize>> {
        let len = self.u8()?;
        self.take(usize::from(len))
    }

    /// An `opaque x<0..2^16-1>` vector: the range of its contents.
    pub(super) fn vec_u16(&mut self) -> Option<Range<usize>> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }
}

/// The big-endian `uint16` values packed in `bytes`; a trailing odd byte is ignored.
pub(super) fn u16_values(bytes: &[u8]) -> impl Iterator<Item = u16> + Clone + '_ {
    bytes
        .chunks_exact(2)
        .filter_map(|pair| <[u8; 2]>::try_from(pair).ok())
        .map(u16::from_be_bytes)
}
