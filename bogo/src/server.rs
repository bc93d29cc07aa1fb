//! The rustls `ServerConfig` and the ECH server a test's flags describe.

use std::sync::{Arc, Mutex};

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{aws_lc_rs, CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, StoresServerSessions};
use rustls::sign::CertifiedKey;
use rustls::{
    DigitallySignedStruct, DistinguishedName, KeyLog, ProtocolVersion, ServerConfig,
    SignatureScheme, SupportedProtocolVersion,
};
use rustls_ech::keyfile::KeyFile;
use rustls_ech::{EchKey, EchKeys, EchServer};

use crate::flags::{FlagError, Options};

/// What the handshake showed the shim's callbacks, for the checks after it.
#[derive(Debug, Default)]
pub struct Observed {
    /// The protocols the client offered, from the ClientHello rustls processed.
    pub offered_alpn: Option<Vec<Vec<u8>>>,
    /// The scheme of the client's CertificateVerify.
    pub client_signature: Option<SignatureScheme>,
    /// Traffic secrets logged by rustls: (client, server).
    pub traffic_secrets: (Vec<u8>, Vec<u8>),
}

/// State shared by every handshake of a test, so later handshakes can resume earlier ones.
pub struct Shared {
    /// Whether every handshake uses stateful resumption: rustls accepts early data only so,
    /// and a ticket from one handshake must be usable by the next.
    pub stateful: bool,
    pub sessions: Arc<dyn StoresServerSessions>,
    pub ticketer: Arc<dyn rustls::server::ProducesTickets>,
    pub observed: Arc<Mutex<Observed>>,
}

impl Shared {
    pub fn new(stateful: bool) -> Result<Self, String> {
        Ok(Self {
            stateful,
            sessions: rustls::server::ServerSessionMemoryCache::new(64),
            ticketer: aws_lc_rs::Ticketer::new().map_err(|e| e.to_string())?,
            observed: Arc::default(),
        })
    }
}

/// How a test's server is built.
pub struct Server {
    pub config: Arc<ServerConfig>,
    /// `None` when the ECH layer is off.
    pub ech: Option<EchServer>,
}

/// Builds the server for one handshake. Errors are flags this shim cannot honour.
pub fn build(opts: &Options, shared: &Shared) -> Result<Server, FlagError> {
    let versions = versions(opts)?;
    let provider = provider(opts)?;
    let ech = if opts.no_ech_layer {
        if opts.uses_ech() {
            return Err(FlagError::Unimplemented(
                "ECH flags with -no-ech-layer".into(),
            ));
        }
        None
    } else {
        Some(ech_server(opts)?)
    };
    let provider = match &ech {
        Some(ech) => ech.wrap(provider),
        None => provider,
    };
    let provider = Arc::new(provider);

    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| FlagError::Unimplemented(format!("versions: {e}")))?;
    let builder = if opts.require_client_cert || opts.verify_peer {
        builder.with_client_cert_verifier(Arc::new(AnyClientCert {
            mandatory: opts.require_client_cert,
            schemes: verify_schemes(opts, &provider)?,
            algorithms: provider.signature_verification_algorithms,
            observed: shared.observed.clone(),
        }))
    } else {
        builder.with_no_client_auth()
    };
    let key = certified_key(opts, &provider)?;
    let mut config = builder.with_cert_resolver(Arc::new(Resolver {
        key,
        observed: shared.observed.clone(),
    }));

    config.session_storage = shared.sessions.clone();
    if !opts.no_ticket && !shared.stateful {
        config.ticketer = shared.ticketer.clone();
    }
    if opts.no_ticket {
        config.send_tls13_tickets = 0;
    }
    if opts.enable_early_data {
        // BoringSSL's limit, which the runner checks.
        config.max_early_data_size = 14336;
        config.send_half_rtt_data = true;
    }
    config.alpn_protocols = match (&opts.select_alpn, opts.decline_alpn, opts.reject_alpn) {
        (_, _, true) => vec![b"\x00unmatchable".to_vec()],
        (_, true, false) | (None, false, false) => Vec::new(),
        (Some(protocol), false, false) => vec![protocol.clone()],
    };
    config.ignore_client_order = opts.server_preference;
    config.require_ems = opts.require_ems;
    // The runner's limit is on plaintext; rustls's includes the record header.
    config.max_fragment_size = opts.max_send_fragment.map(|size| size + 5);
    if opts.export_traffic_secrets {
        config.key_log = Arc::new(SecretLog(shared.observed.clone()));
    }

    if let Some(ech) = &ech {
        if versions.contains(&&rustls::version::TLS13) {
            ech.check_config(&config)
                .map_err(|e| FlagError::Invalid(format!("ECH config: {e}")))?;
        }
    }
    Ok(Server {
        config: Arc::new(config),
        ech,
    })
}

fn versions(opts: &Options) -> Result<Vec<&'static SupportedProtocolVersion>, FlagError> {
    let min = opts.min_version.unwrap_or(0);
    let max = opts.max_version.unwrap_or(u16::MAX);
    let mut versions = Vec::new();
    for (version, disabled) in [
        (&rustls::version::TLS13, opts.no_tls13),
        (&rustls::version::TLS12, opts.no_tls12),
    ] {
        let wire = u16::from(version.version);
        if !disabled && (min..=max).contains(&wire) {
            versions.push(version);
        }
    }
    if versions.is_empty() {
        return Err(FlagError::Unimplemented(
            "no version rustls supports is enabled".into(),
        ));
    }
    if let Some(expected) = opts.expect_version {
        if !versions.iter().any(|v| u16::from(v.version) == expected) {
            return Err(FlagError::Unimplemented(format!(
                "expected version {expected:#06x}"
            )));
        }
    }
    Ok(versions)
}

/// aws-lc-rs with every cipher suite, and the groups `-curves` names, in its order.
fn provider(opts: &Options) -> Result<CryptoProvider, FlagError> {
    let mut provider = aws_lc_rs::default_provider();
    provider.cipher_suites = aws_lc_rs::ALL_CIPHER_SUITES.to_vec();
    if !opts.curves.is_empty() {
        let mut groups = Vec::new();
        for id in &opts.curves {
            let group = aws_lc_rs::ALL_KX_GROUPS
                .iter()
                .find(|group| u16::from(group.name()) == *id)
                .ok_or_else(|| FlagError::Unimplemented(format!("curve {id}")))?;
            groups.push(*group);
        }
        provider.kx_groups = groups;
    }
    Ok(provider)
}

fn ech_server(opts: &Options) -> Result<EchServer, FlagError> {
    let mut keys = Vec::with_capacity(opts.ech_keys.len());
    for flags in &opts.ech_keys {
        let private_key = flags.key.as_deref().unwrap_or_default();
        let file = KeyFile::from_raw(&flags.config, private_key)
            .map_err(|e| FlagError::Invalid(format!("ECH key: {e}")))?;
        let key = EchKey::from_key_file(file, flags.retry.unwrap_or(false))
            .ok_or_else(|| FlagError::Invalid("ECH key file without a key".into()))?;
        keys.push(key);
    }
    let keys = EchKeys::new(keys).map_err(|e| FlagError::Invalid(format!("ECH keys: {e}")))?;
    let ech = EchServer::new(keys);
    Ok(if opts.decline_ech {
        ech.with_accept_filter(|_| false)
    } else {
        ech
    })
}

fn certified_key(
    opts: &Options,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, FlagError> {
    let (Some(cert_file), Some(key_file)) = (&opts.cert_file, &opts.key_file) else {
        return Err(FlagError::Unimplemented(
            "a server without a certificate".into(),
        ));
    };
    let chain = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| FlagError::Invalid(format!("{cert_file}: {e}")))?;
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| FlagError::Invalid(format!("{key_file}: {e}")))?;
    CertifiedKey::from_der(chain, key, provider)
        .map(Arc::new)
        .map_err(|e| FlagError::Unimplemented(format!("certificate: {e}")))
}

fn verify_schemes(
    opts: &Options,
    provider: &CryptoProvider,
) -> Result<Vec<SignatureScheme>, FlagError> {
    let supported = provider
        .signature_verification_algorithms
        .supported_schemes();
    if opts.verify_prefs.is_empty() {
        return Ok(supported);
    }
    opts.verify_prefs
        .iter()
        .map(|id| {
            supported
                .iter()
                .copied()
                .find(|scheme| u16::from(*scheme) == *id)
                .ok_or_else(|| FlagError::Unimplemented(format!("verify scheme {id:#06x}")))
        })
        .collect()
}

/// Serves the one certificate, noting what the ClientHello offered.
#[derive(Debug)]
struct Resolver {
    key: Arc<CertifiedKey>,
    observed: Arc<Mutex<Observed>>,
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let offered = hello
            .alpn()
            .map(|protocols| protocols.map(<[u8]>::to_vec).collect());
        lock(&self.observed).offered_alpn = offered;
        Some(self.key.clone())
    }
}

/// Accepts any client certificate, as BoringSSL's shim does unless told to fail, but checks
/// the client's signature.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    schemes: Vec<SignatureScheme>,
    algorithms: WebPkiSupportedAlgorithms,
    observed: Arc<Mutex<Observed>>,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        lock(&self.observed).client_signature = Some(dss.scheme);
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        lock(&self.observed).client_signature = Some(dss.scheme);
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}

/// Keeps the application traffic secrets, for `-export-traffic-secrets`.
#[derive(Debug)]
struct SecretLog(Arc<Mutex<Observed>>);

impl KeyLog for SecretLog {
    fn log(&self, label: &str, _client_random: &[u8], secret: &[u8]) {
        let mut observed = lock(&self.0);
        match label {
            "CLIENT_TRAFFIC_SECRET_0" => observed.traffic_secrets.0 = secret.to_vec(),
            "SERVER_TRAFFIC_SECRET_0" => observed.traffic_secrets.1 = secret.to_vec(),
            _ => {}
        }
    }

    fn will_log(&self, label: &str) -> bool {
        label.ends_with("TRAFFIC_SECRET_0")
    }
}

pub fn lock(observed: &Mutex<Observed>) -> std::sync::MutexGuard<'_, Observed> {
    observed.lock().unwrap_or_else(|p| p.into_inner())
}

/// The version number rustls reports, as the runner writes it.
pub fn version_number(version: ProtocolVersion) -> u16 {
    u16::from(version)
}
