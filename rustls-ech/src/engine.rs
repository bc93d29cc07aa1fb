//! The sans-IO per-connection engine: between the peer's bytes and rustls.
//!
//! Inbound, it reassembles the first ClientHello, opens ClientHelloOuter (RFC 9849 §7.1) and
//! hands rustls ClientHelloInner in its place. Outbound, it patches rustls's ServerHello or
//! HelloRetryRequest with the acceptance confirmation (§7.2, §7.2.1). Once rustls has sent its
//! ServerHello the engine has nothing left to do, and both directions pass straight through;
//! when ECH was rejected, outbound bytes pass straight through one record later, after the
//! record carrying `retry_configs`.

use std::sync::Arc;

use rustls::crypto::hash::Output;
use rustls::crypto::hpke::{EncapsulatedSecret, HpkeOpener};

use crate::error::EchError;
use crate::hello::{ClientHello, EchClientHello, EchOuter};
use crate::keys::EchKeys;
use crate::provider::{registry, Plan, Registration};
use crate::server::ServerShared;
use crate::suite::{HpkeSuiteId, SymmetricSuite};
use crate::wire::{self, HandshakeType};

/// What happened to ECH on a connection, known once its ClientHello is processed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EchStatus {
    /// The ClientHello carried no `encrypted_client_hello` extension: a plain TLS connection.
    NotOffered,
    /// ClientHelloOuter was decrypted and the handshake runs on ClientHelloInner (RFC 9849 §7.1).
    Accepted {
        /// The `config_id` of the ECHConfig whose key opened it.
        config_id: u8,
        /// The server name ClientHelloOuter carried (normally the config's `public_name`).
        outer_server_name: Option<String>,
    },
    /// ECH was offered but no key opened it (unknown `config_id`, failed decryption,
    /// unsupported cipher suite, or a GREASE extension). The handshake runs on
    /// ClientHelloOuter and the client receives the retry configs (§7.1).
    Rejected,
    /// A bare ClientHelloInner, forwarded by a split-mode client-facing server: this server
    /// acts as the backend and confirms acceptance (§7.2).
    Backend,
}

#[derive(Debug)]
enum Inbound {
    /// Reassembling ClientHello1 (or, after HelloRetryRequest, ClientHello2).
    AwaitHello { second: bool },
    /// ClientHello delivered: records pass through whole until rustls answers.
    Records,
    /// Bytes pass straight through.
    Passthrough,
}

#[derive(Debug)]
enum Outbound {
    /// Watching rustls's records for ServerHello or HelloRetryRequest.
    Records,
    /// ECH rejected: watching for the first encrypted record, whose header may need the length
    /// of the record it really begins with (see [`Registration::take_split`]).
    FirstEncrypted,
    /// Bytes pass straight through.
    Passthrough,
}

/// The HPKE context and parameters of an accepted ClientHello1, kept for ClientHello2.
struct Accepted {
    opener: Box<dyn HpkeOpener>,
    config_id: u8,
    cipher_suite: SymmetricSuite,
}

/// One connection's ECH engine.
///
/// Feed it the peer's bytes with [`EchEngine::receive`] and rustls's output with
/// [`EchEngine::send`]; it appends what rustls and the peer should get to the buffers given.
/// When both directions report passthrough, bytes need not go through it at all.
pub struct EchEngine {
    shared: Arc<ServerShared>,
    keys: Arc<EchKeys>,
    inbound: Inbound,
    outbound: Outbound,
    /// Peer bytes not yet split into whole records.
    in_buf: Vec<u8>,
    /// rustls bytes not yet split into whole records.
    out_buf: Vec<u8>,
    /// The handshake message being reassembled from records.
    hello: Vec<u8>,
    /// `legacy_record_version` of the ClientHello's first record, reused for what we deliver.
    record_version: [u8; 2],
    status: Option<EchStatus>,
    /// ClientHelloInner.random of the latest ClientHello delivered.
    client_random: [u8; 32],
    accepted: Option<Accepted>,
    /// The application's accept filter refused ClientHelloInner: rejected, without retry
    /// configs.
    declined: bool,
    registration: Option<Arc<Registration>>,
    /// The digests under which `registration` is in the registry, until rustls has read them.
    registered: Vec<Output>,
    failed: bool,
}

impl EchEngine {
    pub(crate) fn new(shared: Arc<ServerShared>) -> Self {
        let keys = shared.keys.snapshot();
        Self {
            shared,
            keys,
            inbound: Inbound::AwaitHello { second: false },
            outbound: Outbound::Records,
            in_buf: Vec::new(),
            out_buf: Vec::new(),
            hello: Vec::new(),
            record_version: [3, 1],
            status: None,
            client_random: [0; 32],
            accepted: None,
            declined: false,
            registration: None,
            registered: Vec::new(),
            failed: false,
        }
    }

    /// The connection's ECH status, once its ClientHello has been processed.
    pub fn status(&self) -> Option<&EchStatus> {
        self.status.as_ref()
    }

    /// How many bytes the engine holds for this connection: a ClientHello being reassembled
    /// and partial records. It only grows with bytes that arrived, and is bounded by the
    /// ClientHello bound plus a record in each direction.
    pub fn buffered_len(&self) -> usize {
        self.in_buf.len() + self.out_buf.len() + self.hello.len()
    }

    /// Whether peer bytes now go to rustls unchanged, so a caller may skip [`Self::receive`].
    pub fn inbound_passthrough(&self) -> bool {
        matches!(self.inbound, Inbound::Passthrough) && self.in_buf.is_empty()
    }

    /// Whether rustls's bytes now go to the peer unchanged, so a caller may skip [`Self::send`].
    pub fn outbound_passthrough(&self) -> bool {
        matches!(self.outbound, Outbound::Passthrough) && self.out_buf.is_empty()
    }

    /// Takes bytes received from the peer; appends to `to_rustls` what rustls should read.
    ///
    /// On an error the engine has appended a fatal alert to `to_peer`; the connection is over.
    pub fn receive(
        &mut self,
        data: &[u8],
        to_rustls: &mut Vec<u8>,
        to_peer: &mut Vec<u8>,
    ) -> Result<(), EchError> {
        if self.failed {
            return Err(EchError::ConnectionFailed);
        }
        if matches!(self.inbound, Inbound::Passthrough) {
            to_rustls.append(&mut self.in_buf);
            to_rustls.extend_from_slice(data);
            return Ok(());
        }
        self.in_buf.extend_from_slice(data);
        match self.process_inbound(to_rustls) {
            Ok(()) => Ok(()),
            Err(error) => {
                self.failed = true;
                log::debug!("ECH: ending the handshake: {error}");
                to_peer.extend_from_slice(&wire::alert_record(error.alert()));
                Err(error)
            }
        }
    }

    fn process_inbound(&mut self, to_rustls: &mut Vec<u8>) -> Result<(), EchError> {
        let mut at = 0;
        while let Some(&typ) = self.in_buf.get(at) {
            // Judged from the content type alone, before the rest of the header, as rustls
            // judges it: a record that is not ours goes to rustls, which alerts as it would.
            if !self.wants_record(typ) {
                self.yield_to_rustls(to_rustls);
                break;
            }
            let Some(len) = record_len(&self.in_buf[at..])? else {
                break;
            };
            let record = at..at + wire::RECORD_HEADER_LEN + len;
            let fragment = record.start + wire::RECORD_HEADER_LEN..record.end;

            match self.inbound {
                // rustls refuses an empty handshake record (RFC 8446 §5.1): it must see it.
                Inbound::AwaitHello { .. } if typ == wire::CONTENT_HANDSHAKE && len == 0 => {
                    self.yield_to_rustls(to_rustls);
                    break;
                }
                Inbound::AwaitHello { second } if typ == wire::CONTENT_HANDSHAKE => {
                    if self.hello.is_empty() && !second {
                        self.record_version = [self.in_buf[at + 1], self.in_buf[at + 2]];
                    }
                    self.hello.extend_from_slice(&self.in_buf[fragment.clone()]);
                    at = record.end;
                    if let Some(message_len) = self.complete_hello_len()? {
                        let rest = self.hello.split_off(message_len);
                        let message = core::mem::take(&mut self.hello);
                        self.handle_hello(message, &rest, second, to_rustls)?;
                    }
                }
                Inbound::AwaitHello { .. } | Inbound::Records => {
                    to_rustls.extend_from_slice(&self.in_buf[record.clone()]);
                    at = record.end;
                }
                Inbound::Passthrough => break,
            }
            if matches!(self.inbound, Inbound::Passthrough) {
                break;
            }
        }
        self.in_buf.drain(..at);
        if matches!(self.inbound, Inbound::Passthrough) {
            to_rustls.append(&mut self.in_buf);
        }
        Ok(())
    }

    /// Whether the engine handles a record of content type `typ` now: the first record must be
    /// a handshake record, and later ones of a type TLS 1.3 defines.
    fn wants_record(&self, typ: u8) -> bool {
        match self.inbound {
            Inbound::AwaitHello { second: false } => typ == wire::CONTENT_HANDSHAKE,
            Inbound::AwaitHello { second: true } | Inbound::Records => {
                (wire::CONTENT_CHANGE_CIPHER_SPEC..=wire::CONTENT_APPLICATION_DATA).contains(&typ)
            }
            Inbound::Passthrough => false,
        }
    }

    /// Leaves the rest of the connection to rustls, which will alert on what it is given.
    /// Whatever part of a ClientHello came first reaches it as it arrived.
    fn yield_to_rustls(&mut self, to_rustls: &mut Vec<u8>) {
        if !self.hello.is_empty() {
            let partial = core::mem::take(&mut self.hello);
            wire::push_handshake_records(to_rustls, self.record_version, &partial);
        }
        self.inbound = Inbound::Passthrough;
        self.outbound = Outbound::Passthrough;
        self.status.get_or_insert(EchStatus::NotOffered);
    }

    /// The length of the handshake message in `self.hello` once it is complete.
    fn complete_hello_len(&self) -> Result<Option<usize>, EchError> {
        if self.hello.len() < 4 {
            return Ok(None);
        }
        if self.hello[0] != HandshakeType::ClientHello as u8 {
            return Err(EchError::UnexpectedMessage);
        }
        let len = 4 + wire::u24(&self.hello[1..4]);
        if len > self.shared.max_client_hello_len {
            return Err(EchError::ClientHelloTooLarge {
                len,
                max: self.shared.max_client_hello_len,
            });
        }
        Ok((self.hello.len() >= len).then_some(len))
    }

    /// Decides ECH for a whole ClientHello and hands rustls what it should process. `rest` is
    /// whatever followed the ClientHello in its record: it goes to rustls in the same record,
    /// for rustls to judge as it would on the wire (a partial message left pending when the
    /// keys change is an error only if rustls sees it arrive with the ClientHello).
    fn handle_hello(
        &mut self,
        message: Vec<u8>,
        rest: &[u8],
        second: bool,
        to_rustls: &mut Vec<u8>,
    ) -> Result<(), EchError> {
        let hello = ClientHello::parse(&message).map_err(EchError::ClientHello)?;
        let delivered = if second {
            self.second_hello(&hello)?
        } else {
            self.first_hello(&hello)?
        };
        let delivered = delivered.unwrap_or(message);

        if self.status == Some(EchStatus::NotOffered) {
            self.inbound = Inbound::Passthrough;
            self.outbound = Outbound::Passthrough;
            self.push_hello(to_rustls, &delivered, rest);
            return Ok(());
        }

        if let Some(random) = delivered.get(6..38) {
            self.client_random.copy_from_slice(random);
        }
        if !second {
            self.register(&delivered);
        }
        self.push_hello(to_rustls, &delivered, rest);
        self.inbound = Inbound::Records;
        Ok(())
    }

    fn push_hello(&self, to_rustls: &mut Vec<u8>, hello: &[u8], rest: &[u8]) {
        if rest.is_empty() {
            wire::push_handshake_records(to_rustls, self.record_version, hello);
        } else {
            let joined = [hello, rest].concat();
            wire::push_handshake_records(to_rustls, self.record_version, &joined);
        }
    }

    /// Decides ECH for ClientHello1; returns ClientHelloInner when accepted.
    fn first_hello(&mut self, hello: &ClientHello<'_>) -> Result<Option<Vec<u8>>, EchError> {
        let outer = match hello.ech().map_err(EchError::ClientHello)? {
            None => {
                self.status = Some(EchStatus::NotOffered);
                return Ok(None);
            }
            Some(EchClientHello::Inner) => {
                // Whatever versions it offers: the confirmation is made only if TLS 1.3 is
                // negotiated (RFC 9849 §7.2), so a TLS 1.2 handshake keeps rustls's ServerHello.
                log::debug!("ECH: bare ClientHelloInner; acting as split-mode backend");
                self.status = Some(EchStatus::Backend);
                return Ok(None);
            }
            Some(EchClientHello::Outer(outer)) => outer,
        };

        match self.open_outer(hello, &outer)? {
            Some((inner, _)) if !self.application_accepts(&inner) => {
                log::debug!(
                    "ECH: declined by the application (config_id {}); no retry configs",
                    outer.config_id
                );
                self.status = Some(EchStatus::Rejected);
                self.declined = true;
                Ok(None)
            }
            Some((inner, accepted)) => {
                log::debug!("ECH: accepted with config_id {}", outer.config_id);
                log::trace!("ECH: ClientHelloInner is {} bytes", inner.len());
                self.status = Some(EchStatus::Accepted {
                    config_id: outer.config_id,
                    outer_server_name: server_name(hello),
                });
                self.accepted = Some(accepted);
                Ok(Some(inner))
            }
            None => {
                log::debug!(
                    "ECH: rejected (config_id {}); sending retry configs",
                    outer.config_id
                );
                self.status = Some(EchStatus::Rejected);
                Ok(None)
            }
        }
    }

    /// Whether the application's accept filter, if it set one, takes this ClientHelloInner.
    fn application_accepts(&self, inner: &[u8]) -> bool {
        let Some(filter) = self.shared.accept_filter() else {
            return true;
        };
        // A ClientHelloInner without a well-formed server_name shows the filter no name.
        let name = ClientHello::parse(inner).ok().and_then(|h| server_name(&h));
        filter(name.as_deref())
    }

    /// Trial-decrypts ClientHelloOuter with every key whose `config_id` matches (RFC 9849 §7.1).
    /// A key that fails to open it is a rejection, not an error.
    fn open_outer(
        &self,
        hello: &ClientHello<'_>,
        outer: &EchOuter,
    ) -> Result<Option<(Vec<u8>, Accepted)>, EchError> {
        let bytes = hello.bytes();
        let enc = EncapsulatedSecret(bytes[outer.enc.clone()].to_vec());
        let payload = &bytes[outer.payload.clone()];
        let mut aad = None;

        for key in self.keys.by_config_id(outer.config_id) {
            let config = key.config();
            if !config.cipher_suites().contains(&outer.cipher_suite) {
                continue;
            }
            let id = HpkeSuiteId {
                kem: config.kem(),
                sym: outer.cipher_suite,
            };
            let Some(hpke) = self.shared.hpke.suite(id) else {
                continue;
            };
            let Ok(mut opener) = hpke.setup_opener(&enc, &config.hpke_info(), key.private_key())
            else {
                continue;
            };
            let aad = aad.get_or_insert_with(|| hello.client_hello_outer_aad(outer));
            let Ok(encoded_inner) = opener.open(aad, payload) else {
                continue;
            };
            let inner = self.decode_inner(hello, &encoded_inner)?;
            let accepted = Accepted {
                opener,
                config_id: outer.config_id,
                cipher_suite: outer.cipher_suite,
            };
            return Ok(Some((inner, accepted)));
        }
        Ok(None)
    }

    fn decode_inner(&self, outer: &ClientHello<'_>, encoded: &[u8]) -> Result<Vec<u8>, EchError> {
        // Rebuilding also checks ClientHelloInner (RFC 9849 §7.1).
        crate::hello::decode_client_hello_inner(outer, encoded, self.shared.max_client_hello_len)
            .map_err(EchError::ClientHello)
    }

    /// ClientHello2 after HelloRetryRequest (RFC 9849 §7.1.1): when ClientHello1 was accepted it
    /// must be an outer hello with the same parameters and an empty `enc`, opened with the same
    /// HPKE context.
    fn second_hello(&mut self, hello: &ClientHello<'_>) -> Result<Option<Vec<u8>>, EchError> {
        let Some(accepted) = self.accepted.as_mut() else {
            return Ok(None);
        };
        let outer = hello
            .check_second_outer(accepted.cipher_suite, accepted.config_id)
            .map_err(EchError::ClientHello)?;
        let aad = hello.client_hello_outer_aad(&outer);
        let encoded = accepted
            .opener
            .open(&aad, &hello.bytes()[outer.payload.clone()])
            .map_err(|_| EchError::SecondHelloDecryptFailed)?;
        self.decode_inner(hello, &encoded).map(Some)
    }

    /// Tells the provider wrapper what to do with this connection's transcript.
    fn register(&mut self, delivered: &[u8]) {
        let plan = match &self.status {
            Some(EchStatus::Accepted { .. } | EchStatus::Backend) => Plan::Confirm,
            Some(EchStatus::Rejected) if !self.declined => Plan::Reject {
                retry_configs: self.keys.retry_configs_shared(),
            },
            _ => return,
        };
        let digests = self.shared.digests(delivered);
        let registration = Registration::new(plan, self.client_random);
        registry::insert(&digests, &registration);
        self.registration = Some(registration);
        self.registered = digests;
    }

    /// Removes this connection's entries from the registry; the engine keeps its registration.
    fn deregister(&mut self) {
        let digests = core::mem::take(&mut self.registered);
        if let Some(registration) = &self.registration {
            registry::remove(&digests, registration);
        }
    }

    /// Takes bytes rustls wrote; appends to `to_peer` what the peer should get.
    pub fn send(&mut self, data: &[u8], to_peer: &mut Vec<u8>) -> Result<(), EchError> {
        if matches!(self.outbound, Outbound::Passthrough) {
            to_peer.append(&mut self.out_buf);
            to_peer.extend_from_slice(data);
            return Ok(());
        }
        self.out_buf.extend_from_slice(data);

        let mut at = 0;
        loop {
            if matches!(self.outbound, Outbound::FirstEncrypted) {
                if self.out_buf.len() < at + wire::RECORD_HEADER_LEN {
                    break;
                }
                if self.out_buf[at] == wire::CONTENT_APPLICATION_DATA {
                    self.fix_split_record(at);
                    self.outbound = Outbound::Passthrough;
                    break;
                }
            }
            let Some(len) = record_len(&self.out_buf[at..])? else {
                break;
            };
            let typ = self.out_buf[at];
            let record = at..at + wire::RECORD_HEADER_LEN + len;
            let fragment = &self.out_buf[record.start + wire::RECORD_HEADER_LEN..record.end];
            // rustls sends a TLS 1.3 ServerHello alone in its record; a TLS 1.2 one may share
            // its record with the rest of the flight.
            let server_hello_len = (typ == wire::CONTENT_HANDSHAKE
                && fragment.first() == Some(&(HandshakeType::ServerHello as u8))
                && fragment.len() >= 4)
                .then(|| wire::u24(&fragment[1..4]) + 4)
                .filter(|len| *len <= fragment.len());
            match server_hello_len {
                Some(len) => {
                    let message = fragment[..len].to_vec();
                    let rest = fragment[len..].to_vec();
                    let version = [self.out_buf[at + 1], self.out_buf[at + 2]];
                    let mut edited = self.server_hello(message);
                    edited.extend_from_slice(&rest);
                    wire::push_handshake_records(to_peer, version, &edited);
                }
                None => to_peer.extend_from_slice(&self.out_buf[record.clone()]),
            }
            at = record.end;
            if matches!(self.outbound, Outbound::Passthrough) {
                break;
            }
        }
        self.out_buf.drain(..at);
        if matches!(self.outbound, Outbound::Passthrough) {
            to_peer.append(&mut self.out_buf);
        }
        Ok(())
    }

    /// Puts the first encrypted record's own length in its header, if the provider wrapper
    /// sealed two records under it.
    fn fix_split_record(&mut self, at: usize) {
        let split = self.registration.take().and_then(|r| r.take_split());
        if let Some(len) = split.and_then(|len| u16::try_from(len).ok()) {
            self.out_buf[at + 3..at + wire::RECORD_HEADER_LEN].copy_from_slice(&len.to_be_bytes());
        }
    }

    /// Sends ServerHello or HelloRetryRequest as rustls's transcript holds it: with the
    /// confirmation the provider wrapper put there, if it made one. Taking the edit from the
    /// transcript, rather than computing it again, means the wire carries an edit exactly when
    /// the transcript does.
    fn server_hello(&mut self, message: Vec<u8>) -> Vec<u8> {
        let edited = self
            .registration
            .as_ref()
            .and_then(|registration| registration.take_edit(&message))
            .unwrap_or(message);

        if wire::is_hello_retry_request(&edited) {
            self.inbound = Inbound::AwaitHello { second: true };
        } else {
            // rustls has answered: nothing more for the engine to do on this connection, but
            // for the record that may carry retry configs.
            self.deregister();
            self.inbound = Inbound::Passthrough;
            let plan = self.registration.as_ref().map(|r| &r.plan);
            self.outbound = match plan {
                Some(Plan::Reject { .. }) if wire::server_hello_selects_tls13(&edited) => {
                    Outbound::FirstEncrypted
                }
                _ => {
                    self.registration = None;
                    Outbound::Passthrough
                }
            };
        }
        edited
    }
}

impl Drop for EchEngine {
    fn drop(&mut self) {
        self.deregister();
    }
}

impl core::fmt::Debug for EchEngine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EchEngine")
            .field("inbound", &self.inbound)
            .field("outbound", &self.outbound)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// The fragment length of the whole record at the start of `bytes`, if it has arrived.
fn record_len(bytes: &[u8]) -> Result<Option<usize>, EchError> {
    if bytes.len() < wire::RECORD_HEADER_LEN {
        return Ok(None);
    }
    let len = wire::u16_at(bytes, 3).unwrap_or(0);
    // Ciphertext records may exceed 2^14 by up to 256 bytes (RFC 8446 §5.2).
    if len > wire::MAX_FRAGMENT_LEN + 256 {
        return Err(EchError::RecordOverflow);
    }
    Ok((bytes.len() >= wire::RECORD_HEADER_LEN + len).then_some(len))
}

/// The `host_name` of a ClientHello's `server_name` extension (RFC 6066 §3), if well formed.
fn server_name(hello: &ClientHello<'_>) -> Option<String> {
    let ext = hello.extension(EXT_SERVER_NAME)?;
    let data = hello.bytes().get(ext.data)?;
    let list_len = wire::u16_at(data, 0)?;
    let list = data.get(2..2 + list_len)?;
    if list.first() != Some(&0) {
        return None;
    }
    let name_len = wire::u16_at(list, 1)?;
    let name = list.get(3..3 + name_len)?;
    core::str::from_utf8(name).ok().map(str::to_owned)
}

const EXT_SERVER_NAME: u16 = 0;
