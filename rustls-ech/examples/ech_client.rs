//! An HTTPS client with Encrypted Client Hello: rustls's own ECH client, one GET request.
//!
//! ```sh
//! cargo run --example ech_client -- --ca ech-demo/ca.pem \
//!     --ech-config-file ech-demo/keys/ech.pem --connect 127.0.0.1:8443 \
//!     https://secret.example:8443/ech
//! ```
//!
//! It prints whether the server accepted ECH, the name the certificate was verified for, and
//! the response. When the server rejects ECH it prints the retry configs the server sent and,
//! with `--retry`, connects again with them. `--hrr` makes the client's first key share one
//! the example server lacks, so the handshake goes through HelloRetryRequest.

use std::error::Error;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use clap::Parser;
use rustls::client::{EchConfig, EchMode};
use rustls::crypto::aws_lc_rs;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, EchConfigListBytes, ServerName};
use rustls::{ClientConfig, ClientConnection, HandshakeKind, RootCertStore};
use rustls_ech::config::EchConfigList;
use rustls_ech::keyfile::KeyFile;

type BoxError = Box<dyn Error + Send + Sync>;

/// Fetch an https:// URL with Encrypted Client Hello (RFC 9849).
#[derive(Parser)]
struct Args {
    /// The URL, such as https://secret.example:8443/ech.
    url: String,
    /// The ECHConfigList, base64 (as in a DNS HTTPS record's ech= value).
    #[arg(
        long,
        conflicts_with = "ech_config_file",
        required_unless_present = "ech_config_file"
    )]
    ech_config: Option<String>,
    /// A PEM key file whose ECHCONFIG block holds the ECHConfigList (the server's ech.pem).
    #[arg(long)]
    ech_config_file: Option<PathBuf>,
    /// The CA certificate (PEM) to trust.
    #[arg(long)]
    ca: PathBuf,
    /// Connect to this address instead of resolving the URL's host.
    #[arg(long)]
    connect: Option<String>,
    /// On rejection, connect again with the retry configs the server sent.
    #[arg(long)]
    retry: bool,
    /// Send a first key share in a group the server lacks, forcing HelloRetryRequest.
    #[arg(long)]
    hrr: bool,
}

fn main() {
    let args = Args::parse();
    match run(&args) {
        Ok(true) => {}
        Ok(false) => std::process::exit(2),
        Err(err) => {
            eprintln!("ech_client: {err}");
            std::process::exit(1);
        }
    }
}

/// Returns whether the request went through with ECH accepted.
fn run(args: &Args) -> Result<bool, BoxError> {
    let url = Url::parse(&args.url)?;
    let mut ech_config = match (&args.ech_config, &args.ech_config_file) {
        (Some(text), _) => base64::engine::general_purpose::STANDARD.decode(text.trim())?,
        (None, Some(path)) => KeyFile::read(path)
            .map_err(|err| format!("{}: {err}", path.display()))?
            .configs()
            .encoded()
            .to_vec(),
        (None, None) => return Err("give --ech-config or --ech-config-file".into()),
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&args.ca)
        .map_err(|err| format!("{}: {err}", args.ca.display()))?
    {
        roots.add(cert.map_err(|err| format!("{}: {err}", args.ca.display()))?)?;
    }
    let address = args
        .connect
        .clone()
        .unwrap_or_else(|| format!("{}:{}", url.host, url.port));

    for attempt in 1..=2 {
        let config = client_config(&ech_config, roots.clone(), args.hrr)?;
        match fetch(config, &address, &url) {
            Ok(()) => return Ok(true),
            Err(Failure::Rejected(retry_configs)) => {
                println!("ECH: rejected by the server");
                // rustls checks the certificate against the config's public_name first.
                let public_name = EchConfigList::parse(&ech_config)
                    .ok()
                    .and_then(|list| {
                        list.configs()
                            .first()
                            .map(|config| config.public_name().to_string())
                    })
                    .unwrap_or_else(|| "the public name".into());
                println!("certificate: verified for {public_name}");
                let Some(retry_configs) = retry_configs else {
                    println!("retry configs: none sent");
                    return Ok(false);
                };
                let encoded = base64::engine::general_purpose::STANDARD.encode(&retry_configs);
                println!("retry configs: {encoded}");
                if !args.retry || attempt == 2 {
                    return Ok(false);
                }
                println!("\nretrying with the server's retry configs\n");
                ech_config = retry_configs;
            }
            Err(Failure::Other(err)) => return Err(err),
        }
    }
    Ok(false)
}

fn client_config(
    ech_config: &[u8],
    roots: RootCertStore,
    hrr: bool,
) -> Result<Arc<ClientConfig>, BoxError> {
    let mut provider = aws_lc_rs::default_provider();
    if hrr {
        // A pure ML-KEM-1024 share first: rustls servers offer no such group by default, so
        // the server asks for X25519 in a HelloRetryRequest.
        provider.kx_groups = vec![
            aws_lc_rs::kx_group::MLKEM1024,
            aws_lc_rs::kx_group::X25519,
            aws_lc_rs::kx_group::SECP256R1,
        ];
    }
    let ech = EchConfig::new(
        EchConfigListBytes::from(ech_config.to_vec()),
        aws_lc_rs::hpke::ALL_SUPPORTED_SUITES,
    )?;
    let mut config = ClientConfig::builder_with_provider(Arc::new(provider))
        .with_ech(EchMode::Enable(ech))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

enum Failure {
    /// The server rejected ECH, sending these retry configs (an encoded ECHConfigList).
    Rejected(Option<Vec<u8>>),
    Other(BoxError),
}

impl<E: Into<BoxError>> From<E> for Failure {
    fn from(err: E) -> Self {
        Self::Other(err.into())
    }
}

fn fetch(config: Arc<ClientConfig>, address: &str, url: &Url) -> Result<(), Failure> {
    let name = ServerName::try_from(url.host.clone())?;
    let mut tls = ClientConnection::new(config, name)?;
    let mut tcp = TcpStream::connect(address).map_err(|err| format!("{address}: {err}"))?;
    while tls.is_handshaking() {
        if let Err(err) = tls.complete_io(&mut tcp) {
            return Err(handshake_failure(err));
        }
    }

    let suite = tls
        .negotiated_cipher_suite()
        .map_or_else(String::new, |suite| format!("{:?}", suite.suite()));
    let alpn = tls
        .alpn_protocol()
        .map_or("-".into(), |p| String::from_utf8_lossy(p).into_owned());
    println!("connected to {address}: {suite}, ALPN {alpn}");
    if tls.handshake_kind() == Some(HandshakeKind::FullWithHelloRetryRequest) {
        println!("handshake: full, after a HelloRetryRequest");
    }
    println!("ECH: accepted");
    println!("certificate: verified for {}", url.host);

    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: rustls-ech-example\r\nConnection: close\r\n\r\n",
        url.path, url.host
    );
    let mut stream = rustls::Stream::new(&mut tls, &mut tcp);
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    match stream.read_to_end(&mut response) {
        Ok(_) => {}
        // A server may close without close_notify after a complete response.
        Err(err) if err.kind() == ErrorKind::UnexpectedEof => {}
        Err(err) => return Err(err.into()),
    }
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    println!("{}", head.lines().next().unwrap_or(""));
    print!("{body}");
    if !body.ends_with('\n') {
        println!();
    }
    Ok(())
}

fn handshake_failure(err: std::io::Error) -> Failure {
    use rustls::internal::msgs::codec::Codec as _;

    let tls_error = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    if let Some(rustls::Error::PeerIncompatible(
        rustls::PeerIncompatible::ServerRejectedEncryptedClientHello(configs),
    )) = tls_error
    {
        // rustls hands over the configs parsed; put them back into an ECHConfigList.
        let configs = configs.as_ref().and_then(|configs| {
            let mut body = Vec::new();
            for config in configs {
                config.encode(&mut body);
            }
            let len = u16::try_from(body.len()).ok()?;
            let mut list = len.to_be_bytes().to_vec();
            list.extend_from_slice(&body);
            Some(list)
        });
        return Failure::Rejected(configs);
    }
    Failure::Other(format!("handshake: {err}").into())
}

/// The parts of an https:// URL the client needs.
struct Url {
    host: String,
    port: u16,
    path: String,
}

impl Url {
    fn parse(url: &str) -> Result<Self, BoxError> {
        let rest = url
            .strip_prefix("https://")
            .ok_or("the URL must start with https://")?;
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().map_err(|_| "bad port in the URL")?),
            None => (authority, 443),
        };
        if host.is_empty() {
            return Err("no host in the URL".into());
        }
        Ok(Self {
            host: host.to_string(),
            port,
            path: path.to_string(),
        })
    }
}
