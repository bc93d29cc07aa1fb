//! Builders for ClientHello bytes and an EncodedClientHelloInner compressor, for tests and
//! fuzz targets. They play the client's part, so they check only what they need to.

use super::client_hello::{ClientHello, HANDSHAKE_TYPE_CLIENT_HELLO};
use super::inner::EXT_ECH_OUTER_EXTENSIONS;
use super::HelloError;
use crate::suite::SymmetricSuite;

/// The fields of a ClientHello, encoded by [`ClientHelloBuilder::body`] and
/// [`ClientHelloBuilder::message`].
#[derive(Clone, Debug)]
pub(crate) struct ClientHelloBuilder {
    pub(crate) legacy_version: u16,
    pub(crate) random: [u8; 32],
    pub(crate) legacy_session_id: Vec<u8>,
    pub(crate) cipher_suites: Vec<u16>,
    pub(crate) legacy_compression_methods: Vec<u8>,
    /// `None` leaves out the extensions block.
    pub(crate) extensions: Option<Vec<(u16, Vec<u8>)>>,
}

impl Default for ClientHelloBuilder {
    fn default() -> Self {
        Self {
            legacy_version: 0x0303,
            random: [0x5a; 32],
            legacy_session_id: Vec::new(),
            cipher_suites: vec![0x1301, 0x1302, 0x1303],
            legacy_compression_methods: vec![0],
            extensions: Some(Vec::new()),
        }
    }
}

impl ClientHelloBuilder {
    /// Appends an extension.
    pub(crate) fn extension(mut self, ext_type: u16, data: impl Into<Vec<u8>>) -> Self {
        self.extensions
            .get_or_insert_with(Vec::new)
            .push((ext_type, data.into()));
        self
    }

    /// The ClientHello body, without handshake header.
    pub(crate) fn body(&self) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&self.legacy_version.to_be_bytes());
        body.extend_from_slice(&self.random);
        put_u8_vec(&mut body, &self.legacy_session_id);
        let suites: Vec<u8> = self
            .cipher_suites
            .iter()
            .flat_map(|suite| suite.to_be_bytes())
            .collect();
        put_u16_vec(&mut body, &suites);
        put_u8_vec(&mut body, &self.legacy_compression_methods);
        if let Some(extensions) = &self.extensions {
            let mut block = Vec::new();
            for (ext_type, data) in extensions {
                block.extend_from_slice(&ext_type.to_be_bytes());
                put_u16_vec(&mut block, data);
            }
            put_u16_vec(&mut body, &block);
        }
        body
    }

    /// The whole handshake message.
    pub(crate) fn message(&self) -> Vec<u8> {
        handshake_message(&self.body())
    }
}

/// Prefixes `body` with a ClientHello handshake header.
pub(crate) fn handshake_message(body: &[u8]) -> Vec<u8> {
    let mut message = vec![HANDSHAKE_TYPE_CLIENT_HELLO];
    message.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    message.extend_from_slice(body);
    message
}

/// `extension_data` of an outer `encrypted_client_hello` (RFC 9849 §5).
pub(crate) fn ech_outer_data(
    cipher_suite: SymmetricSuite,
    config_id: u8,
    enc: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut data = vec![0];
    data.extend_from_slice(&u16::from(cipher_suite.kdf).to_be_bytes());
    data.extend_from_slice(&u16::from(cipher_suite.aead).to_be_bytes());
    data.push(config_id);
    put_u16_vec(&mut data, enc);
    put_u16_vec(&mut data, payload);
    data
}

/// `extension_data` of an inner `encrypted_client_hello` (RFC 9849 §5).
pub(crate) fn ech_inner_data() -> Vec<u8> {
    vec![1]
}

/// `extension_data` of a ClientHello `supported_versions` (RFC 8446 §4.2.1).
pub(crate) fn supported_versions_data(versions: &[u16]) -> Vec<u8> {
    let list: Vec<u8> = versions.iter().flat_map(|v| v.to_be_bytes()).collect();
    let mut data = Vec::new();
    put_u8_vec(&mut data, &list);
    data
}

/// `extension_data` of `ech_outer_extensions` naming `types` (RFC 9849 §5.1).
pub(crate) fn outer_extensions_data(types: &[u16]) -> Vec<u8> {
    let list: Vec<u8> = types.iter().flat_map(|t| t.to_be_bytes()).collect();
    let mut data = Vec::new();
    put_u8_vec(&mut data, &list);
    data
}

/// Builds the EncodedClientHelloInner a client would encrypt (RFC 9849 §5.1): the body of
/// the ClientHelloInner message `inner`, with an empty `legacy_session_id`, the extensions
/// whose types are in `compress` replaced by one `ech_outer_extensions` where the first of
/// them stood, and `padding` zero bytes appended.
///
/// Each compressed extension must appear in both hellos with the same data, else
/// [`HelloError::OuterExtensionMissing`]. For the server to rebuild `inner` exactly, the
/// compressed extensions must be adjacent in `inner` and in `outer`'s order.
pub(crate) fn encode_client_hello_inner(
    inner: &[u8],
    outer: &[u8],
    compress: &[u16],
    padding: usize,
) -> Result<Vec<u8>, HelloError> {
    let inner = ClientHello::parse(inner)?;
    let outer = ClientHello::parse(outer)?;

    let mut names = Vec::new();
    for extension in inner.extensions() {
        if !compress.contains(&extension.ext_type) {
            continue;
        }
        let same = outer
            .extension(extension.ext_type)
            .is_some_and(|o| outer.slice(&o.data) == inner.slice(&extension.data));
        if !same {
            return Err(HelloError::OuterExtensionMissing(extension.ext_type));
        }
        names.push(extension.ext_type);
    }

    let mut encoded = Vec::new();
    encoded.extend_from_slice(inner.slice(&(inner.body_range().start..inner.random.end)));
    encoded.push(0);
    let suites_header = inner.cipher_suites.start - 2;
    let extensions_header = inner
        .extensions
        .as_ref()
        .map_or(inner.end(), |e| e.start - 2);
    encoded.extend_from_slice(inner.slice(&(suites_header..extensions_header)));
    if inner.extensions.is_some() {
        let mut block = Vec::new();
        let mut placed = false;
        for extension in inner.extensions() {
            if !names.contains(&extension.ext_type) {
                block.extend_from_slice(inner.slice(&extension.whole));
            } else if !placed {
                placed = true;
                block.extend_from_slice(&EXT_ECH_OUTER_EXTENSIONS.to_be_bytes());
                put_u16_vec(&mut block, &outer_extensions_data(&names));
            }
        }
        put_u16_vec(&mut encoded, &block);
    }
    encoded.resize(encoded.len() + padding, 0);
    Ok(encoded)
}

fn put_u8_vec(out: &mut Vec<u8>, data: &[u8]) {
    out.push(data.len() as u8);
    out.extend_from_slice(data);
}

fn put_u16_vec(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
}
