//! Shared fixtures: a test PKI, ECH keys, rustls's ECH client, and an in-memory pump that
//! drives a client and a server through the ECH engine.
#![allow(dead_code)]

use std::sync::Arc;

use rustls::client::{EchConfig, EchGreaseConfig, EchMode};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, EchConfigListBytes, PrivateKeyDer, ServerName};
use rustls::server::ResolvesServerCertUsingSni;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};
use rustls_ech::config::{EchConfigBuilder, EchConfigList};
use rustls_ech::{EchEngine, EchKey, EchKeys, EchServer};

pub const PUBLIC_NAME: &str = "public.example";
pub const INNER_NAME: &str = "secret.example";

pub struct Pki {
    pub ca: CertificateDer<'static>,
    pub certs: Vec<(String, CertificateDer<'static>, PrivateKeyDer<'static>)>,
    pub client_cert: (CertificateDer<'static>, PrivateKeyDer<'static>),
}

pub fn pki() -> &'static Pki {
    static PKI: std::sync::OnceLock<Pki> = std::sync::OnceLock::new();
    PKI.get_or_init(|| {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf = |name: &str| {
            let key = rcgen::KeyPair::generate().unwrap();
            let params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
            let cert = params.signed_by(&key, &issuer).unwrap();
            (
                name.to_string(),
                cert.der().clone(),
                PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
            )
        };
        let client = leaf("client.example");
        Pki {
            ca: ca.der().clone(),
            certs: vec![leaf(PUBLIC_NAME), leaf(INNER_NAME)],
            client_cert: (client.1, client.2),
        }
    })
}

pub fn aws_lc_rs() -> CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}

pub fn ring() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// One ECH key and its config list, for `public_name`.
pub fn key(config_id: u8, kem: rustls_ech::suite::Kem, retry: bool) -> (EchKey, EchConfigList) {
    let (config, private_key) = EchConfigBuilder::new(PUBLIC_NAME)
        .config_id(config_id)
        .kem(kem)
        .generate()
        .unwrap();
    let list = EchConfigList::new(vec![config.clone()]).unwrap();
    (EchKey::new(config, private_key, retry), list)
}

/// One ECH key offering exactly `suites`.
pub fn key_with_suites(
    config_id: u8,
    kem: rustls_ech::suite::Kem,
    suites: Vec<rustls_ech::suite::SymmetricSuite>,
) -> (EchKey, EchConfigList) {
    let (config, private_key) = EchConfigBuilder::new(PUBLIC_NAME)
        .config_id(config_id)
        .kem(kem)
        .cipher_suites(suites)
        .generate()
        .unwrap();
    let list = EchConfigList::new(vec![config.clone()]).unwrap();
    (EchKey::new(config, private_key, true), list)
}

pub fn x25519_key(config_id: u8) -> (EchKey, EchConfigList) {
    key(
        config_id,
        rustls_ech::suite::Kem::DhKemX25519HkdfSha256,
        true,
    )
}

pub struct ServerOptions {
    pub provider: CryptoProvider,
    pub client_auth: bool,
    pub tls12: bool,
    /// At least this many bytes of extra certificates (copies of the CA's) in the public name's
    /// chain: a server flight longer than one record.
    pub public_chain_padding: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            provider: aws_lc_rs(),
            client_auth: false,
            tls12: true,
            public_chain_padding: 0,
        }
    }
}

pub fn server_config(ech: &EchServer, options: ServerOptions) -> Arc<ServerConfig> {
    let provider = Arc::new(ech.wrap(options.provider));
    let mut resolver = ResolvesServerCertUsingSni::new();
    for (name, cert, key) in &pki().certs {
        let signing = provider
            .key_provider
            .load_private_key(key.clone_key())
            .unwrap();
        let mut chain = vec![cert.clone()];
        if name == PUBLIC_NAME {
            let mut padding = 0;
            while padding < options.public_chain_padding {
                chain.push(pki().ca.clone());
                padding += pki().ca.len();
            }
        }
        resolver
            .add(name, CertifiedKey::new(chain, signing))
            .unwrap();
    }
    let versions: &[&rustls::SupportedProtocolVersion] = if options.tls12 {
        rustls::ALL_VERSIONS
    } else {
        &[&rustls::version::TLS13]
    };
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .unwrap();
    let config = if options.client_auth {
        let mut roots = RootCertStore::empty();
        roots.add(pki().ca.clone()).unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .unwrap();
        builder
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(Arc::new(resolver))
    } else {
        builder
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(resolver))
    };
    ech.check_config(&config).unwrap();
    Arc::new(config)
}

pub enum ClientEch<'a> {
    None,
    Config(&'a [u8]),
    Grease,
}

pub struct ClientOptions<'a> {
    pub ech: ClientEch<'a>,
    pub provider: CryptoProvider,
    pub tls12_only: bool,
    pub client_auth: bool,
    pub resumption: Option<rustls::client::Resumption>,
}

impl Default for ClientOptions<'_> {
    fn default() -> Self {
        Self {
            ech: ClientEch::None,
            provider: aws_lc_rs(),
            tls12_only: false,
            client_auth: false,
            resumption: None,
        }
    }
}

pub fn client_config(options: ClientOptions<'_>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(pki().ca.clone()).unwrap();
    let hpke = rustls::crypto::aws_lc_rs::hpke::ALL_SUPPORTED_SUITES;
    let builder = ClientConfig::builder_with_provider(Arc::new(options.provider));
    let builder = match options.ech {
        ClientEch::Config(list) => {
            let config = EchConfig::new(EchConfigListBytes::from(list.to_vec()), hpke).unwrap();
            builder.with_ech(EchMode::Enable(config)).unwrap()
        }
        ClientEch::Grease => {
            let suite = rustls::crypto::aws_lc_rs::hpke::DH_KEM_X25519_HKDF_SHA256_AES_128;
            let (public, _) = rustls::crypto::hpke::Hpke::generate_key_pair(suite).unwrap();
            builder
                .with_ech(EchMode::Grease(EchGreaseConfig::new(suite, public)))
                .unwrap()
        }
        ClientEch::None if options.tls12_only => builder
            .with_protocol_versions(&[&rustls::version::TLS12])
            .unwrap(),
        ClientEch::None => builder.with_safe_default_protocol_versions().unwrap(),
    };
    let builder = builder.with_root_certificates(roots);
    let mut config = if options.client_auth {
        let (cert, key) = &pki().client_cert;
        builder
            .with_client_auth_cert(vec![cert.clone()], key.clone_key())
            .unwrap()
    } else {
        builder.with_no_client_auth()
    };
    if let Some(resumption) = options.resumption {
        config.resumption = resumption;
    }
    Arc::new(config)
}

/// What one in-memory handshake produced.
pub struct Outcome {
    pub client: ClientConnection,
    pub server: ServerConnection,
    pub engine: EchEngine,
    pub result: Result<(), String>,
    /// The client's error, if the client failed.
    pub client_error: Option<rustls::Error>,
    /// Bytes the engine sent to the client itself (alerts).
    pub engine_alerts: Vec<u8>,
}

/// Runs a handshake between `client` and `server` through `engine`, in memory. `edit_first`
/// may change the client's first flight before the engine sees it.
/// An edit applied to the client's first flight.
pub type Edit<'a> = &'a dyn Fn(&mut Vec<u8>);

pub fn handshake(
    client_config: Arc<ClientConfig>,
    server_config: Arc<ServerConfig>,
    engine: EchEngine,
    edit_first: Option<Edit<'_>>,
) -> Outcome {
    let name = ServerName::try_from(INNER_NAME).unwrap();
    let mut client = ClientConnection::new(client_config, name).unwrap();
    let mut server = ServerConnection::new(server_config).unwrap();
    let mut engine = engine;
    let mut engine_alerts = Vec::new();
    let mut first = true;
    let mut client_error = None;

    let result = (|| {
        for _ in 0..20 {
            let mut wire = Vec::new();
            while client.wants_write() {
                client.write_tls(&mut wire).map_err(|e| e.to_string())?;
            }
            if first && !wire.is_empty() {
                if let Some(edit) = edit_first {
                    edit(&mut wire);
                }
                first = false;
            }
            if !wire.is_empty() {
                let mut to_rustls = Vec::new();
                let mut to_peer = Vec::new();
                let received = engine.receive(&wire, &mut to_rustls, &mut to_peer);
                engine_alerts.extend_from_slice(&to_peer);
                if let Err(e) = received {
                    let _ = client.read_tls(&mut &to_peer[..]);
                    let _ = client.process_new_packets();
                    return Err(format!("engine: {e}"));
                }
                let mut input = &to_rustls[..];
                while !input.is_empty() {
                    server.read_tls(&mut input).map_err(|e| e.to_string())?;
                    if let Err(e) = server.process_new_packets() {
                        deliver_server_output(&mut server, &mut engine, &mut client);
                        return Err(format!("server: {e}"));
                    }
                }
            }
            deliver_server_output(&mut server, &mut engine, &mut client);
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

fn deliver_server_output(
    server: &mut ServerConnection,
    engine: &mut EchEngine,
    client: &mut ClientConnection,
) {
    let mut out = Vec::new();
    while server.wants_write() {
        server.write_tls(&mut out).unwrap();
    }
    let mut to_peer = Vec::new();
    engine.send(&out, &mut to_peer).unwrap();
    // A flight longer than the client's buffer is read in parts, processed between them; an
    // error stays with the client for the caller's `process_new_packets`.
    let mut input = &to_peer[..];
    while !input.is_empty() {
        if client.read_tls(&mut input).is_ok() {
            continue;
        }
        if client.process_new_packets().is_err() || client.read_tls(&mut input).is_err() {
            break;
        }
    }
}

/// The retry configs a rejected client received, as an encoded ECHConfigList.
pub fn retry_configs(error: Option<&rustls::Error>) -> Option<Vec<u8>> {
    use rustls::internal::msgs::codec::Codec;
    match error? {
        rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::ServerRejectedEncryptedClientHello(Some(configs)),
        ) => {
            let mut body = Vec::new();
            for config in configs {
                config.encode(&mut body);
            }
            let mut list = (body.len() as u16).to_be_bytes().to_vec();
            list.extend_from_slice(&body);
            Some(list)
        }
        _ => None,
    }
}

/// The alert descriptions in plaintext alert records of `bytes`.
pub fn alerts(bytes: &[u8]) -> Vec<rustls::AlertDescription> {
    let mut found = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 5 {
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        let Some(record) = rest.get(5..5 + len) else {
            break;
        };
        if rest[0] == 21 && record.len() == 2 {
            found.push(rustls::AlertDescription::from(record[1]));
        }
        rest = &rest[5 + len..];
    }
    found
}

pub fn server_with(keys: Vec<EchKey>) -> EchServer {
    EchServer::new(EchKeys::new(keys).unwrap())
}

/// The ECH status of an accepted connection whose outer name was the public name.
pub fn accepted(config_id: u8) -> rustls_ech::EchStatus {
    rustls_ech::EchStatus::Accepted {
        config_id,
        outer_server_name: Some(PUBLIC_NAME.into()),
    }
}

/// The server supports only P-256, the client's first key share is X25519: HelloRetryRequest.
pub fn p256_only(mut provider: CryptoProvider) -> CryptoProvider {
    provider
        .kx_groups
        .retain(|g| g.name() == rustls::NamedGroup::secp256r1);
    provider
}

/// A client provider whose first key share is X25519, with P-256 as the alternative.
pub fn x25519_first(mut provider: CryptoProvider) -> CryptoProvider {
    provider.kx_groups.retain(|g| {
        g.name() == rustls::NamedGroup::X25519 || g.name() == rustls::NamedGroup::secp256r1
    });
    provider
}

impl Outcome {
    /// Hands the client what the server sent after the handshake (its session tickets).
    pub fn deliver_tickets(&mut self) {
        let mut out = Vec::new();
        while self.server.wants_write() {
            self.server.write_tls(&mut out).unwrap();
        }
        self.client.read_tls(&mut &out[..]).unwrap();
        self.client.process_new_packets().unwrap();
    }
}
