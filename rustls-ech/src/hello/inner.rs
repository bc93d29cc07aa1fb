//! Rebuilding ClientHelloInner from EncodedClientHelloInner (RFC 9849 §5.1) and the checks
//! on ClientHelloInner (§7.1).

use core::ops::Range;

use super::client_hello::{
    ClientHello, Extension, TypeSet, HANDSHAKE_HEADER_LEN, HANDSHAKE_TYPE_CLIENT_HELLO,
};
use super::ech::{EchClientHello, EXT_ENCRYPTED_CLIENT_HELLO};
use super::reader::{u16_values, Reader};
use super::HelloError;

/// `ExtensionType.ech_outer_extensions` (RFC 9849 §11.1).
pub(crate) const EXT_ECH_OUTER_EXTENSIONS: u16 = 0xfd00;

/// `ExtensionType.supported_versions` (RFC 8446 §4.2.1).
pub(crate) const EXT_SUPPORTED_VERSIONS: u16 = 0x002b;

const TLS13: u16 = 0x0304;
const MAX_EXTENSIONS_LEN: usize = 0xffff;
const MAX_HANDSHAKE_BODY_LEN: usize = 0xff_ffff;

/// Rebuilds ClientHelloInner from the decrypted EncodedClientHelloInner (RFC 9849 §5.1) and
/// checks it (§7.1), returning the whole handshake message: header and body.
///
/// `encoded` is a ClientHello body with an empty `legacy_session_id`, followed by zero
/// padding. The result takes `legacy_session_id` from `outer`, and has the
/// `ech_outer_extensions` extension, if any, replaced in place by the outer extensions it
/// names, copied from `outer` in order.
///
/// Invalid references (missing from `outer`, repeated, out of `outer`'s order, or naming
/// `encrypted_client_hello`), nonzero padding, a non-empty inner `legacy_session_id` and an
/// extension present twice once references are expanded are `illegal_parameter`; a
/// syntactically broken `ech_outer_extensions` is `decode_error`.
///
/// Each outer extension can be referenced at most once, so the result is at most about
/// `encoded.len() + outer.body().len()` bytes; it must also fit in `max_len` (header
/// included), else [`HelloError::InnerTooLarge`].
pub(crate) fn decode_client_hello_inner(
    outer: &ClientHello<'_>,
    encoded: &[u8],
    max_len: usize,
) -> Result<Vec<u8>, HelloError> {
    let inner = ClientHello::parse_body_prefix(encoded)?;
    let padding = encoded.get(inner.end()..).unwrap_or_default();
    if padding.iter().any(|byte| *byte != 0) {
        return Err(HelloError::NonZeroPadding);
    }
    if !inner.legacy_session_id.is_empty() {
        return Err(HelloError::InnerSessionIdNotEmpty);
    }
    let Some(inner_extensions) = inner.extensions.clone() else {
        return Err(HelloError::MissingEchInnerExtension);
    };

    // Validate and measure before writing, so the output is allocated once, at its final
    // size, and nothing is copied for a hello that will be refused.
    let expansion = Expansion::plan(outer, &inner)?;
    let extensions_len = (inner_extensions.len() + expansion.copied_len)
        .checked_sub(expansion.removed_len)
        .ok_or(HelloError::MalformedExtensions)?;
    if extensions_len > MAX_EXTENSIONS_LEN {
        return Err(HelloError::InnerExtensionsTooLong(extensions_len));
    }
    let body_len = (inner.end() + outer.legacy_session_id.len() + expansion.copied_len)
        .checked_sub(expansion.removed_len)
        .ok_or(HelloError::MalformedExtensions)?;
    let total_len = HANDSHAKE_HEADER_LEN + body_len;
    if total_len > max_len || body_len > MAX_HANDSHAKE_BODY_LEN {
        return Err(HelloError::InnerTooLarge {
            len: total_len,
            max: max_len,
        });
    }

    let message = expansion.write(outer, &inner, body_len, extensions_len)?;
    debug_assert_eq!(message.len(), total_len);
    log::trace!(
        "ClientHelloInner rebuilt: {} bytes from {} encoded",
        message.len(),
        encoded.len()
    );

    validate_client_hello_inner(&ClientHello::parse(&message)?)?;
    Ok(message)
}

/// How `ech_outer_extensions` expands: the validated references, and the size change.
struct Expansion<'a> {
    /// The `OuterExtensions` list, empty when the inner hello compresses nothing.
    references: &'a [u8],
    /// Size of the `ech_outer_extensions` extension, header included.
    removed_len: usize,
    /// Total size of the outer extensions it names, headers included.
    copied_len: usize,
}

impl<'a> Expansion<'a> {
    /// Validates the references of `inner`'s `ech_outer_extensions`, if any, against `outer`
    /// (RFC 9849 §5.1).
    fn plan(outer: &ClientHello<'_>, inner: &ClientHello<'a>) -> Result<Self, HelloError> {
        let Some(compressed) = inner.extension(EXT_ECH_OUTER_EXTENSIONS) else {
            return Ok(Self {
                references: &[],
                removed_len: 0,
                copied_len: 0,
            });
        };
        let references = outer_extensions_list(inner, &compressed)?;

        // A referenced type the inner hello also carries directly would appear twice.
        let mut present = TypeSet::new();
        for extension in inner.extensions() {
            if extension.ext_type != EXT_ECH_OUTER_EXTENSIONS {
                present.insert(extension.ext_type);
            }
        }
        let mut copied_len = 0;
        for_each_reference(outer, references, |referenced| {
            if !present.insert(referenced.ext_type) {
                return Err(HelloError::DuplicateExtension(referenced.ext_type));
            }
            copied_len += referenced.whole.len();
            Ok(())
        })?;

        Ok(Self {
            references,
            removed_len: compressed.whole.len(),
            copied_len,
        })
    }

    /// Writes ClientHelloInner, header included: `inner` with `outer`'s `legacy_session_id`
    /// and `ech_outer_extensions` replaced by the extensions it names.
    fn write(
        &self,
        outer: &ClientHello<'_>,
        inner: &ClientHello<'_>,
        body_len: usize,
        extensions_len: usize,
    ) -> Result<Vec<u8>, HelloError> {
        let mut message = Vec::with_capacity(HANDSHAKE_HEADER_LEN + body_len);
        message.push(HANDSHAKE_TYPE_CLIENT_HELLO);
        message.extend_from_slice(&u24_bytes(body_len));

        message.extend_from_slice(inner.slice(&(0..inner.random.end)));
        let outer_session_id = outer.slice(&outer.legacy_session_id);
        message.push(outer_session_id.len() as u8);
        message.extend_from_slice(outer_session_id);
        let extensions_header = inner
            .extensions
            .as_ref()
            .map_or(inner.end(), |block| block.start.saturating_sub(2));
        message.extend_from_slice(inner.slice(&(inner.legacy_session_id.end..extensions_header)));

        message.extend_from_slice(&(extensions_len as u16).to_be_bytes());
        for extension in inner.extensions() {
            if extension.ext_type == EXT_ECH_OUTER_EXTENSIONS {
                for_each_reference(outer, self.references, |referenced| {
                    message.extend_from_slice(outer.slice(&referenced.whole));
                    Ok(())
                })?;
            } else {
                message.extend_from_slice(inner.slice(&extension.whole));
            }
        }
        Ok(message)
    }
}

/// The `OuterExtensions` list of an `ech_outer_extensions` extension (RFC 9849 §5.1):
/// `ExtensionType OuterExtensions<2..254>`, exactly filling the extension.
fn outer_extensions_list<'a>(
    inner: &ClientHello<'a>,
    extension: &Extension,
) -> Result<&'a [u8], HelloError> {
    let mut reader = Reader::bounded(inner.bytes(), extension.data.start, extension.data.end)
        .ok_or(HelloError::MalformedOuterExtensions)?;
    let list = reader
        .vec_u8()
        .ok_or(HelloError::MalformedOuterExtensions)?;
    if !reader.is_empty() || list.len() < 2 || list.len() % 2 != 0 {
        return Err(HelloError::MalformedOuterExtensions);
    }
    Ok(inner.slice(&list))
}

/// Resolves each type named in `references` to its extension in `outer`, calling `visit` on
/// each in order (RFC 9849 §5.1).
///
/// Each name must be found after the previous one, which also rules out repeats since
/// `outer` has no duplicate types; the separate checks only make the error precise.
fn for_each_reference(
    outer: &ClientHello<'_>,
    references: &[u8],
    mut visit: impl FnMut(&Extension) -> Result<(), HelloError>,
) -> Result<(), HelloError> {
    let mut candidates = outer.extensions();
    let names = u16_values(references);
    for (index, ext_type) in names.clone().enumerate() {
        if ext_type == EXT_ENCRYPTED_CLIENT_HELLO {
            return Err(HelloError::OuterExtensionsNamesEch);
        }
        if names.clone().take(index).any(|earlier| earlier == ext_type) {
            return Err(HelloError::OuterExtensionRepeated(ext_type));
        }
        match candidates.find(|candidate| candidate.ext_type == ext_type) {
            Some(referenced) => visit(&referenced)?,
            None if outer.extension(ext_type).is_some() => {
                return Err(HelloError::OuterExtensionOutOfOrder(ext_type))
            }
            None => return Err(HelloError::OuterExtensionMissing(ext_type)),
        }
    }
    Ok(())
}

/// Checks a ClientHelloInner (RFC 9849 §7.1): it carries `encrypted_client_hello` of type
/// inner, and offers TLS 1.3 and nothing older.
pub(crate) fn validate_client_hello_inner(inner: &ClientHello<'_>) -> Result<(), HelloError> {
    match inner.ech()? {
        Some(EchClientHello::Inner) => {}
        Some(EchClientHello::Outer(_)) | None => return Err(HelloError::MissingEchInnerExtension),
    }
    check_offers_only_tls13(inner)
}

/// Checks that `supported_versions` offers TLS 1.3 and no older version (RFC 9849 §7.1).
///
/// GREASE values (RFC 8701) and unknown versions above TLS 1.3 are tolerated: a client may
/// send them, and the TLS stack ignores them.
pub(crate) fn check_offers_only_tls13(hello: &ClientHello<'_>) -> Result<(), HelloError> {
    let extension = hello
        .extension(EXT_SUPPORTED_VERSIONS)
        .ok_or(HelloError::MissingSupportedVersions)?;
    let versions = supported_versions_list(hello, &extension.data)?;

    let mut offers_tls13 = false;
    for version in u16_values(hello.slice(&versions)) {
        if version == TLS13 {
            offers_tls13 = true;
        } else if version < TLS13 && !is_grease(version) {
            return Err(HelloError::InnerOffersOldVersion(version));
        }
    }
    if !offers_tls13 {
        return Err(HelloError::InnerLacksTls13);
    }
    Ok(())
}

/// `ProtocolVersion versions<2..254>` of a ClientHello's `supported_versions`
/// (RFC 8446 §4.2.1).
fn supported_versions_list(
    hello: &ClientHello<'_>,
    data: &Range<usize>,
) -> Result<Range<usize>, HelloError> {
    let mut reader = Reader::bounded(hello.bytes(), data.start, data.end)
        .ok_or(HelloError::MalformedSupportedVersions)?;
    let list = reader
        .vec_u8()
        .ok_or(HelloError::MalformedSupportedVersions)?;
    if !reader.is_empty() || list.len() < 2 || list.len() % 2 != 0 {
        return Err(HelloError::MalformedSupportedVersions);
    }
    Ok(list)
}

/// Whether `value` is a GREASE value (RFC 8701 §2): `0x?a?a` with both bytes equal.
pub(crate) fn is_grease(value: u16) -> bool {
    let [high, low] = value.to_be_bytes();
    high == low && low & 0x0f == 0x0a
}

fn u24_bytes(value: usize) -> [u8; 3] {
    let [_, a, b, c] = (value as u32).to_be_bytes();
    [a, b, c]
}
