//! Fixtures shared by this crate's benchmarks: one certificate (ECDSA P-256), one group
//! (X25519), one suite (TLS13_AES_128_GCM_SHA256), and in-memory handshakes between rustls's
//! ECH client and a server, with the server's work kept apart so it can be timed or counted
//! on its own.
//!
//! The server's work is done only inside the functions named `server_side_*`, so that
//! `valgrind --tool=callgrind --toggle-collect='*server_side_*'` counts exactly the server's
//! instructions, and [`hpke_floor_open`] is the one HPKE open the ECH handshake cannot avoid.

pub mod datapath;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rustls::client::{EchConfig, EchMode, EchStatus as ClientEchStatus};
use rustls::crypto::hpke::{EncapsulatedSecret, Hpke, HpkePrivateKey};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, EchConfigListBytes, PrivateKeyDer, ServerName};
use rustls::server::ResolvesServerCertUsingSni;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, ClientConnection, NamedGroup, RootCertStore, ServerConfig};
use rustls::{ConfigBuilder, WantsVerifier};
use rustls::{ServerConnection, SupportedCipherSuite};
use rustls_ech::config::{EchConfigBuilder, EchConfigList};
use rustls_ech::hpke::HpkeBackend;
use rustls_ech::suite::{Aead, HpkeSuiteId, Kdf, SymmetricSuite};
use rustls_ech::{EchEngine, EchKey, EchKeys, EchServer, EchStatus};

/// The name ECH hides.
pub const INNER_NAME: &str = "secret.example";
/// The ECHConfig's `public_name`.
pub const PUBLIC_NAME: &str = "public.example";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The server's crypto: rustls's provider and the HPKE backend an ECH server pairs with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// aws-lc-rs for TLS, rustls's aws-lc-rs HPKE suites.
    AwsLcRs,
    /// ring for TLS, the hpke-rs (libcrux) HPKE backend: what a ring-only server runs.
    Ring,
}

impl Provider {
    /// Both providers.
    pub const ALL: [Self; 2] = [Self::AwsLcRs, Self::Ring];

    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::AwsLcRs => "aws-lc-rs",
            Self::Ring => "ring",
        }
    }

    /// Parses [`Provider::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The TLS provider, limited to X25519 and TLS13_AES_128_GCM_SHA256.
    pub fn tls(self) -> CryptoProvider {
        let base = match self {
            Self::AwsLcRs => rustls::crypto::aws_lc_rs::default_provider(),
            Self::Ring => rustls::crypto::ring::default_provider(),
        };
        restrict(base, &[NamedGroup::X25519])
    }

    /// The HPKE backend.
    pub fn hpke(self) -> HpkeBackend {
        match self {
            Self::AwsLcRs => HpkeBackend::aws_lc_rs(),
            Self::Ring => HpkeBackend::hpke_rs(),
        }
    }
}

/// `provider` with only TLS13_AES_128_GCM_SHA256 and `groups`, in that order.
fn restrict(mut provider: CryptoProvider, groups: &[NamedGroup]) -> CryptoProvider {
    provider.cipher_suites.retain(|suite| {
        matches!(suite, SupportedCipherSuite::Tls13(s)
            if s.common.suite == rustls::CipherSuite::TLS13_AES_128_GCM_SHA256)
    });
    let all = std::mem::take(&mut provider.kx_groups);
    provider.kx_groups = groups
        .iter()
        .filter_map(|g| all.iter().find(|kx| kx.name() == *g).copied())
        .collect();
    provider
}

/// Which handshake a fixture runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Stock rustls: no ECH layer, a client without ECH.
    Plain,
    /// Stock rustls after a HelloRetryRequest (the client's first key share is P-256).
    PlainHrr,
    /// The ECH layer on, a client that does not offer ECH.
    NotOffered,
    /// ECH accepted.
    Accepted,
    /// ECH accepted after a HelloRetryRequest.
    AcceptedHrr,
    /// ECH rejected: the client holds a config the server lacks, and gets retry configs.
    Rejected,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Self; 6] = [
        Self::Plain,
        Self::PlainHrr,
        Self::NotOffered,
        Self::Accepted,
        Self::AcceptedHrr,
        Self::Rejected,
    ];

    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::PlainHrr => "plain-hrr",
            Self::NotOffered => "ech-not-offered",
            Self::Accepted => "ech-accepted",
            Self::AcceptedHrr => "ech-accepted-hrr",
            Self::Rejected => "ech-rejected",
        }
    }

    /// Parses [`Kind::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    fn ech_layer(self) -> bool {
        !matches!(self, Self::Plain | Self::PlainHrr)
    }

    fn hrr(self) -> bool {
        matches!(self, Self::PlainHrr | Self::AcceptedHrr)
    }
}

/// A test PKI: a CA, and a certificate signed by it for each name, all ECDSA P-256.
pub struct Pki {
    /// The CA certificate.
    pub ca: CertificateDer<'static>,
    /// The CA certificate, PEM.
    pub ca_pem: String,
    /// (name, certificate, private key) for the inner and the public name.
    pub leaves: Vec<(String, CertificateDer<'static>, PrivateKeyDer<'static>)>,
}

/// The process's PKI, made once.
pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| make_pki().expect("rcgen makes a PKI"))
}

fn make_pki() -> Result<Pki, BoxError> {
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key)?;
    let ca_pem = ca.pem();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let mut leaves = Vec::new();
    for name in [INNER_NAME, PUBLIC_NAME] {
        let key = rcgen::KeyPair::generate()?;
        let cert =
            rcgen::CertificateParams::new(vec![name.to_string()])?.signed_by(&key, &issuer)?;
        leaves.push((
            name.to_string(),
            cert.der().clone(),
            PrivateKeyDer::try_from(key.serialize_der())?,
        ));
    }
    Ok(Pki {
        ca: ca.der().clone(),
        ca_pem,
        leaves,
    })
}

/// A resolver holding the PKI's leaf certificates, by server name.
pub fn resolver(provider: &CryptoProvider) -> Result<ResolvesServerCertUsingSni, BoxError> {
    let mut resolver = ResolvesServerCertUsingSni::new();
    for (name, cert, key) in &pki().leaves {
        let signing = provider.key_provider.load_private_key(key.clone_key())?;
        resolver.add(name, CertifiedKey::new(vec![cert.clone()], signing))?;
    }
    Ok(resolver)
}

/// One ECH key for [`PUBLIC_NAME`] with the default KEM (X25519) and suites.
pub fn ech_key(config_id: u8, backend: HpkeBackend) -> Result<(EchKey, EchConfigList), BoxError> {
    let (config, private_key) = EchConfigBuilder::new(PUBLIC_NAME)
        .config_id(config_id)
        .backend(backend)
        .generate()?;
    let list = EchConfigList::new(vec![config.clone()])?;
    Ok((EchKey::new(config, private_key, true), list))
}

/// rustls's client (aws-lc-rs), trusting `ca`, offering only X25519 (P-256 first with `hrr`)
/// and TLS13_AES_128_GCM_SHA256, with ECH when `ech` holds an ECHConfigList.
pub fn client_config(
    ca: &CertificateDer<'static>,
    ech: Option<&[u8]>,
    hrr: bool,
) -> Result<ClientConfig, BoxError> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.clone())?;
    Ok(client_builder(ech, hrr)?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// [`client_config`] before its certificate verifier is chosen.
pub fn client_builder(
    ech: Option<&[u8]>,
    hrr: bool,
) -> Result<ConfigBuilder<ClientConfig, WantsVerifier>, BoxError> {
    let groups: &[NamedGroup] = if hrr {
        &[NamedGroup::secp256r1, NamedGroup::X25519]
    } else {
        &[NamedGroup::X25519]
    };
    let provider = restrict(rustls::crypto::aws_lc_rs::default_provider(), groups);
    let builder = ClientConfig::builder_with_provider(Arc::new(provider));
    Ok(match ech {
        Some(list) => {
            let hpke = rustls::crypto::aws_lc_rs::hpke::ALL_SUPPORTED_SUITES;
            let config = EchConfig::new(EchConfigListBytes::from(list.to_vec()), hpke)?;
            builder.with_ech(EchMode::Enable(config))?
        }
        None => builder.with_protocol_versions(&[&rustls::version::TLS13])?,
    })
}

/// A client and a server ready to run one kind of handshake, again and again.
pub struct Fixture {
    /// The handshake this fixture runs.
    pub kind: Kind,
    /// The server's provider.
    pub provider: Provider,
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
    ech: Option<EchServer>,
}

/// What one handshake ended with.
#[derive(Debug)]
pub struct Outcome {
    /// The server engine's ECH status (`None` without the ECH layer).
    pub server_status: Option<EchStatus>,
    /// The client's ECH status.
    pub client_status: ClientEchStatus,
    /// The client received retry configs.
    pub got_retry_configs: bool,
    /// The server saw a HelloRetryRequest go out.
    pub hrr: bool,
    /// The server name rustls's server saw.
    pub server_name: Option<String>,
}

impl Fixture {
    /// A fixture for `kind` on `provider`.
    pub fn new(kind: Kind, provider: Provider) -> Result<Self, BoxError> {
        let tls = provider.tls();
        let resolver = Arc::new(resolver(&tls)?);
        let (key, list) = ech_key(1, provider.hpke())?;
        let (_, stale) = ech_key(2, provider.hpke())?;

        let (ech, tls) = if kind.ech_layer() {
            let ech = EchServer::with_backend(EchKeys::new(vec![key])?, provider.hpke());
            let wrapped = ech.wrap(tls);
            (Some(ech), wrapped)
        } else {
            (None, tls)
        };
        let server = ServerConfig::builder_with_provider(Arc::new(tls))
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_no_client_auth()
            .with_cert_resolver(resolver);
        if let Some(ech) = &ech {
            ech.check_config(&server)?;
        }

        let client_ech = match kind {
            Kind::Accepted | Kind::AcceptedHrr => Some(list.encoded()),
            Kind::Rejected => Some(stale.encoded()),
            _ => None,
        };
        let client = client_config(&pki().ca, client_ech, kind.hrr())?;
        Ok(Self {
            kind,
            provider,
            client: Arc::new(client),
            server: Arc::new(server),
            ech,
        })
    }

    /// Runs one handshake in memory, adding the time the server spent to `server_time`.
    pub fn handshake(&self, server_time: &mut Duration) -> Result<Outcome, String> {
        let name = ServerName::try_from(INNER_NAME).map_err(|e| e.to_string())?;
        let mut client = ClientConnection::new(self.client.clone(), name).map_err(error)?;
        let start = Instant::now();
        let mut server = server_side_start(&self.server, self.ech.as_ref())?;
        *server_time += start.elapsed();

        let mut to_server = Vec::with_capacity(4096);
        let mut to_client = Vec::with_capacity(8192);
        let mut got_retry_configs = false;
        let mut hrr = false;
        for round in 0.. {
            if round > 8 {
                return Err("the handshake did not finish".into());
            }
            to_server.clear();
            while client.wants_write() {
                client
                    .write_tls(&mut to_server)
                    .map_err(|e| e.to_string())?;
            }
            to_client.clear();
            let start = Instant::now();
            server_side_step(&mut server, &to_server, &mut to_client)?;
            *server_time += start.elapsed();
            hrr |= round == 0 && is_hello_retry_request(&to_client);

            let mut input = &to_client[..];
            while !input.is_empty() {
                client.read_tls(&mut input).map_err(|e| e.to_string())?;
            }
            match client.process_new_packets() {
                Ok(_) => {}
                Err(rustls::Error::PeerIncompatible(
                    rustls::PeerIncompatible::ServerRejectedEncryptedClientHello(configs),
                )) => {
                    got_retry_configs = configs.is_some();
                    break;
                }
                Err(e) => return Err(format!("client: {e}")),
            }
            if !client.is_handshaking() && !server.conn.is_handshaking() && !client.wants_write() {
                break;
            }
        }

        let server_name = server.conn.server_name().map(str::to_owned);
        let start = Instant::now();
        let server_status = server_side_finish(server);
        *server_time += start.elapsed();
        Ok(Outcome {
            server_status,
            client_status: client.ech_status(),
            got_retry_configs,
            hrr,
            server_name,
        })
    }

    /// Runs one handshake and checks it went as its kind says.
    pub fn check(&self) -> Result<Outcome, String> {
        let outcome = self.handshake(&mut Duration::default())?;
        let accepted = matches!(outcome.server_status, Some(EchStatus::Accepted { .. }))
            && outcome.client_status == ClientEchStatus::Accepted
            && outcome.server_name.as_deref() == Some(INNER_NAME);
        let fine = match self.kind {
            Kind::Plain | Kind::PlainHrr => {
                outcome.server_status.is_none()
                    && outcome.server_name.as_deref() == Some(INNER_NAME)
            }
            Kind::NotOffered => outcome.server_status == Some(EchStatus::NotOffered),
            Kind::Accepted | Kind::AcceptedHrr => accepted,
            Kind::Rejected => {
                outcome.server_status == Some(EchStatus::Rejected) && outcome.got_retry_configs
            }
        };
        if !fine || outcome.hrr != self.kind.hrr() {
            return Err(format!(
                "{} handshake went wrong: {outcome:?}",
                self.kind.name()
            ));
        }
        Ok(outcome)
    }

    /// The HPKE open of this fixture's ClientHelloOuter, ready to repeat: the same key, `enc`,
    /// AAD and payload the server opens in an accepted handshake.
    pub fn hpke_floor(&self) -> Result<HpkeFloor, BoxError> {
        let ech = self.ech.as_ref().ok_or("no ECH layer")?;
        let keys = ech.keys().snapshot();
        let key = keys.keys().first().ok_or("no key")?;
        let name = ServerName::try_from(INNER_NAME)?;
        let mut client = ClientConnection::new(self.client.clone(), name)?;
        let mut flight = Vec::new();
        client.write_tls(&mut flight)?;
        let outer = outer_ech(&flight).ok_or("the client offered no ECH")?;
        let id = HpkeSuiteId {
            kem: key.config().kem(),
            sym: outer.suite,
        };
        let hpke = self.provider.hpke().suite(id).ok_or("no such HPKE suite")?;
        Ok(HpkeFloor {
            hpke,
            enc: EncapsulatedSecret(outer.enc),
            info: key.config().hpke_info(),
            private_key: HpkePrivateKey::from(key.private_key().secret_bytes().to_vec()),
            aad: outer.aad,
            payload: outer.payload,
        })
    }
}

fn error(e: rustls::Error) -> String {
    e.to_string()
}

/// One connection's server side: rustls, behind the ECH engine when the layer is on.
pub struct ServerSide {
    conn: ServerConnection,
    engine: Option<EchEngine>,
    scratch: Vec<u8>,
}

/// Starts a server connection.
#[inline(never)]
pub fn server_side_start(
    config: &Arc<ServerConfig>,
    ech: Option<&EchServer>,
) -> Result<ServerSide, String> {
    Ok(ServerSide {
        conn: ServerConnection::new(config.clone()).map_err(error)?,
        engine: ech.map(EchServer::engine),
        scratch: Vec::new(),
    })
}

/// Hands the server the client's bytes and collects what it sends back.
#[inline(never)]
pub fn server_side_step(
    side: &mut ServerSide,
    input: &[u8],
    output: &mut Vec<u8>,
) -> Result<(), String> {
    let mut delivered = Vec::new();
    let mut input = match &mut side.engine {
        Some(engine) => {
            engine
                .receive(input, &mut delivered, output)
                .map_err(|e| format!("engine: {e}"))?;
            &delivered[..]
        }
        None => input,
    };
    while !input.is_empty() {
        side.conn.read_tls(&mut input).map_err(|e| e.to_string())?;
        side.conn
            .process_new_packets()
            .map_err(|e| format!("server: {e}"))?;
    }
    side.scratch.clear();
    while side.conn.wants_write() {
        side.conn
            .write_tls(&mut side.scratch)
            .map_err(|e| e.to_string())?;
    }
    match &mut side.engine {
        Some(engine) => engine
            .send(&side.scratch, output)
            .map_err(|e| format!("engine: {e}")),
        None => {
            output.extend_from_slice(&side.scratch);
            Ok(())
        }
    }
}

/// Ends a server connection, returning its ECH status.
#[inline(never)]
pub fn server_side_finish(side: ServerSide) -> Option<EchStatus> {
    side.engine.and_then(|engine| engine.status().cloned())
}

/// One HPKE open, as the server does for an accepted ClientHelloOuter.
pub struct HpkeFloor {
    hpke: &'static dyn Hpke,
    enc: EncapsulatedSecret,
    info: Vec<u8>,
    private_key: HpkePrivateKey,
    aad: Vec<u8>,
    payload: Vec<u8>,
}

impl HpkeFloor {
    /// The length of the ciphertext opened.
    pub fn payload_len(&self) -> usize {
        self.payload.len()
    }
}

/// Sets up the HPKE context and opens the payload: EncodedClientHelloInner.
#[inline(never)]
pub fn hpke_floor_open(floor: &HpkeFloor) -> Result<Vec<u8>, rustls::Error> {
    let mut opener = floor
        .hpke
        .setup_opener(&floor.enc, &floor.info, &floor.private_key)?;
    opener.open(&floor.aad, &floor.payload)
}

struct OuterEch {
    suite: SymmetricSuite,
    enc: Vec<u8>,
    payload: Vec<u8>,
    aad: Vec<u8>,
}

/// The ECH extension of the ClientHelloOuter in `flight` (one record), and its AAD: the
/// ClientHello body with the payload zeroed (RFC 9849 §5.2).
fn outer_ech(flight: &[u8]) -> Option<OuterEch> {
    let body = flight.get(5 + 4..)?;
    let mut at = 2 + 32;
    at += 1 + usize::from(*body.get(at)?);
    at += 2 + u16_at(body, at)?;
    at += 1 + usize::from(*body.get(at)?);
    let end = at + 2 + u16_at(body, at)?;
    at += 2;
    while at + 4 <= end {
        let typ = u16_at(body, at)?;
        let len = u16_at(body, at + 2)?;
        let data = body.get(at + 4..at + 4 + len)?;
        if typ == 0xfe0d && data.first() == Some(&0) {
            let suite = SymmetricSuite {
                kdf: Kdf::from(u16_at(data, 1)? as u16),
                aead: Aead::from(u16_at(data, 3)? as u16),
            };
            let enc_len = u16_at(data, 6)?;
            let enc = data.get(8..8 + enc_len)?.to_vec();
            let payload_at = 8 + enc_len + 2;
            let payload_len = u16_at(data, payload_at - 2)?;
            let payload = data.get(payload_at..payload_at + payload_len)?.to_vec();
            let mut aad = body.to_vec();
            let start = at + 4 + payload_at;
            aad[start..start + payload_len].fill(0);
            return Some(OuterEch {
                suite,
                enc,
                payload,
                aad,
            });
        }
        at += 4 + len;
    }
    None
}

fn u16_at(bytes: &[u8], at: usize) -> Option<usize> {
    let b = bytes.get(at..at + 2)?;
    Some(usize::from(u16::from_be_bytes([b[0], b[1]])))
}

/// Whether the server's first flight is a HelloRetryRequest (RFC 8446 §4.1.3).
fn is_hello_retry_request(flight: &[u8]) -> bool {
    const HRR_RANDOM: [u8; 8] = [0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11];
    flight.get(5 + 4 + 2..5 + 4 + 2 + 8) == Some(&HRR_RANDOM[..])
}
