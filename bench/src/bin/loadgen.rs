//! A load generator for HTTPS servers with ECH: N connections at a time, each a fresh TLS 1.3
//! handshake through rustls's ECH client and one HTTP/1.1 request, for a fixed time.
//!
//! ```sh
//! loadgen --connect 127.0.0.1:8443 --ech-config-file ech-demo/keys/ech.pem \
//!     --concurrency 32 --seconds 10
//! ```
//!
//! It offers only X25519 and TLS13_AES_128_GCM_SHA256, and does not verify the server's
//! certificate, so that its own cost per handshake stays below the server's: it measures
//! servers, not clients. It prints one line: handshakes per second, latency percentiles, and
//! how many connections failed or were not ECH-accepted.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use ech_bench::INNER_NAME;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::EchStatus;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use rustls_ech::keyfile::KeyFile;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Opens connections to an HTTPS server as fast as it takes them.
#[derive(Parser)]
struct Args {
    /// The server's address.
    #[arg(long)]
    connect: SocketAddr,
    /// The server's ECH key file (its ECHCONFIG block is used); without it, no ECH.
    #[arg(long)]
    ech_config_file: Option<std::path::PathBuf>,
    /// The server name (hidden by ECH).
    #[arg(long, default_value = INNER_NAME)]
    name: String,
    /// The path requested.
    #[arg(long, default_value = "/ech")]
    path: String,
    /// Connections in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// How long to measure, after the warm-up.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// How long to run before measuring.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
}

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    failed: usize,
    not_accepted: usize,
}

fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> Result<(), BoxError> {
    let ech = match &args.ech_config_file {
        Some(path) => Some(KeyFile::read(path)?.configs().encoded().to_vec()),
        None => None,
    };
    let config = Arc::new(client_config(ech.as_deref())?);
    let name = ServerName::try_from(args.name.clone())?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        args.path, args.name
    );

    let start = Instant::now();
    let measure_from = start + Duration::from_secs(args.warmup);
    let end = measure_from + Duration::from_secs(args.seconds);
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let connector = tokio_rustls::TlsConnector::from(config.clone());
        let name = name.clone();
        let request = request.clone();
        let addr = args.connect;
        let want_ech = ech.is_some();
        workers.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            while Instant::now() < end {
                let began = Instant::now();
                let outcome = fetch(&connector, addr, name.clone(), &request).await;
                if began < measure_from {
                    continue;
                }
                match outcome {
                    Ok(accepted) => {
                        tally.latencies.push(began.elapsed());
                        if want_ech && !accepted {
                            tally.not_accepted += 1;
                        }
                    }
                    Err(_) => tally.failed += 1,
                }
            }
            tally
        }));
    }

    let mut total = Tally::default();
    for worker in workers {
        let tally = worker.await?;
        total.latencies.extend(tally.latencies);
        total.failed += tally.failed;
        total.not_accepted += tally.not_accepted;
    }
    total.latencies.sort();
    let count = total.latencies.len();
    let percentile = |p: f64| {
        let at = ((count as f64 * p).ceil() as usize).clamp(1, count.max(1)) - 1;
        total
            .latencies
            .get(at)
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    println!(
        "handshakes={count} per_second={:.0} p50_ms={:.2} p99_ms={:.2} failed={} not_accepted={}",
        count as f64 / args.seconds as f64,
        percentile(0.50),
        percentile(0.99),
        total.failed,
        total.not_accepted,
    );
    Ok(())
}

/// One connection: handshake, request, the whole response. Returns whether ECH was accepted.
async fn fetch(
    connector: &tokio_rustls::TlsConnector,
    addr: SocketAddr,
    name: ServerName<'static>,
    request: &str,
) -> Result<bool, BoxError> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let mut tls = connector.connect(name, tcp).await?;
    let accepted = tls.get_ref().1.ech_status() == EchStatus::Accepted;
    tls.write_all(request.as_bytes()).await?;
    let mut response = Vec::with_capacity(1024);
    // A server may close without close_notify after `Connection: close`.
    match tls.read_to_end(&mut response).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !response.is_empty() => {}
        Err(e) => return Err(e.into()),
    }
    if !response.starts_with(b"HTTP/1.1 200") {
        return Err("the server did not answer 200".into());
    }
    Ok(accepted)
}

fn client_config(ech: Option<&[u8]>) -> Result<ClientConfig, BoxError> {
    let builder = ech_bench::client_builder(ech, false)?;
    let mut config = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Accepts any certificate and signature: this client measures servers, and verifying would
/// make it, not the server, the bottleneck. Never use it outside a benchmark.
#[derive(Debug)]
struct AcceptAnyCertificate;

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ECDSA_NISTP256_SHA256]
    }
}
