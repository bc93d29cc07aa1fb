//! Interoperability with Go's crypto/tls ECH client, over TCP on the loopback interface.
//!
//! The client is `tests/interop/go` (standard library only), built with the `go` on PATH. When
//! `go` is missing these tests pass after printing why they did nothing, unless the `CI`
//! environment variable is set: then they fail.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use common::*;
use rustls::crypto::CryptoProvider;
use rustls::{NamedGroup, ServerConfig};
use rustls_ech::{EchServer, EchStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Bounds every network step, so that a broken peer fails the test instead of hanging it.
const LIMIT: Duration = Duration::from_secs(60);

/// The Go client, built once per test run; `None` when `go` is not installed.
fn go_client() -> Option<&'static Path> {
    static CLIENT: OnceLock<Option<PathBuf>> = OnceLock::new();
    CLIENT.get_or_init(build_go_client).as_deref()
}

fn build_go_client() -> Option<PathBuf> {
    if Command::new("go").arg("version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but `go` is not on PATH: the Go interop tests cannot run"
        );
        eprintln!("skipped: `go` is not on PATH, so the Go interop tests did not run");
        return None;
    }

    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-interop");
    let binary = work.join("echclient");
    let mut build = Command::new("go");
    build
        .args(["build", "-o"])
        .arg(&binary)
        .arg(".")
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/go"))
        // The standard library is all it needs: never download a toolchain or a module.
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "");
    if std::env::var_os("HOME").is_none() {
        // Go keeps its build cache under HOME; without one, keep it with the build output.
        if std::env::var_os("GOCACHE").is_none() {
            build.env("GOCACHE", work.join("cache"));
        }
        if std::env::var_os("GOPATH").is_none() {
            build.env("GOPATH", work.join("gopath"));
        }
    }
    let output = build.output().expect("run go build");
    assert!(
        output.status.success(),
        "go build failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(binary)
}

/// A server on 127.0.0.1 answering each request with what it saw of the connection:
/// `ech=<status> config_id=<id> server_name=<name> handshake=<kind>`.
async fn start_server(ech: &EchServer, config: Arc<ServerConfig>) -> SocketAddr {
    let acceptor = ech.acceptor(config).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that gives up (as Go does after a rejection) ends its handshake.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let (io, connection) = tls.get_ref();
                let (ech, config_id) = match io.ech_status() {
                    Some(EchStatus::Accepted { config_id, .. }) => {
                        ("accepted", config_id.to_string())
                    }
                    Some(EchStatus::Rejected) => ("rejected", "-".into()),
                    Some(EchStatus::Backend) => ("backend", "-".into()),
                    _ => ("not_offered", "-".into()),
                };
                let body = format!(
                    "ech={ech} config_id={config_id} server_name={} handshake={:?}\n",
                    connection.server_name().unwrap_or("-"),
                    connection.handshake_kind(),
                );

                let mut request = Vec::new();
                while !request.ends_with(b"\r\n\r\n") && request.len() < 16 * 1024 {
                    let mut byte = [0; 1];
                    if tls.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    request.push(byte[0]);
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    address
}

/// What the Go client printed, and how it exited.
struct GoRun {
    stdout: String,
    code: Option<i32>,
}

impl GoRun {
    /// Every value printed for `key`, in order.
    fn values(&self, key: &str) -> Vec<&str> {
        let prefix = format!("{key}: ");
        self.stdout
            .lines()
            .filter_map(|line| line.strip_prefix(&prefix))
            .collect()
    }
}

async fn run_go(client: &Path, server: SocketAddr, ech_config: &[u8], extra: &[&str]) -> GoRun {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let pem = pem::encode(&pem::Pem::new("CERTIFICATE", pki().ca.to_vec()));
    std::fs::write(&ca, pem).unwrap();

    let output = tokio::process::Command::new(client)
        .arg("-ca")
        .arg(&ca)
        .arg("-ech-config")
        .arg(base64::engine::general_purpose::STANDARD.encode(ech_config))
        .arg("-connect")
        .arg(server.to_string())
        .args(extra)
        .arg(format!("https://{INNER_NAME}:{}/ech", server.port()))
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(LIMIT, output)
        .await
        .expect("the Go client finished")
        .expect("run the Go client");
    let run = GoRun {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        code: output.status.code(),
    };
    eprintln!(
        "Go client exited with {:?}:\n{}{}",
        run.code,
        run.stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    run
}

fn p256_only(mut provider: CryptoProvider) -> CryptoProvider {
    provider
        .kx_groups
        .retain(|group| group.name() == NamedGroup::secp256r1);
    provider
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_client_reaches_the_hidden_name_with_ech() {
    let Some(client) = go_client() else { return };
    let (key, list) = x25519_key(1);
    let ech = server_with(vec![key]);
    let server = start_server(&ech, server_config(&ech, ServerOptions::default())).await;

    let run = run_go(client, server, list.encoded(), &[]).await;
    assert_eq!(run.code, Some(0));
    assert_eq!(run.values("ech_accepted"), ["true"]);
    assert_eq!(run.values("verified_name"), [INNER_NAME]);
    assert_eq!(run.values("tls_version"), ["TLS 1.3"]);
    assert_eq!(run.values("status"), ["HTTP/1.1 200 OK"]);
    let body = format!("ech=accepted config_id=1 server_name={INNER_NAME} handshake=Some(Full)");
    assert_eq!(run.values("body"), [body.as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_client_is_accepted_after_hello_retry_request() {
    let Some(client) = go_client() else { return };
    let (key, list) = x25519_key(3);
    let ech = server_with(vec![key]);
    let options = ServerOptions {
        provider: p256_only(aws_lc_rs()),
        ..ServerOptions::default()
    };
    let server = start_server(&ech, server_config(&ech, options)).await;

    // Go's only key share is X25519; the server has P-256 alone, so it asks again.
    let run = run_go(client, server, list.encoded(), &["-curves", "x25519,p256"]).await;
    assert_eq!(run.code, Some(0));
    assert_eq!(run.values("ech_accepted"), ["true"]);
    assert_eq!(run.values("curve"), ["CurveP256"]);
    assert_eq!(run.values("verified_name"), [INNER_NAME]);
    let body = format!(
        "ech=accepted config_id=3 server_name={INNER_NAME} \
         handshake=Some(FullWithHelloRetryRequest)"
    );
    assert_eq!(run.values("body"), [body.as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_client_rejected_with_a_stale_config_succeeds_with_the_retry_configs() {
    let Some(client) = go_client() else { return };
    let (_, stale) = x25519_key(7);
    let (key, current) = x25519_key(8);
    let ech = server_with(vec![key]);
    let server = start_server(&ech, server_config(&ech, ServerOptions::default())).await;

    // Without -retry, Go stops at the rejection, holding the server's retry configs.
    let run = run_go(client, server, stale.encoded(), &[]).await;
    assert_eq!(run.code, Some(2));
    assert_eq!(run.values("ech_rejected"), ["true"]);
    assert_eq!(run.values("retry_configs"), [current.to_base64().as_str()]);
    assert!(run.values("body").is_empty(), "no request went out");

    // With -retry, the second connection uses them and is accepted.
    let run = run_go(client, server, stale.encoded(), &["-retry"]).await;
    assert_eq!(run.code, Some(0));
    assert_eq!(run.values("ech_rejected"), ["true"]);
    assert_eq!(run.values("retry_configs"), [current.to_base64().as_str()]);
    assert_eq!(run.values("ech_accepted"), ["true"]);
    assert_eq!(run.values("verified_name"), [INNER_NAME]);
    let body = format!("ech=accepted config_id=8 server_name={INNER_NAME} handshake=Some(Full)");
    assert_eq!(run.values("body"), [body.as_str()]);
}
