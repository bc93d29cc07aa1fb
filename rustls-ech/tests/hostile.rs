//! Hostile ClientHellos: real ones from rustls's ECH client, edited byte by byte, each with
//! the alert the server must answer (or, when it is no error, the ECH status it must reach).
//!
//! Edits to ClientHelloOuter are made on its bytes, re-framed into records with every length
//! fixed. Edits to ClientHelloInner decrypt EncodedClientHelloInner with the server's key,
//! change it, and seal it again to the config's public key under a fresh `enc`, so the server
//! decrypts it and judges its contents.

mod common;

use std::sync::Arc;

use common::*;
use rustls::crypto::hpke::{EncapsulatedSecret, Hpke};
use rustls::pki_types::ServerName;
use rustls::{
    AlertDescription, ClientConfig, ClientConnection, HandshakeKind, NamedGroup, ServerConfig,
    ServerConnection,
};
use rustls_ech::config::EchConfigList;
use rustls_ech::hpke::HpkeBackend;
use rustls_ech::suite::{Aead, HpkeSuiteId, Kdf, SymmetricSuite};
use rustls_ech::{ClientHelloError, EchEngine, EchError, EchKey, EchServer, EchStatus};

const EXT_SERVER_NAME: u16 = 0x0000;
const EXT_SUPPORTED_GROUPS: u16 = 0x000a;
const EXT_SIGNATURE_ALGORITHMS: u16 = 0x000d;
const EXT_RECORD_SIZE_LIMIT: u16 = 0x001c;
const EXT_SUPPORTED_VERSIONS: u16 = 0x002b;
const EXT_ECH_OUTER_EXTENSIONS: u16 = 0xfd00;
const EXT_ENCRYPTED_CLIENT_HELLO: u16 = 0xfe0d;
/// `ECHClientHelloType` inner (RFC 9849 §5).
const ECH_TYPE_INNER: u8 = 1;

const CONTENT_HANDSHAKE: u8 = 22;
const CONTENT_APPLICATION_DATA: u8 = 23;
const HANDSHAKE_CLIENT_HELLO: u8 = 1;
const MAX_FRAGMENT_LEN: usize = 1 << 14;
/// Every AEAD of the test configs has a 16-byte tag.
const AEAD_TAG_LEN: usize = 16;

const CONFIG_ID: u8 = 0x42;

fn u16_at(bytes: &[u8], at: usize) -> usize {
    usize::from(u16::from_be_bytes([bytes[at], bytes[at + 1]]))
}

fn u24_at(bytes: &[u8], at: usize) -> usize {
    (usize::from(bytes[at]) << 16) | u16_at(bytes, at + 1)
}

fn push_u16(out: &mut Vec<u8>, value: usize) {
    out.extend_from_slice(&u16::try_from(value).unwrap().to_be_bytes());
}

/// A ClientHello body split for editing: the fields before the extensions, as bytes, and the
/// extensions in order. Encoding recomputes every length.
#[derive(Clone, Debug)]
struct Hello {
    /// `legacy_version` through `legacy_compression_methods`.
    fixed: Vec<u8>,
    extensions: Vec<(u16, Vec<u8>)>,
}

impl Hello {
    /// Parses the ClientHello body at the start of `body`; returns it and the bytes after it.
    fn parse(body: &[u8]) -> (Self, &[u8]) {
        let mut at = 2 + 32;
        at += 1 + usize::from(body[at]);
        at += 2 + u16_at(body, at);
        at += 1 + usize::from(body[at]);
        let fixed = body[..at].to_vec();

        let block_len = u16_at(body, at);
        let mut block = &body[at + 2..at + 2 + block_len];
        let mut extensions = Vec::new();
        while !block.is_empty() {
            let len = u16_at(block, 2);
            extensions.push((u16_at(block, 0) as u16, block[4..4 + len].to_vec()));
            block = &block[4 + len..];
        }
        (Self { fixed, extensions }, &body[at + 2 + block_len..])
    }

    fn encode(&self) -> Vec<u8> {
        let mut block = Vec::new();
        for (ext_type, data) in &self.extensions {
            block.extend_from_slice(&ext_type.to_be_bytes());
            push_u16(&mut block, data.len());
            block.extend_from_slice(data);
        }
        let mut body = self.fixed.clone();
        push_u16(&mut body, block.len());
        body.extend_from_slice(&block);
        body
    }

    fn types(&self) -> Vec<u16> {
        self.extensions
            .iter()
            .map(|(ext_type, _)| *ext_type)
            .collect()
    }

    fn ext(&self, ext_type: u16) -> Option<&Vec<u8>> {
        self.extensions
            .iter()
            .find(|(t, _)| *t == ext_type)
            .map(|(_, data)| data)
    }

    fn ext_mut(&mut self, ext_type: u16) -> &mut Vec<u8> {
        self.extensions
            .iter_mut()
            .find(|(t, _)| *t == ext_type)
            .map(|(_, data)| data)
            .unwrap_or_else(|| panic!("rustls sent no extension 0x{ext_type:04x}"))
    }

    /// Replaces the extension in place, or appends it.
    fn set_ext(&mut self, ext_type: u16, data: Vec<u8>) {
        match self.extensions.iter_mut().find(|(t, _)| *t == ext_type) {
            Some((_, old)) => *old = data,
            None => self.extensions.push((ext_type, data)),
        }
    }

    fn remove_ext(&mut self, ext_type: u16) {
        self.extensions.retain(|(t, _)| *t != ext_type);
    }

    /// The types named by this (inner) hello's `ech_outer_extensions`, if any.
    fn outer_references(&self) -> Vec<u16> {
        let Some(data) = self.ext(EXT_ECH_OUTER_EXTENSIONS) else {
            return Vec::new();
        };
        data[1..]
            .chunks(2)
            .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
            .collect()
    }

    /// Sets `ech_outer_extensions` to name exactly `types`.
    fn set_outer_references(&mut self, types: &[u16]) {
        let mut data = vec![u8::try_from(types.len() * 2).unwrap()];
        for ext_type in types {
            data.extend_from_slice(&ext_type.to_be_bytes());
        }
        self.set_ext(EXT_ECH_OUTER_EXTENSIONS, data);
    }

    /// Carries `ext_type` directly with `data`, no longer by reference to the outer hello.
    fn set_direct(&mut self, ext_type: u16, data: Vec<u8>) {
        let references = self.outer_references();
        if references.contains(&ext_type) {
            let kept: Vec<u16> = references.into_iter().filter(|t| *t != ext_type).collect();
            if kept.is_empty() {
                self.remove_ext(EXT_ECH_OUTER_EXTENSIONS);
            } else {
                self.set_outer_references(&kept);
            }
        }
        self.set_ext(ext_type, data);
    }
}

/// A client flight holding one ClientHello, possibly after other records (the compatibility
/// `change_cipher_spec` before ClientHello2).
struct Flight {
    before: Vec<u8>,
    record_version: [u8; 2],
    hello: Hello,
    after: Vec<u8>,
}

impl Flight {
    fn parse(bytes: &[u8]) -> Self {
        let mut before = Vec::new();
        let mut message = Vec::new();
        let mut record_version = None;
        let mut rest = bytes;
        loop {
            let len = u16_at(rest, 3);
            let (record, tail) = rest.split_at(5 + len);
            rest = tail;
            if record[0] != CONTENT_HANDSHAKE {
                assert!(message.is_empty(), "a record interrupts the ClientHello");
                before.extend_from_slice(record);
                continue;
            }
            record_version.get_or_insert([record[1], record[2]]);
            message.extend_from_slice(&record[5..]);
            if message.len() >= 4 && message.len() >= 4 + u24_at(&message, 1) {
                break;
            }
        }
        assert_eq!(message[0], HANDSHAKE_CLIENT_HELLO);
        assert_eq!(
            message.len(),
            4 + u24_at(&message, 1),
            "data after ClientHello"
        );
        let (hello, tail) = Hello::parse(&message[4..]);
        assert!(tail.is_empty());
        Self {
            before,
            record_version: record_version.unwrap(),
            hello,
            after: rest.to_vec(),
        }
    }

    fn encode(&self) -> Vec<u8> {
        let body = self.hello.encode();
        let mut message = vec![HANDSHAKE_CLIENT_HELLO];
        message.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes()[1..]);
        message.extend_from_slice(&body);

        let mut out = self.before.clone();
        for fragment in message.chunks(MAX_FRAGMENT_LEN) {
            out.push(CONTENT_HANDSHAKE);
            out.extend_from_slice(&self.record_version);
            push_u16(&mut out, fragment.len());
            out.extend_from_slice(fragment);
        }
        out.extend_from_slice(&self.after);
        out
    }
}

/// The outer `ECHClientHello`.
#[derive(Clone, Debug)]
struct EchOuter {
    kdf: u16,
    aead: u16,
    config_id: u8,
    enc: Vec<u8>,
    payload: Vec<u8>,
}

impl EchOuter {
    fn parse(data: &[u8]) -> Self {
        assert_eq!(data[0], 0, "not an outer ECHClientHello");
        let enc_len = u16_at(data, 6);
        let enc = data[8..8 + enc_len].to_vec();
        let at = 8 + enc_len;
        let payload_len = u16_at(data, at);
        let payload = data[at + 2..at + 2 + payload_len].to_vec();
        assert_eq!(data.len(), at + 2 + payload_len);
        Self {
            kdf: u16_at(data, 1) as u16,
            aead: u16_at(data, 3) as u16,
            config_id: data[5],
            enc,
            payload,
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut data = vec![0];
        data.extend_from_slice(&self.kdf.to_be_bytes());
        data.extend_from_slice(&self.aead.to_be_bytes());
        data.push(self.config_id);
        push_u16(&mut data, self.enc.len());
        data.extend_from_slice(&self.enc);
        push_u16(&mut data, self.payload.len());
        data.extend_from_slice(&self.payload);
        data
    }

    fn of(hello: &Hello) -> Self {
        Self::parse(
            hello
                .ext(EXT_ENCRYPTED_CLIENT_HELLO)
                .expect("ClientHelloOuter offers ECH"),
        )
    }

    fn set(&self, hello: &mut Hello) {
        hello.set_ext(EXT_ENCRYPTED_CLIENT_HELLO, self.encode());
    }
}

/// EncodedClientHelloInner: a ClientHello body with an empty `legacy_session_id`, then padding.
struct EncodedInner {
    hello: Hello,
    padding: Vec<u8>,
}

/// ClientHelloOuterAAD: the body of `hello` with `ech`'s payload zeroed.
fn outer_aad(hello: &Hello, ech: &EchOuter) -> Vec<u8> {
    let mut zeroed = ech.clone();
    zeroed.payload.fill(0);
    let mut hello = hello.clone();
    zeroed.set(&mut hello);
    hello.encode()
}

fn hpke_for(key: &EchKey, ech: &EchOuter) -> &'static dyn Hpke {
    let id = HpkeSuiteId {
        kem: key.config().kem(),
        sym: SymmetricSuite {
            kdf: Kdf::from(ech.kdf),
            aead: Aead::from(ech.aead),
        },
    };
    HpkeBackend::default_backend().suite(id).unwrap()
}

/// Decrypts the EncodedClientHelloInner of `bytes` with `key`, lets `edit` change it (and
/// ClientHelloOuter), and seals the result into `bytes` under a fresh `enc`.
///
/// Zero padding is resized so the plaintext keeps its length where it can.
fn edit_inner(key: &EchKey, bytes: &mut Vec<u8>, edit: &dyn Fn(&mut Hello, &mut EncodedInner)) {
    let mut flight = Flight::parse(bytes);
    let mut ech = EchOuter::of(&flight.hello);
    let hpke = hpke_for(key, &ech);
    let info = key.config().hpke_info();

    let aad = outer_aad(&flight.hello, &ech);
    let mut opener = hpke
        .setup_opener(
            &EncapsulatedSecret(ech.enc.clone()),
            &info,
            key.private_key(),
        )
        .unwrap();
    let plaintext = opener.open(&aad, &ech.payload).unwrap();
    let (hello, padding) = Hello::parse(&plaintext);
    assert!(
        padding.iter().all(|b| *b == 0),
        "rustls padded with nonzero bytes"
    );
    let mut inner = EncodedInner {
        hello,
        padding: padding.to_vec(),
    };

    edit(&mut flight.hello, &mut inner);

    let mut edited = inner.hello.encode();
    if inner.padding.iter().all(|b| *b == 0) {
        inner
            .padding
            .resize(plaintext.len().saturating_sub(edited.len()), 0);
    }
    edited.extend_from_slice(&inner.padding);

    let (enc, mut sealer) = hpke
        .setup_sealer(&info, &key.config().key_config().hpke_public_key())
        .unwrap();
    assert_eq!(enc.0.len(), ech.enc.len());
    ech.enc = enc.0;
    ech.payload = vec![0; edited.len() + AEAD_TAG_LEN];
    let aad = outer_aad(&flight.hello, &ech);
    ech.payload = sealer.seal(&aad, &edited).unwrap();
    assert_eq!(ech.payload.len(), edited.len() + AEAD_TAG_LEN);
    ech.set(&mut flight.hello);
    *bytes = flight.encode();
}

fn edit_outer(bytes: &mut Vec<u8>, edit: &dyn Fn(&mut Hello)) {
    let mut flight = Flight::parse(bytes);
    edit(&mut flight.hello);
    *bytes = flight.encode();
}

/// A server with one X25519 key, and a client configured with its ECHConfigList.
struct Setup {
    ech: EchServer,
    list: EchConfigList,
}

impl Setup {
    fn new() -> Self {
        let (key, list) = x25519_key(CONFIG_ID);
        Self {
            ech: server_with(vec![key]),
            list,
        }
    }

    fn server(&self) -> Arc<ServerConfig> {
        server_config(&self.ech, ServerOptions::default())
    }

    fn client(&self) -> Arc<ClientConfig> {
        client_config(ClientOptions {
            ech: ClientEch::Config(self.list.encoded()),
            ..Default::default()
        })
    }

    fn run(&self, edit: &dyn Fn(&mut Vec<u8>)) -> Outcome {
        handshake(self.client(), self.server(), self.ech.engine(), Some(edit))
    }

    fn run_inner(&self, edit: &dyn Fn(&mut Hello, &mut EncodedInner)) -> Outcome {
        let keys = self.ech.keys().snapshot();
        let key = &keys.keys()[0];
        self.run(&|bytes| edit_inner(key, bytes, edit))
    }

    fn run_edit(&self, edit: &Edit) -> Outcome {
        match edit {
            Edit::Records(edit) => self.run(edit),
            Edit::Outer(edit) => self.run(&|bytes| edit_outer(bytes, edit)),
            Edit::Inner(edit) => self.run_inner(edit),
        }
    }
}

/// The client's first flight, written without a server.
fn first_flight(client: Arc<ClientConfig>) -> Vec<u8> {
    let name = ServerName::try_from(INNER_NAME).unwrap();
    let mut client = ClientConnection::new(client, name).unwrap();
    let mut wire = Vec::new();
    while client.wants_write() {
        client.write_tls(&mut wire).unwrap();
    }
    wire
}

/// Runs a handshake in memory like `common::handshake`, but lets `edit` change the client's
/// second flight: ClientHello2, after HelloRetryRequest.
fn handshake_editing_second_hello(
    client_config: Arc<ClientConfig>,
    server_config: Arc<ServerConfig>,
    engine: EchEngine,
    edit: &dyn Fn(&mut Vec<u8>),
) -> Outcome {
    let name = ServerName::try_from(INNER_NAME).unwrap();
    let mut client = ClientConnection::new(client_config, name).unwrap();
    let mut server = ServerConnection::new(server_config).unwrap();
    let mut engine = engine;
    let mut engine_alerts = Vec::new();
    let mut flights = 0;
    let mut client_error = None;

    let result = (|| {
        for _ in 0..20 {
            let mut wire = Vec::new();
            while client.wants_write() {
                client.write_tls(&mut wire).map_err(|e| e.to_string())?;
            }
            if !wire.is_empty() {
                flights += 1;
                if flights == 2 {
                    edit(&mut wire);
                }
                let mut to_rustls = Vec::new();
                let mut to_peer = Vec::new();
                let received = engine.receive(&wire, &mut to_rustls, &mut to_peer);
                engine_alerts.extend_from_slice(&to_peer);
                if let Err(e) = received {
                    return Err(format!("engine: {e}"));
                }
                let mut input = &to_rustls[..];
                while !input.is_empty() {
                    server.read_tls(&mut input).map_err(|e| e.to_string())?;
                    server
                        .process_new_packets()
                        .map_err(|e| format!("server: {e}"))?;
                }
            }

            let mut out = Vec::new();
            while server.wants_write() {
                server.write_tls(&mut out).unwrap();
            }
            let mut to_peer = Vec::new();
            engine.send(&out, &mut to_peer).unwrap();
            client.read_tls(&mut &to_peer[..]).unwrap();
            if let Err(e) = client.process_new_packets() {
                let message = format!("client: {e:?}");
                client_error = Some(e);
                return Err(message);
            }
            if !client.is_handshaking() && !server.is_handshaking() && !client.wants_write() {
                return Ok(());
            }
        }
        Err("handshake did not finish".into())
    })();

    Outcome {
        client,
        server,
        engine,
        result,
        client_error,
        engine_alerts,
    }
}

type OuterEdit = fn(&mut Hello);

/// A change to the client's first flight.
enum Edit {
    /// To the records, as bytes.
    Records(fn(&mut Vec<u8>)),
    /// To ClientHelloOuter.
    Outer(OuterEdit),
    /// To EncodedClientHelloInner, which is then sealed again, and to ClientHelloOuter.
    Inner(fn(&mut Hello, &mut EncodedInner)),
}

fn ech_data(hello: &mut Hello) -> &mut Vec<u8> {
    hello.ext_mut(EXT_ENCRYPTED_CLIENT_HELLO)
}

fn edit_ech(hello: &mut Hello, edit: impl FnOnce(&mut EchOuter)) {
    let mut ech = EchOuter::of(hello);
    edit(&mut ech);
    ech.set(hello);
}

/// Reorders the extensions of `types` in `outer` to that order, in the slots they held.
fn outer_in_order(outer: &mut Hello, types: &[u16]) {
    let mut slots: Vec<usize> = types
        .iter()
        .map(|t| outer.types().iter().position(|o| o == t).unwrap())
        .collect();
    let moved: Vec<(u16, Vec<u8>)> = slots
        .iter()
        .map(|at| outer.extensions[*at].clone())
        .collect();
    slots.sort_unstable();
    for (at, extension) in slots.into_iter().zip(moved) {
        outer.extensions[at] = extension;
    }
}

fn supported_versions(versions: &[u16]) -> Vec<u8> {
    let mut data = vec![u8::try_from(versions.len() * 2).unwrap()];
    for version in versions {
        data.extend_from_slice(&version.to_be_bytes());
    }
    data
}

/// A ClientHello the server must refuse: the edit, the error, and the alert.
struct Refusal {
    case: &'static str,
    edit: Edit,
    error: EchError,
    alert: AlertDescription,
}

fn refusals() -> Vec<Refusal> {
    use AlertDescription::{DecodeError, IllegalParameter, RecordOverflow, UnexpectedMessage};
    use ClientHelloError as E;
    let hello = EchError::ClientHello;
    vec![
        Refusal {
            case: "record longer than 2^14 + 256 bytes",
            edit: Edit::Records(|bytes| bytes[3..5].copy_from_slice(&0x4101u16.to_be_bytes())),
            error: EchError::RecordOverflow,
            alert: RecordOverflow,
        },
        Refusal {
            case: "first handshake message is not a ClientHello",
            // ServerHello's msg_type.
            edit: Edit::Records(|bytes| bytes[5] = 2),
            error: EchError::UnexpectedMessage,
            alert: UnexpectedMessage,
        },
        Refusal {
            case: "enc length runs past the extension",
            edit: Edit::Outer(|hello| ech_data(hello)[6..8].copy_from_slice(&[0xff, 0xff])),
            error: hello(E::MalformedEchExtension),
            alert: DecodeError,
        },
        Refusal {
            case: "extension holds only its type",
            edit: Edit::Outer(|hello| ech_data(hello).truncate(1)),
            error: hello(E::MalformedEchExtension),
            alert: DecodeError,
        },
        Refusal {
            case: "a byte after the payload",
            edit: Edit::Outer(|hello| ech_data(hello).push(0)),
            error: hello(E::MalformedEchExtension),
            alert: DecodeError,
        },
        Refusal {
            case: "unknown ECHClientHelloType",
            edit: Edit::Outer(|hello| ech_data(hello)[0] = 2),
            error: hello(E::UnknownEchClientHelloType(2)),
            alert: DecodeError,
        },
        Refusal {
            case: "empty payload",
            edit: Edit::Outer(|hello| edit_ech(hello, |ech| ech.payload.clear())),
            error: hello(E::EmptyEchPayload),
            alert: DecodeError,
        },
        Refusal {
            case: "nonzero padding",
            edit: Edit::Inner(|_, inner| match inner.padding.last_mut() {
                Some(last) => *last = 1,
                None => inner.padding.push(1),
            }),
            error: hello(E::NonZeroPadding),
            alert: IllegalParameter,
        },
        Refusal {
            case: "non-empty legacy_session_id in EncodedClientHelloInner",
            edit: Edit::Inner(|_, inner| {
                // legacy_session_id follows legacy_version and random.
                assert_eq!(inner.hello.fixed[34], 0);
                inner.hello.fixed.splice(34..35, [1, 0xaa]);
            }),
            error: hello(E::InnerSessionIdNotEmpty),
            alert: IllegalParameter,
        },
        Refusal {
            case: "inner without encrypted_client_hello",
            edit: Edit::Inner(|_, inner| inner.hello.remove_ext(EXT_ENCRYPTED_CLIENT_HELLO)),
            error: hello(E::MissingEchInnerExtension),
            alert: IllegalParameter,
        },
        Refusal {
            case: "ech_outer_extensions names a type ClientHelloOuter lacks",
            edit: Edit::Inner(|outer, inner| {
                assert!(outer.ext(EXT_RECORD_SIZE_LIMIT).is_none());
                inner.hello.set_outer_references(&[EXT_RECORD_SIZE_LIMIT]);
            }),
            error: hello(E::OuterExtensionMissing(EXT_RECORD_SIZE_LIMIT)),
            alert: IllegalParameter,
        },
        Refusal {
            case: "ech_outer_extensions names a type twice",
            edit: Edit::Inner(|_, inner| {
                inner.hello.remove_ext(EXT_SIGNATURE_ALGORITHMS);
                inner
                    .hello
                    .set_outer_references(&[EXT_SIGNATURE_ALGORITHMS, EXT_SIGNATURE_ALGORITHMS]);
            }),
            error: hello(E::OuterExtensionRepeated(EXT_SIGNATURE_ALGORITHMS)),
            alert: IllegalParameter,
        },
        Refusal {
            case: "ech_outer_extensions out of ClientHelloOuter's order",
            edit: Edit::Inner(|outer, inner| {
                // ClientHelloOuter carries supported_groups before signature_algorithms; the
                // inner hello names them the other way round.
                outer_in_order(outer, &[EXT_SUPPORTED_GROUPS, EXT_SIGNATURE_ALGORITHMS]);
                inner.hello.remove_ext(EXT_SUPPORTED_GROUPS);
                inner.hello.remove_ext(EXT_SIGNATURE_ALGORITHMS);
                inner
                    .hello
                    .set_outer_references(&[EXT_SIGNATURE_ALGORITHMS, EXT_SUPPORTED_GROUPS]);
            }),
            error: hello(E::OuterExtensionOutOfOrder(EXT_SUPPORTED_GROUPS)),
            alert: IllegalParameter,
        },
        Refusal {
            case: "ech_outer_extensions names encrypted_client_hello",
            edit: Edit::Inner(|_, inner| {
                inner
                    .hello
                    .set_outer_references(&[EXT_ENCRYPTED_CLIENT_HELLO]);
            }),
            error: hello(E::OuterExtensionsNamesEch),
            alert: IllegalParameter,
        },
        Refusal {
            case: "ech_outer_extensions names a type the inner hello also carries",
            edit: Edit::Inner(|outer, inner| {
                assert!(outer.ext(EXT_SERVER_NAME).is_some());
                assert!(inner.hello.ext(EXT_SERVER_NAME).is_some());
                inner.hello.set_outer_references(&[EXT_SERVER_NAME]);
            }),
            error: hello(E::DuplicateExtension(EXT_SERVER_NAME)),
            alert: IllegalParameter,
        },
        Refusal {
            case: "ech_outer_extensions list of odd length",
            edit: Edit::Inner(|_, inner| {
                inner
                    .hello
                    .set_ext(EXT_ECH_OUTER_EXTENSIONS, vec![3, 0x00, 0x0d, 0x00]);
            }),
            error: hello(E::MalformedOuterExtensions),
            alert: DecodeError,
        },
        Refusal {
            case: "inner supported_versions offers TLS 1.2",
            edit: Edit::Inner(|_, inner| {
                inner.hello.set_direct(
                    EXT_SUPPORTED_VERSIONS,
                    supported_versions(&[0x0304, 0x0303]),
                );
            }),
            error: hello(E::InnerOffersOldVersion(0x0303)),
            alert: IllegalParameter,
        },
        Refusal {
            case: "inner supported_versions lacks TLS 1.3",
            edit: Edit::Inner(|_, inner| {
                inner
                    .hello
                    .set_direct(EXT_SUPPORTED_VERSIONS, supported_versions(&[0x0305]));
            }),
            error: hello(E::InnerLacksTls13),
            alert: IllegalParameter,
        },
    ]
}

#[test]
fn ends_each_malformed_or_invalid_client_hello_with_its_alert() {
    for row in refusals() {
        let setup = Setup::new();
        let outcome = setup.run_edit(&row.edit);
        assert_eq!(
            outcome.result,
            Err(format!("engine: {}", row.error)),
            "{}",
            row.case
        );
        assert_eq!(
            alerts(&outcome.engine_alerts),
            vec![row.alert],
            "{}",
            row.case
        );
    }
}

#[test]
fn refuses_a_client_hello_over_the_limit_from_its_first_record() {
    let max = rustls_ech::DEFAULT_MAX_CLIENT_HELLO_LEN;
    let setup = Setup::new();
    let flight = first_flight(setup.client());
    let first_record = 5 + u16_at(&flight, 3);

    // (announced length of the handshake message, header included; refused)
    for (announced, refused) in [(max + 1, true), (max, false), (0x00ff_ffff + 4, true)] {
        let mut record = flight[..first_record].to_vec();
        let body_len = u32::try_from(announced - 4).unwrap().to_be_bytes();
        record[6..9].copy_from_slice(&body_len[1..]);

        let mut engine = setup.ech.engine();
        let mut to_rustls = Vec::new();
        let mut to_peer = Vec::new();
        let received = engine.receive(&record, &mut to_rustls, &mut to_peer);
        assert!(to_rustls.is_empty(), "{announced}");
        if refused {
            assert_eq!(
                received,
                Err(EchError::ClientHelloTooLarge {
                    len: announced,
                    max
                }),
                "{announced}"
            );
            assert_eq!(alerts(&to_peer), vec![AlertDescription::HandshakeFailure]);
        } else {
            assert_eq!(received, Ok(()), "{announced}");
            assert!(to_peer.is_empty(), "{announced}");
        }
    }
}

#[test]
fn leaves_a_first_record_that_is_not_handshake_to_rustls() {
    let setup = Setup::new();
    let outcome = setup.run(&|bytes| bytes[0] = CONTENT_APPLICATION_DATA);
    assert!(outcome.engine_alerts.is_empty());
    assert_eq!(outcome.engine.status(), Some(&EchStatus::NotOffered));
    let result = outcome.result.unwrap_err();
    assert!(result.starts_with("server: "), "{result}");
}

#[test]
fn leaves_garbage_before_the_client_hello_to_rustls() {
    // "blah" in front of the ClientHello reads as a record of an unknown type whose length is
    // far over the limit: rustls judges the type first, and so must the engine.
    let setup = Setup::new();
    let outcome = setup.run(&|bytes| bytes.splice(0..0, *b"blah").for_each(drop));
    assert!(outcome.engine_alerts.is_empty());
    assert_eq!(outcome.engine.status(), Some(&EchStatus::NotOffered));
    let result = outcome.result.unwrap_err();
    assert!(result.starts_with("server: "), "{result}");
    assert!(!result.contains("oversized"), "{result}");
}

#[test]
fn leaves_an_empty_handshake_record_to_rustls() {
    // RFC 8446 §5.1 forbids empty handshake fragments; rustls refuses them, and must see one
    // wherever it comes: before the ClientHello, or between two of its records.
    let rows: [(&str, common::Edit<'static>); 2] = [
        ("before the ClientHello", &|bytes| {
            bytes
                .splice(0..0, [CONTENT_HANDSHAKE, 3, 1, 0, 0])
                .for_each(drop)
        }),
        ("inside the ClientHello", &|bytes| {
            // Split the one ClientHello record in two, with an empty record between them.
            let body = bytes.split_off(5);
            let (first, rest) = body.split_at(10);
            bytes.truncate(3);
            bytes.extend_from_slice(&(first.len() as u16).to_be_bytes());
            bytes.extend_from_slice(first);
            bytes.extend_from_slice(&[CONTENT_HANDSHAKE, 3, 3, 0, 0]);
            bytes.extend_from_slice(&[CONTENT_HANDSHAKE, 3, 3]);
            bytes.extend_from_slice(&(rest.len() as u16).to_be_bytes());
            bytes.extend_from_slice(rest);
        }),
    ];
    let setup = Setup::new();
    for (name, edit) in rows {
        let outcome = setup.run(edit);
        assert!(outcome.engine_alerts.is_empty(), "{name}");
        let result = outcome.result.unwrap_err();
        assert!(result.contains("InvalidEmptyPayload"), "{name}: {result}");
    }
}

#[test]
fn rejects_ech_it_cannot_open_and_answers_client_hello_outer() {
    let rows: [(&str, OuterEdit); 4] = [
        ("tampered payload", |hello| {
            edit_ech(hello, |ech| ech.payload[0] ^= 1)
        }),
        ("tampered enc", |hello| {
            edit_ech(hello, |ech| ech.enc[0] ^= 1)
        }),
        ("unknown config_id", |hello| {
            edit_ech(hello, |ech| ech.config_id = CONFIG_ID ^ 1)
        }),
        ("AEAD the config does not offer", |hello| {
            edit_ech(hello, |ech| ech.aead = 0x7777)
        }),
    ];
    for (case, edit) in rows {
        let setup = Setup::new();
        let outcome = setup.run(&|bytes| edit_outer(bytes, &edit));
        assert!(outcome.engine_alerts.is_empty(), "{case}");
        assert_eq!(
            outcome.engine.status(),
            Some(&EchStatus::Rejected),
            "{case}"
        );
        assert_eq!(outcome.server.server_name(), Some(PUBLIC_NAME), "{case}");
        // The server went on with ClientHelloOuter. The client cannot follow: the edit put
        // bytes in the server's transcript that are not in the client's.
        let result = outcome.result.unwrap_err();
        assert!(result.starts_with("client: "), "{case}: {result}");
    }
}

#[test]
fn accepts_a_resealed_inner_left_unchanged() {
    // Checks the edit machinery itself: what it reseals, the server opens and the client
    // confirms.
    let setup = Setup::new();
    let outcome = setup.run_inner(&|_, _| {});
    outcome.result.unwrap();
    assert_eq!(
        outcome.client.ech_status(),
        rustls::client::EchStatus::Accepted
    );
    assert_eq!(outcome.server.server_name(), Some(INNER_NAME));
}

#[test]
fn accepts_an_inner_offering_grease_beside_tls13() {
    let setup = Setup::new();
    let outcome = setup.run_inner(&|_, inner| {
        inner.hello.set_direct(
            EXT_SUPPORTED_VERSIONS,
            supported_versions(&[0x0a0a, 0x0304]),
        );
    });
    assert!(outcome.engine_alerts.is_empty(), "{:?}", outcome.result);
    assert_eq!(
        outcome.engine.status(),
        Some(&EchStatus::Accepted {
            config_id: CONFIG_ID,
            outer_server_name: Some(PUBLIC_NAME.into()),
        })
    );
    // rustls answered ClientHelloInner. The client does not finish: its own transcript holds
    // the ClientHelloInner it wrote, not the edited one, so it cannot confirm acceptance.
    assert_eq!(outcome.server.server_name(), Some(INNER_NAME));
    let result = outcome.result.unwrap_err();
    assert!(result.starts_with("client: "), "{result}");
}

/// The server supports only P-256 and the client's first key share is X25519, so the server
/// answers ClientHello1 with HelloRetryRequest.
fn run_with_retry(setup: &Setup, edit_second: &dyn Fn(&mut Vec<u8>)) -> Outcome {
    let mut server = aws_lc_rs();
    server
        .kx_groups
        .retain(|g| g.name() == NamedGroup::secp256r1);
    let mut client = aws_lc_rs();
    client
        .kx_groups
        .retain(|g| [NamedGroup::X25519, NamedGroup::secp256r1].contains(&g.name()));

    let server = server_config(
        &setup.ech,
        ServerOptions {
            provider: server,
            ..Default::default()
        },
    );
    let client = client_config(ClientOptions {
        ech: ClientEch::Config(setup.list.encoded()),
        provider: client,
        ..Default::default()
    });
    handshake_editing_second_hello(client, server, setup.ech.engine(), edit_second)
}

/// A split-mode backend that negotiates TLS 1.2 for a bare inner hello does not confirm ECH
/// (RFC 9849 §7.2): the engine lets the hello through and rustls answers with TLS 1.2.
///
/// The extension is added on the wire, behind the client's back, so the two transcripts
/// differ and the handshake fails later, at the first encrypted message; what matters here
/// is that the engine did not refuse the hello.
#[test]
fn negotiates_tls12_for_a_bare_inner_hello_without_tls13() {
    let setup = Setup::new();
    let client = client_config(ClientOptions {
        tls12_only: true,
        ..Default::default()
    });
    let add_inner = |bytes: &mut Vec<u8>| {
        edit_outer(bytes, &|hello| {
            hello.set_ext(EXT_ENCRYPTED_CLIENT_HELLO, vec![ECH_TYPE_INNER])
        })
    };
    let outcome = handshake(client, setup.server(), setup.ech.engine(), Some(&add_inner));

    assert!(outcome.engine_alerts.is_empty());
    assert_eq!(outcome.engine.status(), Some(&EchStatus::Backend));
    assert_eq!(
        outcome.server.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
}

/// Bytes after the ClientHello in its record reach rustls in the same record, as they came: a
/// partial message left pending when the handshake keys arrive is an error rustls can only
/// see if it arrives with the ClientHello.
#[test]
fn keeps_what_follows_the_client_hello_in_its_record() {
    const PARTIAL_FINISHED: [u8; 6] = [20, 0, 0, 32, 0xaa, 0xbb];
    let setup = Setup::new();
    let plain = client_config(ClientOptions::default());
    for (name, client, status) in [
        ("no ECH", plain, EchStatus::NotOffered),
        ("ECH", setup.client(), accepted_status()),
    ] {
        let mut wire = first_flight(client);
        let record_len = u16_at(&wire, 3);
        assert_eq!(wire.len(), 5 + record_len, "{name}: one record");
        wire.extend_from_slice(&PARTIAL_FINISHED);
        wire[3..5].copy_from_slice(&((record_len + PARTIAL_FINISHED.len()) as u16).to_be_bytes());

        let mut engine = setup.ech.engine();
        let mut to_rustls = Vec::new();
        engine
            .receive(&wire, &mut to_rustls, &mut Vec::new())
            .unwrap();

        assert_eq!(engine.status(), Some(&status), "{name}");
        let delivered_len = u16_at(&to_rustls, 3);
        assert_eq!(to_rustls.len(), 5 + delivered_len, "{name}: one record");
        assert!(to_rustls.ends_with(&PARTIAL_FINISHED), "{name}");
        if status == EchStatus::NotOffered {
            assert_eq!(to_rustls, wire, "{name}: untouched");
        }
    }
}

fn accepted_status() -> EchStatus {
    EchStatus::Accepted {
        config_id: CONFIG_ID,
        outer_server_name: Some(PUBLIC_NAME.to_string()),
    }
}

#[test]
fn accepts_an_unedited_second_client_hello() {
    // Checks the pump: with nothing changed, ECH survives HelloRetryRequest.
    let setup = Setup::new();
    let outcome = run_with_retry(&setup, &|_| {});
    outcome.result.unwrap();
    assert_eq!(
        outcome.client.handshake_kind(),
        Some(HandshakeKind::FullWithHelloRetryRequest)
    );
    assert_eq!(
        outcome.client.ech_status(),
        rustls::client::EchStatus::Accepted
    );
}

#[test]
fn ends_each_second_client_hello_that_breaks_the_retry_rules_with_its_alert() {
    use AlertDescription::{DecryptError, IllegalParameter, MissingExtension};
    use ClientHelloError as E;
    let hello = EchError::ClientHello;
    let rows: [(&str, OuterEdit, EchError, AlertDescription); 6] = [
        (
            "without encrypted_client_hello",
            |hello| hello.remove_ext(EXT_ENCRYPTED_CLIENT_HELLO),
            hello(E::SecondHelloMissingEch),
            MissingExtension,
        ),
        (
            "encrypted_client_hello of type inner",
            |hello| *ech_data(hello) = vec![1],
            hello(E::SecondHelloNotOuter),
            IllegalParameter,
        ),
        (
            "changed config_id",
            |hello| edit_ech(hello, |ech| ech.config_id ^= 1),
            hello(E::SecondHelloChangedParameters),
            IllegalParameter,
        ),
        (
            "changed cipher_suite",
            |hello| edit_ech(hello, |ech| ech.aead ^= 3),
            hello(E::SecondHelloChangedParameters),
            IllegalParameter,
        ),
        (
            "non-empty enc",
            |hello| edit_ech(hello, |ech| ech.enc = vec![9; 32]),
            hello(E::SecondHelloEncNotEmpty),
            IllegalParameter,
        ),
        (
            "payload that does not decrypt",
            |hello| edit_ech(hello, |ech| ech.payload[0] ^= 1),
            EchError::SecondHelloDecryptFailed,
            DecryptError,
        ),
    ];
    for (case, edit, error, alert) in rows {
        let setup = Setup::new();
        let outcome = run_with_retry(&setup, &|bytes| {
            let flight = Flight::parse(bytes);
            assert!(
                EchOuter::of(&flight.hello).enc.is_empty(),
                "not ClientHello2"
            );
            edit_outer(bytes, &edit);
        });
        assert_eq!(outcome.result, Err(format!("engine: {error}")), "{case}");
        assert_eq!(alerts(&outcome.engine_alerts), vec![alert], "{case}");
    }
}
