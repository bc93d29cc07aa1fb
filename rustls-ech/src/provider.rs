//! The `CryptoProvider` wrapper: the same edits reach rustls's transcript and the wire.
//!
//! rustls computes the TLS 1.3 transcript only through contexts from the negotiated suite's
//! [`Hash`], and encrypts records through the suite's [`Tls13AeadAlgorithm`]. Wrapping both lets
//! this crate substitute edited handshake messages in the transcript (ServerHello,
//! HelloRetryRequest and EncryptedExtensions) and apply the EncryptedExtensions edit to the
//! first encrypted record. The byte engine applies the plaintext edits to the wire. Every edit
//! is a deterministic function of bytes both sides hold, so the two agree.
//!
//! A transcript context learns what to do from the [`registry`]: the engine registers, before
//! rustls reads it, the digest of each ClientHello it delivers together with a [`Plan`]. A
//! context whose first message has no registration (a connection that did not come through the
//! engine, or a client) forwards every byte untouched.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rustls::crypto::cipher::{
    AeadKey, Iv, MessageDecrypter, MessageEncrypter, OutboundChunks, OutboundOpaqueMessage,
    OutboundPlainMessage, PrefixedPayload, Tls13AeadAlgorithm, UnsupportedOperationError,
};
use rustls::crypto::hash::{Context, Hash, HashAlgorithm, Output};
use rustls::crypto::tls13::Hkdf;
use rustls::crypto::{CipherSuiteCommon, CryptoProvider};
use rustls::{ConnectionTrafficSecrets, ContentType, SupportedCipherSuite, Tls13CipherSuite};

use crate::confirm;
use crate::wire::{self, HandshakeType};

/// What the server does to one connection's handshake, decided by the engine.
#[derive(Debug)]
pub(crate) enum Plan {
    /// ECH accepted, or a bare ClientHelloInner (split-mode backend): confirm in ServerHello
    /// and in HelloRetryRequest (RFC 9849 §7.2).
    Confirm,
    /// ECH offered and rejected: add `retry_configs` to EncryptedExtensions (§7.1).
    Reject {
        /// The encoded ECHConfigList, fixed for the connection.
        retry_configs: Arc<[u8]>,
    },
}

/// One connection's plan, found by the digest of the ClientHello the engine delivered.
///
/// Each edit can be claimed once, so that a second context holding the same bytes (a client
/// in the same process using the wrapped provider, or a replayed ClientHello) cannot apply it
/// twice.
#[derive(Debug)]
pub(crate) struct Registration {
    pub(crate) plan: Plan,
    /// ClientHelloInner1.random: after HelloRetryRequest the transcript restarts with only
    /// `message_hash(ClientHello1)`, but the HelloRetryRequest confirmation needs it.
    first_random: [u8; 32],
    server_hello: AtomicBool,
    hello_retry_request: AtomicBool,
    encrypted_extensions: AtomicBool,
    /// When EncryptedExtensions grew its first record past 2^14 bytes, the encrypter sent two
    /// records where rustls made one, under one record header: the length the first of them
    /// really has, for the engine to put in that header (0: nothing to fix).
    split_record_len: AtomicUsize,
    /// The latest ServerHello or HelloRetryRequest edited in the transcript, for the engine to
    /// send in place of what rustls writes.
    posted: Mutex<Option<PostedEdit>>,
}

/// A plaintext handshake message as rustls made it, and as the transcript holds it.
#[derive(Debug)]
struct PostedEdit {
    original: Vec<u8>,
    edited: Vec<u8>,
}

impl Registration {
    pub(crate) fn new(plan: Plan, first_random: [u8; 32]) -> Arc<Self> {
        Arc::new(Self {
            plan,
            first_random,
            server_hello: AtomicBool::new(false),
            hello_retry_request: AtomicBool::new(false),
            encrypted_extensions: AtomicBool::new(false),
            split_record_len: AtomicUsize::new(0),
            posted: Mutex::new(None),
        })
    }

    fn claim(&self, which: &AtomicBool) -> bool {
        !which.swap(true, Ordering::AcqRel)
    }

    fn post(&self, original: Vec<u8>, edited: Vec<u8>) {
        *self.lock_posted() = Some(PostedEdit { original, edited });
    }

    /// The edited form of `original`, if the transcript holds one: the message to put on the
    /// wire instead. Taken once.
    pub(crate) fn take_edit(&self, original: &[u8]) -> Option<Vec<u8>> {
        let mut posted = self.lock_posted();
        match posted.take() {
            Some(edit) if edit.original == original => Some(edit.edited),
            other => {
                *posted = other;
                None
            }
        }
    }

    fn post_split(&self, first_record_len: usize) {
        self.split_record_len
            .store(first_record_len, Ordering::Release);
    }

    /// The true length of the first encrypted record, if the encrypter split it in two (see
    /// [`EchEncrypter`]). Taken once.
    pub(crate) fn take_split(&self) -> Option<usize> {
        match self.split_record_len.swap(0, Ordering::AcqRel) {
            0 => None,
            len => Some(len),
        }
    }

    fn lock_posted(&self) -> std::sync::MutexGuard<'_, Option<PostedEdit>> {
        // The slot holds plain bytes: a panic elsewhere cannot leave it inconsistent.
        self.posted
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The table from ClientHello digests to registrations.
///
/// Entries live exactly as long as the engine that made them needs them: it removes them when
/// rustls has sent its ServerHello, and when it is dropped.
pub(crate) mod registry {
    use super::*;

    type Table = HashMap<Box<[u8]>, Arc<Registration>>;

    fn table() -> &'static Mutex<Table> {
        static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
        TABLE.get_or_init(Default::default)
    }

    fn lock() -> std::sync::MutexGuard<'static, Table> {
        // A panic while holding this lock cannot leave the map inconsistent.
        table()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers `registration` under each digest.
    pub(crate) fn insert(digests: &[Output], registration: &Arc<Registration>) {
        let mut table = lock();
        for digest in digests {
            table.insert(digest.as_ref().into(), registration.clone());
        }
    }

    /// Removes the entries `registration` made (and no one else's).
    pub(crate) fn remove(digests: &[Output], registration: &Arc<Registration>) {
        let mut table = lock();
        for digest in digests {
            if let Some(entry) = table.get(digest.as_ref()) {
                if Arc::ptr_eq(entry, registration) {
                    table.remove(digest.as_ref());
                }
            }
        }
    }

    pub(crate) fn get(digest: &[u8]) -> Option<Arc<Registration>> {
        lock().get(digest).cloned()
    }

    /// The number of live entries; it must not grow with traffic.
    pub(crate) fn len() -> usize {
        lock().len()
    }
}

thread_local! {
    /// The EncryptedExtensions edit, from the transcript context that made it to the encrypter
    /// of the first handshake record, within one synchronous rustls call. Cleared whenever a
    /// transcript starts.
    static PENDING_EE: RefCell<Option<PendingEncryptedExtensions>> = const { RefCell::new(None) };
}

struct PendingEncryptedExtensions {
    original: Vec<u8>,
    edited: Vec<u8>,
    registration: Arc<Registration>,
}

/// A suite's hash and HKDF, as the confirmation computation needs them.
#[derive(Clone, Copy)]
pub(crate) struct SuiteCrypto {
    pub(crate) hash: &'static dyn Hash,
    pub(crate) hkdf: &'static dyn Hkdf,
}

impl SuiteCrypto {
    pub(crate) fn of(suite: &'static Tls13CipherSuite) -> Self {
        Self {
            hash: suite.common.hash_provider,
            hkdf: suite.hkdf_provider,
        }
    }
}

struct WrappedHash {
    base: SuiteCrypto,
}

struct WrappedAead {
    base: &'static dyn Tls13AeadAlgorithm,
}

struct Interned {
    base: &'static Tls13CipherSuite,
    wrapped: &'static Tls13CipherSuite,
}

fn interned() -> &'static Mutex<Vec<Interned>> {
    static INTERNED: OnceLock<Mutex<Vec<Interned>>> = OnceLock::new();
    INTERNED.get_or_init(Default::default)
}

/// The wrapper suite for `base`, allocated once per distinct base suite and reused.
pub(crate) fn wrap_suite(base: &'static Tls13CipherSuite) -> &'static Tls13CipherSuite {
    let mut table = interned()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(found) = table
        .iter()
        .find(|i| core::ptr::eq(i.base, base) || core::ptr::eq(i.wrapped, base))
    {
        return found.wrapped;
    }

    let hash: &'static WrappedHash = Box::leak(Box::new(WrappedHash {
        base: SuiteCrypto::of(base),
    }));
    let aead: &'static WrappedAead = Box::leak(Box::new(WrappedAead {
        base: base.aead_alg,
    }));
    let wrapped: &'static Tls13CipherSuite = Box::leak(Box::new(Tls13CipherSuite {
        common: CipherSuiteCommon {
            suite: base.common.suite,
            hash_provider: hash,
            confidentiality_limit: base.common.confidentiality_limit,
        },
        hkdf_provider: base.hkdf_provider,
        aead_alg: aead,
        quic: base.quic,
    }));
    table.push(Interned { base, wrapped });
    wrapped
}

/// The base suite behind `suite`, if it is one of this crate's wrappers.
pub(crate) fn base_of(suite: &'static Tls13CipherSuite) -> Option<&'static Tls13CipherSuite> {
    let table = interned()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    table
        .iter()
        .find(|i| core::ptr::eq(i.wrapped, suite))
        .map(|i| i.base)
}

/// `provider` with each TLS 1.3 suite replaced by its wrapper; TLS 1.2 suites are untouched.
pub(crate) fn wrap_provider(mut provider: CryptoProvider) -> CryptoProvider {
    for suite in provider.cipher_suites.iter_mut() {
        if let SupportedCipherSuite::Tls13(base) = suite {
            *suite = SupportedCipherSuite::Tls13(wrap_suite(base));
        }
    }
    provider
}

impl Hash for WrappedHash {
    fn start(&self) -> Box<dyn Context> {
        // A new transcript: nothing pending from an earlier one may leak into it.
        PENDING_EE.with(|pending| pending.borrow_mut().take());
        Box::new(EchContext {
            inner: self.base.hash.start(),
            crypto: self.base,
            state: State::new(),
        })
    }

    fn hash(&self, data: &[u8]) -> Output {
        self.base.hash.hash(data)
    }

    fn output_len(&self) -> usize {
        self.base.hash.output_len()
    }

    fn algorithm(&self) -> HashAlgorithm {
        self.base.hash.algorithm()
    }

    fn fips(&self) -> bool {
        self.base.hash.fips()
    }
}

/// Bytes of each message kept for inspection: the header, and enough of the body for a
/// ClientHello's random or a `message_hash` body.
const CAPTURE: usize = 4 + 64;

#[derive(Clone)]
struct Tracker {
    /// Bytes of the current message seen so far (header included).
    seen: usize,
    /// The current message's total length, once its header is known.
    total: Option<usize>,
    capture: [u8; CAPTURE],
    /// Messages completed by this context (and its ancestors).
    completed: usize,
}

impl Tracker {
    fn new() -> Self {
        Self {
            seen: 0,
            total: None,
            capture: [0; CAPTURE],
            completed: 0,
        }
    }

    /// Feeds bytes of at most one message; returns how many were consumed.
    fn consume(&mut self, data: &[u8]) -> usize {
        let mut used = 0;
        while used < data.len() && self.total.is_none() {
            self.capture[self.seen] = data[used];
            self.seen += 1;
            used += 1;
            if self.seen == 4 {
                let len = wire::u24(&self.capture[1..4]);
                self.total = Some(4 + len);
            }
        }
        let Some(total) = self.total else {
            return used;
        };
        let take = (total - self.seen).min(data.len() - used);
        let copy_to = CAPTURE.min(self.seen + take);
        if self.seen < copy_to {
            let n = copy_to - self.seen;
            self.capture[self.seen..copy_to].copy_from_slice(&data[used..used + n]);
        }
        self.seen += take;
        used + take
    }

    fn at_boundary(&self) -> bool {
        self.seen == 0
    }

    fn complete(&self) -> bool {
        self.total == Some(self.seen)
    }

    fn message_type(&self) -> u8 {
        self.capture[0]
    }

    fn captured_body(&self) -> &[u8] {
        let end = self.total.unwrap_or(self.seen).min(CAPTURE).min(self.seen);
        &self.capture[4.min(end)..end]
    }

    fn next_message(&mut self) {
        self.seen = 0;
        self.total = None;
        self.completed += 1;
    }
}

#[derive(Clone)]
enum State {
    /// The first message of this transcript is still arriving.
    First(Tracker),
    /// Bound to a registration: tracks messages, and holds back one that will be edited.
    Bound(Box<Bound>),
    /// Nothing to do on this transcript: every byte goes straight through.
    Passthrough,
}

#[derive(Clone)]
struct Bound {
    registration: Arc<Registration>,
    tracker: Tracker,
    /// ClientHelloInner.random of the latest ClientHello.
    client_random: Option<[u8; 32]>,
    /// The message being held back for editing, if any.
    held: Option<Vec<u8>>,
}

impl State {
    fn new() -> Self {
        Self::First(Tracker::new())
    }
}

struct EchContext {
    inner: Box<dyn Context>,
    crypto: SuiteCrypto,
    state: State,
}

impl EchContext {
    fn update_first(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match &mut self.state {
                State::Passthrough => {
                    self.inner.update(data);
                    return;
                }
                State::First(tracker) => {
                    let used = tracker.consume(data);
                    self.inner.update(&data[..used]);
                    data = &data[used..];
                    if tracker.complete() {
                        let tracker = tracker.clone();
                        self.state = self.bind(tracker);
                    }
                }
                State::Bound(_) => {
                    self.update_bound(data);
                    return;
                }
            }
        }
    }

    /// Looks up the registration for this transcript's first message.
    fn bind(&self, mut tracker: Tracker) -> State {
        let (registration, client_random) = match tracker.message_type() {
            t if t == HandshakeType::ClientHello as u8 => {
                let digest = self.inner.fork_finish();
                (
                    registry::get(digest.as_ref()),
                    random_of(tracker.captured_body()),
                )
            }
            t if t == HandshakeType::MessageHash as u8 => {
                // After HelloRetryRequest the transcript restarts with `message_hash`, whose
                // body is the digest of ClientHello1: the same key the engine registered.
                let registration = registry::get(tracker.captured_body());
                let random = registration.as_ref().map(|r| r.first_random);
                (registration, random)
            }
            _ => (None, None),
        };
        let Some(registration) = registration else {
            return State::Passthrough;
        };
        tracker.next_message();
        State::Bound(Box::new(Bound {
            registration,
            tracker,
            client_random,
            held: None,
        }))
    }

    fn update_bound(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let State::Bound(bound) = &mut self.state else {
                self.inner.update(data);
                return;
            };

            if bound.tracker.at_boundary() && bound.held.is_none() {
                let typ = data[0];
                if wants_edit(&bound.registration.plan, typ) {
                    bound.held = Some(Vec::new());
                }
            }

            let used = bound.tracker.consume(data);
            match &mut bound.held {
                Some(held) => held.extend_from_slice(&data[..used]),
                None => self.inner.update(&data[..used]),
            }
            data = &data[used..];

            if bound.tracker.complete() {
                let typ = bound.tracker.message_type();
                if typ == HandshakeType::ClientHello as u8 {
                    bound.client_random = random_of(bound.tracker.captured_body());
                }
                bound.tracker.next_message();
                if let Some(held) = bound.held.take() {
                    self.finish_held(held);
                }
            }
        }
    }

    /// Edits a complete held message, feeds it to the transcript, and decides what follows.
    fn finish_held(&mut self, message: Vec<u8>) {
        let State::Bound(bound) = &mut self.state else {
            self.inner.update(&message);
            return;
        };
        let registration = bound.registration.clone();
        let client_random = bound.client_random;

        let (edited, done) = match (&registration.plan, message.first().copied()) {
            (Plan::Confirm, Some(t)) if t == HandshakeType::ServerHello as u8 => {
                let hrr = wire::is_hello_retry_request(&message);
                let (slot, confirm): (_, ConfirmFn) = if hrr {
                    (
                        &registration.hello_retry_request,
                        confirm::confirm_hello_retry_request,
                    )
                } else {
                    (&registration.server_hello, confirm::confirm_server_hello)
                };
                let edited =
                    client_random
                        .filter(|_| registration.claim(slot))
                        .and_then(|random| {
                            confirm(self.crypto.hkdf, &random, &message, &mut |m| {
                                self.hash_with(m)
                            })
                        });
                (edited, !hrr)
            }
            (Plan::Reject { retry_configs }, Some(t))
                if t == HandshakeType::EncryptedExtensions as u8 =>
            {
                let edited = wire::add_retry_configs(&message, retry_configs)
                    .filter(|_| registration.claim(&registration.encrypted_extensions));
                (edited, true)
            }
            _ => (None, false),
        };

        match edited {
            Some(edited) => {
                self.inner.update(&edited);
                if message.first() == Some(&(HandshakeType::EncryptedExtensions as u8)) {
                    // Encrypted within this rustls call, by this thread (see `PENDING_EE`).
                    PENDING_EE.with(|pending| {
                        *pending.borrow_mut() = Some(PendingEncryptedExtensions {
                            original: message,
                            edited,
                            registration,
                        })
                    });
                } else {
                    // ServerHello and HelloRetryRequest leave in plaintext: the engine sends
                    // this edit.
                    registration.post(message, edited);
                }
            }
            None => self.inner.update(&message),
        }
        if done {
            self.state = State::Passthrough;
        }
    }

    /// Hashes the transcript so far followed by `message`, leaving the transcript unchanged.
    fn hash_with(&self, message: &[u8]) -> Output {
        let mut ctx = self.inner.fork();
        ctx.update(message);
        ctx.finish()
    }

    /// A copy of the underlying context including held bytes, unedited: for a fork or finish
    /// that lands in the middle of a held message, which rustls does not do.
    fn flushed_inner(&self) -> Box<dyn Context> {
        let mut ctx = self.inner.fork();
        if let State::Bound(bound) = &self.state {
            if let Some(held) = &bound.held {
                ctx.update(held);
            }
        }
        ctx
    }
}

/// `confirm::confirm_server_hello` or `confirm::confirm_hello_retry_request`.
type ConfirmFn =
    fn(&dyn Hkdf, &[u8; 32], &[u8], &mut dyn FnMut(&[u8]) -> Output) -> Option<Vec<u8>>;

fn wants_edit(plan: &Plan, typ: u8) -> bool {
    match plan {
        Plan::Confirm => typ == HandshakeType::ServerHello as u8,
        Plan::Reject { .. } => typ == HandshakeType::EncryptedExtensions as u8,
    }
}

fn random_of(client_hello_body: &[u8]) -> Option<[u8; 32]> {
    client_hello_body.get(2..34)?.try_into().ok()
}

impl Context for EchContext {
    fn fork_finish(&self) -> Output {
        self.flushed_inner().finish()
    }

    fn fork(&self) -> Box<dyn Context> {
        Box::new(Self {
            inner: self.inner.fork(),
            crypto: self.crypto,
            state: self.state.clone(),
        })
    }

    fn finish(self: Box<Self>) -> Output {
        self.flushed_inner().finish()
    }

    fn update(&mut self, data: &[u8]) {
        match &self.state {
            State::Passthrough => self.inner.update(data),
            State::First(_) => self.update_first(data),
            State::Bound(_) => self.update_bound(data),
        }
    }
}

impl Tls13AeadAlgorithm for WrappedAead {
    fn encrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageEncrypter> {
        Box::new(EchEncrypter {
            inner: self.base.encrypter(key, iv),
            first: true,
            extra_records: 0,
        })
    }

    fn decrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageDecrypter> {
        self.base.decrypter(key, iv)
    }

    fn key_len(&self) -> usize {
        self.base.key_len()
    }

    fn extract_keys(
        &self,
        key: AeadKey,
        iv: Iv,
    ) -> Result<ConnectionTrafficSecrets, UnsupportedOperationError> {
        self.base.extract_keys(key, iv)
    }

    fn fips(&self) -> bool {
        self.base.fips()
    }
}

/// Applies a pending EncryptedExtensions edit to the first record it encrypts.
///
/// The edit makes that record's plaintext longer. When it would pass 2^14 bytes (RFC 8446
/// §5.1), the encrypter seals the plaintext as two records and returns them as one message
/// whose header rustls will write with their joint length; the engine, still watching the
/// server's records, puts the first record's own length back (see
/// [`Registration::take_split`]). The second record took a sequence number rustls did not
/// count, so every later record of this key is sealed one further on. This way no record of
/// the connection has to be kept short to leave room for `retry_configs`.
struct EchEncrypter {
    inner: Box<dyn MessageEncrypter>,
    first: bool,
    /// Records sealed beyond those rustls asked for, added to rustls's sequence numbers.
    extra_records: u64,
}

impl EchEncrypter {
    /// Seals `plaintext` (handshake content longer than one record) as consecutive records.
    fn encrypt_split(
        &mut self,
        plaintext: &[u8],
        version: rustls::ProtocolVersion,
        seq: u64,
        registration: &Registration,
    ) -> Result<OutboundOpaqueMessage, rustls::Error> {
        let mut chunks = plaintext.chunks(wire::MAX_FRAGMENT_LEN);
        let mut seal = |chunk: &[u8], seq: u64| {
            self.inner.encrypt(
                OutboundPlainMessage {
                    typ: ContentType::Handshake,
                    version,
                    payload: OutboundChunks::Single(chunk),
                },
                seq,
            )
        };
        let first = seal(chunks.next().unwrap_or_default(), seq)?;
        let first_len = first.payload.as_ref().len();
        let mut joined = PrefixedPayload::with_capacity(
            first_len + wire::RECORD_HEADER_LEN + plaintext.len() + 256,
        );
        joined.extend_from_slice(first.payload.as_ref());
        let mut extra = 0;
        for chunk in chunks {
            extra += 1;
            joined.extend_from_slice(&seal(chunk, seq + extra)?.encode());
        }

        self.extra_records = extra;
        registration.post_split(first_len);
        log::trace!("ECH: retry_configs split EncryptedExtensions' record in two");
        Ok(OutboundOpaqueMessage::new(first.typ, first.version, joined))
    }
}

impl MessageEncrypter for EchEncrypter {
    fn encrypt(
        &mut self,
        msg: OutboundPlainMessage<'_>,
        seq: u64,
    ) -> Result<OutboundOpaqueMessage, rustls::Error> {
        if !self.first {
            return self.inner.encrypt(msg, seq + self.extra_records);
        }
        self.first = false;

        let Some(pending) = PENDING_EE.with(|pending| pending.borrow_mut().take()) else {
            return self.inner.encrypt(msg, seq);
        };
        let plaintext = msg.payload.to_vec();
        if msg.typ != ContentType::Handshake || !plaintext.starts_with(&pending.original) {
            return self.inner.encrypt(msg, seq);
        }

        let mut edited = pending.edited;
        edited.extend_from_slice(&plaintext[pending.original.len()..]);
        if edited.len() > wire::MAX_FRAGMENT_LEN {
            return self.encrypt_split(&edited, msg.version, seq, &pending.registration);
        }
        self.inner.encrypt(
            OutboundPlainMessage {
                typ: msg.typ,
                version: msg.version,
                payload: OutboundChunks::Single(&edited),
            },
            seq,
        )
    }

    fn encrypted_payload_len(&self, payload_len: usize) -> usize {
        self.inner.encrypted_payload_len(payload_len)
    }
}
