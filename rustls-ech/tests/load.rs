//! Load against the example server while its keys rotate: 1,000 concurrent ECH handshakes,
//! each accepted, or rejected with retry configs and then accepted on retry. Runs in release
//! mode (`cargo test --release --test load`); bounded in count and time, loopback only.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::{EchConfig, EchMode, EchStatus};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, EchConfigListBytes, ServerName};
use rustls_ech::config::{EchConfigBuilder, EchConfigList};
use rustls_ech::keyfile::KeyFile;

const CLIENTS: usize = 1000;
const ROTATE_EVERY: Duration = Duration::from_millis(100);

/// The example server, built in release mode and started on a free port.
struct ExampleServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for ExampleServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn example_binary() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--example",
            "https_server",
            // The features .ci/run builds this test with, so nothing is built twice.
            "--all-features",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the example server failed");
    // This test runs from <target>/release/deps/; the example is in <target>/release/examples/.
    let exe = std::env::current_exe().unwrap();
    let release = exe.parent().and_then(Path::parent).unwrap();
    release.join("examples").join("https_server")
}

fn start_server() -> ExampleServer {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(example_binary())
        .args(["--listen", "127.0.0.1:0", "--grace", "5", "--dir"])
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the example server starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut port = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("Listening on https://127.0.0.1:") {
            port = rest.split_whitespace().next().and_then(|p| p.parse().ok());
            break;
        }
    }
    // Keep reading what the server prints after that line: with the pipe closed, its next
    // print would fail and end it.
    std::thread::spawn(move || lines.for_each(drop));
    ExampleServer {
        child,
        port: port.expect("the server printed its address"),
        dir,
    }
}

fn client_config(ca: &CertificateDer<'static>, list: &[u8]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).unwrap();
    let hpke = rustls::crypto::aws_lc_rs::hpke::ALL_SUPPORTED_SUITES;
    let ech = EchConfig::new(EchConfigListBytes::from(list.to_vec()), hpke).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_ech(EchMode::Enable(ech))
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

enum Attempt {
    Accepted,
    Rejected(Vec<u8>),
    Failed(String),
}

async fn handshake(port: u16, config: Arc<rustls::ClientConfig>) -> Attempt {
    use rustls::internal::msgs::codec::Codec;
    let connect = async {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        let name = ServerName::try_from("secret.example").unwrap();
        tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
    };
    match tokio::time::timeout(Duration::from_secs(60), connect).await {
        Err(_) => Attempt::Failed("timed out".into()),
        Ok(Ok(tls)) => match tls.get_ref().1.ech_status() {
            EchStatus::Accepted => Attempt::Accepted,
            other => Attempt::Failed(format!("handshake completed with {other:?}")),
        },
        Ok(Err(err)) => {
            let rustls_error = err
                .get_ref()
                .and_then(|e| e.downcast_ref::<rustls::Error>());
            match rustls_error {
                Some(rustls::Error::PeerIncompatible(
                    rustls::PeerIncompatible::ServerRejectedEncryptedClientHello(Some(configs)),
                )) => {
                    let mut body = Vec::new();
                    for config in configs {
                        config.encode(&mut body);
                    }
                    let mut list = (body.len() as u16).to_be_bytes().to_vec();
                    list.extend_from_slice(&body);
                    Attempt::Rejected(list)
                }
                _ => Attempt::Failed(err.to_string()),
            }
        }
    }
}

#[cfg_attr(
    debug_assertions,
    ignore = "a load test: run with cargo test --release --test load"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_is_accepted_directly_or_after_retry_while_keys_rotate() {
    let server = start_server();
    let dir = server.dir.path().to_owned();
    let ca = CertificateDer::from_pem_file(dir.join("ca.pem")).unwrap();
    let first = KeyFile::read(dir.join("keys").join("ech.pem")).unwrap();
    let stale_config = first.configs().encoded().to_vec();

    // Rotate: a new key every 100 ms, the previous one removed; SIGHUP makes it immediate.
    let rotating = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let rotations = Arc::new(AtomicUsize::new(0));
    let rotator = {
        let (rotating, rotations, keys) = (rotating.clone(), rotations.clone(), dir.join("keys"));
        let pid = server.child.id().to_string();
        std::thread::spawn(move || {
            let mut previous = keys.join("ech.pem");
            let mut n = 0u32;
            while rotating.load(Ordering::SeqCst) {
                std::thread::sleep(ROTATE_EVERY);
                n += 1;
                let (config, key) = EchConfigBuilder::new("public.example").generate().unwrap();
                let list = EchConfigList::new(vec![config]).unwrap();
                let path = keys.join(format!("rotated-{n}.pem"));
                KeyFile::new(list, Some(key))
                    .unwrap()
                    .write_to_path(&path, false)
                    .unwrap();
                std::fs::remove_file(&previous).unwrap();
                previous = path;
                let _ = Command::new("kill").args(["-HUP", &pid]).status();
                rotations.fetch_add(1, Ordering::SeqCst);
            }
        })
    };

    let (accepted, retried) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut clients = Vec::with_capacity(CLIENTS);
    for i in 0..CLIENTS {
        let (accepted, retried, ca) = (accepted.clone(), retried.clone(), ca.clone());
        // Half start from the config the server had at first, half from an unknown one.
        let config = if i % 2 == 0 {
            stale_config.clone()
        } else {
            EchConfigList::new(vec![
                EchConfigBuilder::new("public.example")
                    .generate()
                    .unwrap()
                    .0,
            ])
            .unwrap()
            .encoded()
            .to_vec()
        };
        let port = server.port;
        clients.push(tokio::spawn(async move {
            match handshake(port, client_config(&ca, &config)).await {
                Attempt::Accepted => {
                    accepted.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
                Attempt::Rejected(retry) => match handshake(port, client_config(&ca, &retry)).await
                {
                    Attempt::Accepted => {
                        retried.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    }
                    Attempt::Rejected(_) => Err("rejected again on retry".to_string()),
                    Attempt::Failed(e) => Err(format!("retry failed: {e}")),
                },
                Attempt::Failed(e) => Err(e),
            }
        }));
    }
    let mut failures = Vec::new();
    for client in clients {
        if let Err(e) = client.await.unwrap() {
            failures.push(e);
        }
    }
    rotating.store(false, Ordering::SeqCst);
    rotator.join().unwrap();

    let (accepted, retried) = (
        accepted.load(Ordering::SeqCst),
        retried.load(Ordering::SeqCst),
    );
    println!(
        "{CLIENTS} clients: {accepted} accepted, {retried} accepted after retry, {} failed; {} key rotations",
        failures.len(),
        rotations.load(Ordering::SeqCst)
    );
    assert!(
        failures.is_empty(),
        "{} failures, first: {:?}",
        failures.len(),
        failures.first()
    );
    assert_eq!(accepted + retried, CLIENTS);
    // Clients with an unknown config can only succeed through retry configs.
    assert!(retried >= CLIENTS / 2);
    assert!(rotations.load(Ordering::SeqCst) > 0);
}
