//! An HTTPS server with Encrypted Client Hello: one hidden site behind a public name.
//!
//! ```sh
//! cargo run --example https_server
//! ```
//!
//! The first run creates, in `--dir` (default `./ech-demo`): a test CA (`ca.pem`), a certificate
//! for the public name and one for the hidden name, signed by it, and an ECH key
//! (`keys/ech.pem`). Later runs reuse them. The server prints the ECHConfigList to publish and
//! the commands to try it.
//!
//! - `GET /ech` answers JSON describing the visitor's connection; `GET /` shows it as a page.
//! - A client whose ECH was accepted reaches the hidden name's site; any other client reaches
//!   the public name's page, whose certificate is the one a rejected client verifies.
//! - Every `*.pem` file in `keys/` is a key. Adding or removing one takes effect within a
//!   second (or at once on SIGHUP); a removed key still opens ClientHellos for `--grace`
//!   seconds, and `retry_configs` list only the keys whose files are present.
//! - HTTP/2 or HTTP/1.1, as ALPN chose; Ctrl-C stops it cleanly.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::error::Error;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, SERVER};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use log::{debug, info, warn};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, ServerConnection};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use rustls_ech::config::{EchConfigBuilder, EchConfigList};
use rustls_ech::keyfile::KeyFile;
use rustls_ech::{EchKeyReloader, EchKeyStore, EchServer, EchStatus};
use tokio::net::TcpListener;

type BoxError = Box<dyn Error + Send + Sync>;

/// An HTTPS server with Encrypted Client Hello (RFC 9849).
#[derive(Parser)]
struct Args {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Where the CA, the certificates and the ECH keys (in `keys/`) live; created if missing.
    #[arg(long, default_value = "./ech-demo")]
    dir: PathBuf,
    /// The public name: sent in clear in ClientHelloOuter, and the ECHConfig's public_name.
    #[arg(long, default_value = "public.example")]
    public_name: String,
    /// The name ECH hides: the site served to clients whose ECH was accepted.
    #[arg(long, default_value = "secret.example")]
    name: String,
    /// How long a removed key keeps opening ClientHellos, in seconds (at least the TTL of the
    /// DNS record that published it).
    #[arg(long, default_value_t = 600)]
    grace: u64,
}

#[tokio::main]
async fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    if let Err(err) = run(Args::parse()).await {
        eprintln!("https_server: {err}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), BoxError> {
    std::fs::create_dir_all(&args.dir).map_err(|err| format!("{}: {err}", args.dir.display()))?;
    let dir = args.dir.canonicalize()?;
    let files = DemoFiles::create_or_load(&dir, &args.public_name, &args.name)?;

    let keys = EchKeyStore::from_dir(&files.keys_dir)?;
    if keys.snapshot().is_empty() {
        warn!(
            "no ECH key in {}: every client offering ECH is rejected",
            files.keys_dir.display()
        );
    }
    let ech = EchServer::new(keys);
    let provider = Arc::new(ech.wrap(rustls::crypto::aws_lc_rs::default_provider()));
    let resolver = Certificates::load(&provider, &files, &args)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = ech.acceptor(Arc::new(config))?;

    let listener = TcpListener::bind(args.listen).await?;
    let local = listener.local_addr()?;
    print_welcome(&files, &ech, &args, local);
    tokio::spawn(watch_keys(
        ech.clone(),
        files.keys_dir.clone(),
        Duration::from_secs(args.grace),
    ));

    let site = Arc::new(Site {
        hidden_name: args.name.clone(),
        public_name: args.public_name.clone(),
    });
    let graceful = GracefulShutdown::new();
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    warn!("accept: {err}");
                    continue;
                }
            },
            _ = &mut ctrl_c => break,
        };
        let acceptor = acceptor.clone();
        let site = Arc::clone(&site);
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match acceptor.accept(tcp).into_fallible().await {
                Ok(tls) => tls,
                Err((err, io)) => {
                    let ech = io.ech_status().map_or("-", status_name);
                    info!("{peer}: ech={ech} handshake failed: {err}");
                    return;
                }
            };
            let visit = Arc::new(Visit::of(tls.get_ref().0.ech_status(), tls.get_ref().1));
            info!(
                "{peer}: ech={} config_id={} {} alpn={}",
                visit.ech_status,
                visit.config_id.map_or("-".into(), |id| id.to_string()),
                visit.tls_version,
                visit.alpn.as_deref().unwrap_or("-"),
            );
            debug!(
                "{peer}: server_name={}",
                visit.server_name.as_deref().unwrap_or("-")
            );

            let mut builder = auto::Builder::new(TokioExecutor::new());
            if visit.alpn.as_deref() == Some("h2") {
                builder = builder.http2_only();
            } else {
                builder = builder.http1_only();
            }
            let service = service_fn(move |request| {
                let response = respond(&request, &visit, &site);
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = builder.serve_connection(TokioIo::new(tls), service);
            if let Err(err) = watcher.watch(connection.into_owned()).await {
                debug!("{peer}: {err}");
            }
        });
    }

    info!("shutting down: waiting up to 10 s for open connections");
    tokio::select! {
        _ = graceful.shutdown() => info!("all connections closed"),
        _ = tokio::time::sleep(Duration::from_secs(10)) => warn!("connections still open; exiting"),
    }
    Ok(())
}

/// The files the demo keeps in its directory.
struct DemoFiles {
    ca: PathBuf,
    ca_key: PathBuf,
    keys_dir: PathBuf,
    created: Vec<PathBuf>,
}

impl DemoFiles {
    /// Creates whatever is missing of the CA, the two certificates and the first ECH key.
    fn create_or_load(dir: &Path, public_name: &str, name: &str) -> Result<Self, BoxError> {
        let mut files = DemoFiles {
            ca: dir.join("ca.pem"),
            ca_key: dir.join("ca-key.pem"),
            keys_dir: dir.join("keys"),
            created: Vec::new(),
        };

        let ca_params = ca_params()?;
        let ca_key = if files.ca.exists() && files.ca_key.exists() {
            rcgen::KeyPair::from_pem(&std::fs::read_to_string(&files.ca_key)?)?
        } else {
            let key = rcgen::KeyPair::generate()?;
            let cert = ca_params.self_signed(&key)?;
            write_private(&files.ca_key, key.serialize_pem().as_bytes())?;
            std::fs::write(&files.ca, cert.pem())?;
            files
                .created
                .extend([files.ca.clone(), files.ca_key.clone()]);
            key
        };
        let issuer = rcgen::Issuer::new(ca_params, ca_key);

        for host in [public_name, name] {
            let (cert_path, key_path) = cert_paths(dir, host);
            if cert_path.exists() && key_path.exists() {
                continue;
            }
            let key = rcgen::KeyPair::generate()?;
            let cert =
                rcgen::CertificateParams::new(vec![host.to_string()])?.signed_by(&key, &issuer)?;
            write_private(&key_path, key.serialize_pem().as_bytes())?;
            std::fs::write(&cert_path, cert.pem())?;
            files.created.extend([cert_path, key_path]);
        }

        // Only a missing folder gets a key: an empty one is what its owner left.
        if !files.keys_dir.exists() {
            std::fs::create_dir_all(&files.keys_dir)?;
            let path = files.keys_dir.join("ech.pem");
            let (config, private_key) = EchConfigBuilder::new(public_name).generate()?;
            let list = EchConfigList::new(vec![config])?;
            KeyFile::new(list, Some(private_key))?.write_to_path(&path, false)?;
            files.created.push(path);
        }
        Ok(files)
    }
}

/// The CA's parameters: rebuilt identically on every run, so the saved CA key keeps signing
/// certificates that chain to the saved `ca.pem`.
fn ca_params() -> Result<rcgen::CertificateParams, BoxError> {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "rustls-ech demo CA");
    Ok(params)
}

fn cert_paths(dir: &Path, host: &str) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{host}.pem")),
        dir.join(format!("{host}-key.pem")),
    )
}

/// Writes a file only its owner may read.
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, contents)
}

fn print_welcome(files: &DemoFiles, ech: &EchServer, args: &Args, local: SocketAddr) {
    let mut out = String::new();
    if files.created.is_empty() {
        let dir = files.ca.parent().unwrap_or(Path::new("."));
        let _ = writeln!(out, "Using the files in {}", dir.display());
    } else {
        let _ = writeln!(out, "Created:");
        for path in &files.created {
            let _ = writeln!(out, "  {}", path.display());
        }
    }
    let _ = writeln!(out, "CA certificate:   {}", files.ca.display());
    let _ = writeln!(out, "ECH keys:         {}/*.pem", files.keys_dir.display());

    let keys = ech.keys().snapshot();
    let ech_config = EchConfigList::parse(keys.retry_configs())
        .map(|list| list.to_base64())
        .unwrap_or_default();
    let ids: Vec<String> = keys
        .keys()
        .iter()
        .filter(|key| key.retry())
        .map(|key| key.config().config_id().to_string())
        .collect();
    let _ = writeln!(out, "ECH config_id:    {}", ids.join(", "));
    let _ = writeln!(out, "ECHConfigList:    {ech_config}");
    let _ = writeln!(
        out,
        "DNS record:       {}. 300 IN HTTPS 1 . alpn=h2,http/1.1 ech=\"{ech_config}\"",
        args.name
    );

    let connect = if local.ip().is_unspecified() {
        SocketAddr::new([127, 0, 0, 1].into(), local.port())
    } else {
        local
    };
    let url = format!("https://{}:{}/ech", args.name, local.port());
    let ca = files.ca.display();
    let _ = writeln!(
        out,
        "\nListening on https://{local} (Ctrl-C to stop). Try:\n"
    );
    let _ = writeln!(
        out,
        "  cargo run --example ech_client -- --ca {ca} --ech-config {ech_config} \\\n      --connect {connect} {url}"
    );
    let go_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/go");
    let _ = writeln!(
        out,
        "  go -C {} run . -ca {ca} -ech-config {ech_config} \\\n      -connect {connect} {url}",
        go_dir.display()
    );
    println!("{out}");
}

/// The certificate for each name: the hidden name's when a client asks for it, otherwise the
/// public name's (which is what a client whose ECH was rejected verifies).
#[derive(Debug)]
struct Certificates {
    hidden_name: String,
    hidden: Arc<CertifiedKey>,
    public: Arc<CertifiedKey>,
}

impl Certificates {
    fn load(provider: &CryptoProvider, files: &DemoFiles, args: &Args) -> Result<Self, BoxError> {
        let dir = files.ca.parent().unwrap_or(Path::new("."));
        let load = |host: &str| -> Result<Arc<CertifiedKey>, BoxError> {
            let (cert_path, key_path) = cert_paths(dir, host);
            let certs = CertificateDer::pem_file_iter(&cert_path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|err| format!("{}: {err}", cert_path.display()))?;
            let key = PrivateKeyDer::from_pem_file(&key_path)
                .map_err(|err| format!("{}: {err}", key_path.display()))?;
            let signing = provider.key_provider.load_private_key(key)?;
            Ok(Arc::new(CertifiedKey::new(certs, signing)))
        };
        Ok(Self {
            hidden_name: args.name.clone(),
            hidden: load(&args.name)?,
            public: load(&args.public_name)?,
        })
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if hello.server_name() == Some(self.hidden_name.as_str()) {
            Some(Arc::clone(&self.hidden))
        } else {
            Some(Arc::clone(&self.public))
        }
    }
}

/// Reloads the keys every second and on SIGHUP, and logs what changed.
async fn watch_keys(ech: EchServer, dir: PathBuf, grace: Duration) {
    let mut reloader = EchKeyReloader::new(grace);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut last_error = None;
    loop {
        #[cfg(unix)]
        let hangup_received = async {
            match hangup.as_mut() {
                Some(signal) => signal.recv().await,
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let hangup_received = std::future::pending::<Option<()>>();
        tokio::select! {
            _ = tick.tick() => {}
            _ = hangup_received => info!("SIGHUP: reloading ECH keys from {}", dir.display()),
        }

        match reloader.reload(ech.keys()) {
            Ok(report) => {
                last_error = None;
                if !report.changed {
                    continue;
                }
                let current: BTreeSet<u8> = report
                    .keys
                    .keys()
                    .iter()
                    .filter(|key| key.retry())
                    .map(|key| key.config().config_id())
                    .collect();
                info!(
                    "ECH keys changed: added {:?}, retiring {:?} (for {} s), expired {:?}; current {:?}",
                    report.added, report.retired, grace.as_secs(), report.expired, current
                );
                let list = EchConfigList::parse(report.keys.retry_configs())
                    .map(|list| list.to_base64())
                    .unwrap_or_default();
                info!("ECHConfigList to publish: {list}");
            }
            Err(err) => {
                let message = err.to_string();
                if last_error.as_ref() != Some(&message) {
                    warn!("ECH keys not reloaded (the current set stays): {message}");
                    last_error = Some(message);
                }
            }
        }
    }
}

/// What the server knows of one visitor's connection.
#[derive(Debug)]
struct Visit {
    ech_status: &'static str,
    server_name: Option<String>,
    outer_server_name: Option<String>,
    config_id: Option<u8>,
    tls_version: String,
    cipher_suite: String,
    alpn: Option<String>,
}

impl Visit {
    fn of(status: Option<&EchStatus>, tls: &ServerConnection) -> Self {
        let server_name = tls.server_name().map(str::to_string);
        let ech_status = status.map_or("not_offered", status_name);
        let (outer_server_name, config_id) = match status {
            Some(EchStatus::Accepted {
                config_id,
                outer_server_name,
            }) => (outer_server_name.clone(), Some(*config_id)),
            // A split-mode frontend saw the outer name; this server never did.
            Some(EchStatus::Backend) => (None, None),
            // Without ECH, the name the handshake was for travelled in clear.
            _ => (server_name.clone(), None),
        };
        let tls_version = match tls.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
            other => format!("{other:?}"),
        };
        let cipher_suite = tls
            .negotiated_cipher_suite()
            .map_or_else(String::new, |suite| format!("{:?}", suite.suite()));
        let alpn = tls
            .alpn_protocol()
            .map(|alpn| String::from_utf8_lossy(alpn).into_owned());
        Self {
            ech_status,
            server_name,
            outer_server_name,
            config_id,
            tls_version,
            cipher_suite,
            alpn,
        }
    }

    fn to_json(&self) -> String {
        let string = |value: Option<&str>| value.map_or("null".to_string(), json_string);
        format!(
            "{{\"ech_status\":{},\"server_name\":{},\"outer_server_name\":{},\"config_id\":{},\
             \"tls_version\":{},\"cipher_suite\":{},\"alpn\":{}}}\n",
            json_string(self.ech_status),
            string(self.server_name.as_deref()),
            string(self.outer_server_name.as_deref()),
            self.config_id
                .map_or("null".to_string(), |id| id.to_string()),
            json_string(&self.tls_version),
            json_string(&self.cipher_suite),
            string(self.alpn.as_deref()),
        )
    }

    fn rows(&self) -> [(&'static str, String); 7] {
        let or_none = |value: &Option<String>| value.clone().unwrap_or_else(|| "(none)".into());
        [
            ("ECH", self.ech_status.to_string()),
            ("server name", or_none(&self.server_name)),
            ("outer server name", or_none(&self.outer_server_name)),
            (
                "config_id",
                self.config_id.map_or("(none)".into(), |id| id.to_string()),
            ),
            ("TLS version", self.tls_version.clone()),
            ("cipher suite", self.cipher_suite.clone()),
            ("ALPN", or_none(&self.alpn)),
        ]
    }
}

/// The `ech_status` values of `GET /ech`.
fn status_name(status: &EchStatus) -> &'static str {
    match status {
        EchStatus::Accepted { .. } => "accepted",
        EchStatus::Rejected => "rejected",
        EchStatus::Backend => "backend",
        _ => "not_offered",
    }
}

/// The names the server answers for.
struct Site {
    hidden_name: String,
    public_name: String,
}

fn respond(request: &Request<Incoming>, visit: &Visit, site: &Site) -> Response<Full<Bytes>> {
    let response = |status, content_type, body: String| {
        Response::builder()
            .status(status)
            .header(CONTENT_TYPE, content_type)
            .header(SERVER, "rustls-ech https_server example")
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_default()
    };
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return response(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "GET only\n".into(),
        );
    }
    match request.uri().path() {
        "/ech" => response(StatusCode::OK, "application/json", visit.to_json()),
        "/" => response(
            StatusCode::OK,
            "text/html; charset=utf-8",
            page(visit, site),
        ),
        _ => response(StatusCode::NOT_FOUND, "text/plain", "not found\n".into()),
    }
}

fn page(visit: &Visit, site: &Site) -> String {
    let hidden = visit.server_name.as_deref() == Some(site.hidden_name.as_str());
    let (title, intro) = if hidden {
        (
            html_escape(&site.hidden_name),
            format!(
                "You reached the hidden site. An observer of this connection saw only \
                 <code>{}</code>{}.",
                html_escape(visit.outer_server_name.as_deref().unwrap_or("no name")),
                if visit.ech_status == "accepted" {
                    ""
                } else {
                    " (ECH was not used: the name travelled in clear)"
                }
            ),
        )
    } else {
        (
            html_escape(&site.public_name),
            format!(
                "This is the ECH front for this server: the public name clients send in \
                 clear. Ask for <code>{}</code> with an ECH client to reach the hidden site.",
                html_escape(&site.hidden_name)
            ),
        )
    };
    let mut rows = String::new();
    for (label, value) in visit.rows() {
        let _ = write!(
            rows,
            "<tr><th>{label}</th><td>{}</td></tr>",
            html_escape(&value)
        );
    }
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body><h1>{title}</h1>\n<p>{intro}</p>\n<h2>Your connection</h2>\n\
         <table>{rows}</table>\n<p>As JSON: <a href=\"/ech\">/ech</a></p></body></html>\n"
    )
}

fn json_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn html_escape(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
