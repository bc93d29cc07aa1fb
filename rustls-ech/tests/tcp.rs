//! ECH over real TCP connections on the loopback interface: the tokio acceptor, tokio-rustls's
//! `LazyConfigAcceptor` over `EchIo`, and the blocking `EchStream` adapter, each against
//! rustls's own ECH client.

mod common;

use std::io::{BufRead, Read, Write};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use rustls::client::EchStatus as ClientEchStatus;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, HandshakeKind, ProtocolVersion, ServerConfig};
use rustls_ech::{EchAcceptor, EchServer, EchStatus};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Bounds every network step, so that a broken adapter fails the test instead of hanging it.
const LIMIT: Duration = Duration::from_secs(60);

/// Application data sent each way after the handshake.
const PAYLOAD_LEN: usize = 1024 * 1024;

/// What the client sends: a pattern the server can check byte by byte.
fn client_payload() -> Vec<u8> {
    (0..PAYLOAD_LEN).map(|i| (i % 251) as u8).collect()
}

/// What the server sends back: a different pattern, so an echo of the client's bytes fails.
fn server_payload() -> Vec<u8> {
    (0..PAYLOAD_LEN).map(|i| (i % 239) as u8 ^ 0x5a).collect()
}

/// The name the server reports on its first line.
fn reported_name(name: Option<&str>) -> String {
    name.unwrap_or("<none>").to_string()
}

/// What a server saw of one connection.
#[derive(Debug)]
struct Served {
    server_name: Option<String>,
    ech_status: Option<EchStatus>,
}

/// A server-side connection that failed, and the ECH status its engine reached.
#[derive(Debug)]
struct Failed {
    error: String,
    ech_status: Option<EchStatus>,
}

/// The server's half of the exchange, after its handshake: reads the client's line and
/// payload, reports `server_name` and `ech_status` on two lines, sends its own payload, and
/// waits for the client to close.
async fn serve_exchange<S>(stream: S, served: &Served) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut stream = tokio::io::BufReader::new(stream);
    let mut line = String::new();
    stream.read_line(&mut line).await?;
    assert_eq!(line, "hello\n", "the server read the client's first line");

    let mut received = vec![0; PAYLOAD_LEN];
    stream.read_exact(&mut received).await?;
    assert!(
        received == client_payload(),
        "the server received the client's payload intact"
    );

    let report = format!(
        "{}\n{:?}\n",
        reported_name(served.server_name.as_deref()),
        served.ech_status
    );
    stream.get_mut().write_all(report.as_bytes()).await?;
    stream.get_mut().write_all(&server_payload()).await?;
    stream.get_mut().flush().await?;

    // Wait for the client's close, so that nothing it still has to read is cut off.
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).await?;
    assert!(rest.is_empty(), "the client sent nothing after its payload");
    Ok(())
}

/// The client's half of the exchange: returns the two lines the server reported.
async fn client_exchange<S>(stream: S) -> std::io::Result<(String, String)>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut stream = tokio::io::BufReader::new(stream);
    stream.get_mut().write_all(b"hello\n").await?;
    stream.get_mut().write_all(&client_payload()).await?;
    stream.get_mut().flush().await?;

    let mut name = String::new();
    stream.read_line(&mut name).await?;
    let mut status = String::new();
    stream.read_line(&mut status).await?;
    let mut received = vec![0; PAYLOAD_LEN];
    stream.read_exact(&mut received).await?;
    assert!(
        received == server_payload(),
        "the client received the server's payload intact"
    );

    stream.get_mut().shutdown().await?;
    Ok((name.trim_end().to_string(), status.trim_end().to_string()))
}

async fn listen() -> (TcpListener, std::net::SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Accepts one connection with `acceptor` and runs the server's exchange on it.
async fn serve_one(listener: &TcpListener, acceptor: &EchAcceptor) -> Result<Served, Failed> {
    let (tcp, _) = listener.accept().await.map_err(|e| Failed {
        error: format!("accept: {e}"),
        ech_status: None,
    })?;
    match acceptor.accept(tcp).into_fallible().await {
        Ok(tls) => {
            let served = Served {
                server_name: tls.get_ref().1.server_name().map(str::to_string),
                ech_status: tls.get_ref().0.ech_status().cloned(),
            };
            match serve_exchange(tls, &served).await {
                Ok(()) => Ok(served),
                Err(e) => Err(Failed {
                    error: format!("server exchange: {e}"),
                    ech_status: served.ech_status,
                }),
            }
        }
        Err((error, io)) => Err(Failed {
            error: format!("server handshake: {error}"),
            ech_status: io.ech_status().cloned(),
        }),
    }
}

/// Connects to `addr` as `INNER_NAME`; the handshake's error is returned as the io::Error
/// tokio-rustls reports.
async fn connect(
    addr: std::net::SocketAddr,
    config: Arc<ClientConfig>,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from(INNER_NAME).unwrap();
    tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
}

/// The rustls error inside the io::Error tokio-rustls returns for a failed handshake.
fn rustls_error(error: &std::io::Error) -> Option<&rustls::Error> {
    error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
}

/// What the client of one connection saw.
struct ClientSide {
    ech_status: ClientEchStatus,
    handshake_kind: Option<HandshakeKind>,
    protocol_version: Option<ProtocolVersion>,
    reported_name: String,
    reported_status: String,
}

/// Connects, checks the handshake, and runs the client's exchange.
async fn client_one(addr: std::net::SocketAddr, config: Arc<ClientConfig>) -> ClientSide {
    let tls = connect(addr, config)
        .await
        .unwrap_or_else(|e| panic!("client handshake failed: {e}"));
    let (_, conn) = tls.get_ref();
    let ech_status = conn.ech_status();
    let handshake_kind = conn.handshake_kind();
    let protocol_version = conn.protocol_version();
    let (reported_name, reported_status) = client_exchange(tls)
        .await
        .unwrap_or_else(|e| panic!("client exchange: {e}"));
    ClientSide {
        ech_status,
        handshake_kind,
        protocol_version,
        reported_name,
        reported_status,
    }
}

/// Runs one connection between `server` (through an `EchAcceptor`) and `client`.
async fn run_acceptor(
    ech: &EchServer,
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
) -> (ClientSide, Served) {
    let acceptor = ech.acceptor(server).unwrap();
    let (listener, addr) = listen().await;
    let server = tokio::spawn(async move { serve_one(&listener, &acceptor).await });
    let client_side = tokio::time::timeout(LIMIT, client_one(addr, client))
        .await
        .expect("client timed out");
    let served = tokio::time::timeout(LIMIT, server)
        .await
        .expect("server timed out")
        .unwrap()
        .unwrap_or_else(|e| panic!("{}", e.error));
    (client_side, served)
}

#[tokio::test]
async fn acceptor_accepts_ech_and_serves_the_inner_name_over_tcp() {
    let (key, list) = x25519_key(7);
    let ech = server_with(vec![key]);
    let server = server_config(&ech, ServerOptions::default());
    let client = client_config(ClientOptions {
        ech: ClientEch::Config(list.encoded()),
        ..Default::default()
    });

    let (client_side, served) = run_acceptor(&ech, server, client).await;

    assert_eq!(client_side.ech_status, ClientEchStatus::Accepted);
    assert_eq!(client_side.protocol_version, Some(ProtocolVersion::TLSv1_3));
    assert_eq!(client_side.reported_name, INNER_NAME);
    assert_eq!(
        client_side.reported_status,
        format!("{:?}", Some(accepted(7)))
    );
    assert_eq!(served.server_name.as_deref(), Some(INNER_NAME));
    assert_eq!(served.ech_status, Some(accepted(7)));
}

#[tokio::test]
async fn acceptor_accepts_ech_after_hello_retry_request_over_tcp() {
    let (key, list) = x25519_key(9);
    let ech = server_with(vec![key]);
    let server = server_config(
        &ech,
        ServerOptions {
            provider: p256_only(aws_lc_rs()),
            ..Default::default()
        },
    );
    let client = client_config(ClientOptions {
        ech: ClientEch::Config(list.encoded()),
        provider: x25519_first(aws_lc_rs()),
        ..Default::default()
    });

    let (client_side, served) = run_acceptor(&ech, server, client).await;

    assert_eq!(
        client_side.handshake_kind,
        Some(HandshakeKind::FullWithHelloRetryRequest)
    );
    assert_eq!(client_side.ech_status, ClientEchStatus::Accepted);
    assert_eq!(client_side.reported_name, INNER_NAME);
    assert_eq!(served.server_name.as_deref(), Some(INNER_NAME));
    assert_eq!(served.ech_status, Some(accepted(9)));
}

#[tokio::test]
async fn acceptor_rejects_a_stale_config_and_the_retry_configs_are_accepted() {
    let (key, _) = x25519_key(1);
    let (_, stale) = x25519_key(2);
    let ech = server_with(vec![key]);
    let server = server_config(&ech, ServerOptions::default());
    let acceptor = ech.acceptor(server).unwrap();
    let (listener, addr) = listen().await;
    let server = tokio::spawn(async move {
        let rejected = serve_one(&listener, &acceptor).await;
        let retried = serve_one(&listener, &acceptor).await;
        (rejected, retried)
    });

    let client = client_config(ClientOptions {
        ech: ClientEch::Config(stale.encoded()),
        ..Default::default()
    });
    let error = match tokio::time::timeout(LIMIT, connect(addr, client))
        .await
        .expect("client timed out")
    {
        Ok(_) => panic!("a client with a stale ECH config completed its handshake"),
        Err(error) => error,
    };
    let retry = retry_configs(rustls_error(&error))
        .unwrap_or_else(|| panic!("no retry configs in the client's error: {error}"));
    assert_eq!(retry, ech.keys().snapshot().retry_configs().to_vec());

    let client = client_config(ClientOptions {
        ech: ClientEch::Config(&retry),
        ..Default::default()
    });
    let client_side = tokio::time::timeout(LIMIT, client_one(addr, client))
        .await
        .expect("client timed out on retry");
    assert_eq!(client_side.ech_status, ClientEchStatus::Accepted);
    assert_eq!(client_side.reported_name, INNER_NAME);

    let (rejected, retried) = tokio::time::timeout(LIMIT, server)
        .await
        .expect("server timed out")
        .unwrap();
    let rejected = rejected.expect_err("the rejected client ends the handshake itself");
    assert_eq!(
        rejected.ech_status,
        Some(EchStatus::Rejected),
        "{}",
        rejected.error
    );
    let retried = retried.unwrap_or_else(|e| panic!("{}", e.error));
    assert_eq!(retried.server_name.as_deref(), Some(INNER_NAME));
    assert_eq!(retried.ech_status, Some(accepted(1)));
}

#[tokio::test]
async fn lazy_config_acceptor_sees_the_inner_server_name() {
    let (key, list) = x25519_key(4);
    let ech = server_with(vec![key]);
    let inner_config = server_config(&ech, ServerOptions::default());
    let (listener, addr) = listen().await;
    let server_ech = ech.clone();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let start = tokio_rustls::LazyConfigAcceptor::new(
            rustls::server::Acceptor::default(),
            server_ech.io(tcp),
        )
        .await
        .unwrap();
        let hello_name = start.client_hello().server_name().map(str::to_string);
        let tls = start.into_stream(inner_config).await.unwrap();
        let served = Served {
            server_name: tls.get_ref().1.server_name().map(str::to_string),
            ech_status: tls.get_ref().0.ech_status().cloned(),
        };
        serve_exchange(tls, &served).await.unwrap();
        (hello_name, served)
    });

    let client = client_config(ClientOptions {
        ech: ClientEch::Config(list.encoded()),
        ..Default::default()
    });
    let client_side = tokio::time::timeout(LIMIT, client_one(addr, client))
        .await
        .expect("client timed out");
    let (hello_name, served) = tokio::time::timeout(LIMIT, server)
        .await
        .expect("server timed out")
        .unwrap();

    assert_eq!(client_side.ech_status, ClientEchStatus::Accepted);
    assert_eq!(client_side.reported_name, INNER_NAME);
    assert_eq!(hello_name.as_deref(), Some(INNER_NAME));
    assert_eq!(served.ech_status, Some(accepted(4)));
}

#[test]
fn blocking_stream_accepts_ech_with_stream_owned() {
    let (key, list) = x25519_key(5);
    let ech = server_with(vec![key]);
    let config = server_config(&ech, ServerOptions::default());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();

    let server = std::thread::spawn(move || -> std::io::Result<Served> {
        let (tcp, _) = listener.accept()?;
        tcp.set_read_timeout(Some(LIMIT))?;
        tcp.set_write_timeout(Some(LIMIT))?;
        let conn = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
        let mut tls = std::io::BufReader::new(rustls::StreamOwned::new(conn, ech.stream(tcp)));

        let mut line = String::new();
        tls.read_line(&mut line)?;
        assert_eq!(line, "hello\n");
        let mut received = vec![0; PAYLOAD_LEN];
        tls.read_exact(&mut received)?;
        assert!(
            received == client_payload(),
            "the server received the client's payload intact"
        );

        let served = Served {
            server_name: tls.get_ref().conn.server_name().map(str::to_string),
            ech_status: tls.get_ref().sock.ech_status().cloned(),
        };
        let report = format!(
            "{}\n{:?}\n",
            reported_name(served.server_name.as_deref()),
            served.ech_status
        );
        tls.get_mut().write_all(report.as_bytes())?;
        tls.get_mut().write_all(&server_payload())?;
        tls.get_mut().flush()?;

        let mut rest = Vec::new();
        tls.read_to_end(&mut rest)?;
        assert!(rest.is_empty(), "the client sent nothing after its payload");
        Ok(served)
    });

    let client = client_config(ClientOptions {
        ech: ClientEch::Config(list.encoded()),
        ..Default::default()
    });
    let tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(LIMIT)).unwrap();
    tcp.set_write_timeout(Some(LIMIT)).unwrap();
    let conn =
        rustls::ClientConnection::new(client, ServerName::try_from(INNER_NAME).unwrap()).unwrap();
    let mut tls = std::io::BufReader::new(rustls::StreamOwned::new(conn, tcp));
    tls.get_mut().write_all(b"hello\n").unwrap();
    tls.get_mut().write_all(&client_payload()).unwrap();
    tls.get_mut().flush().unwrap();

    let mut name = String::new();
    tls.read_line(&mut name).unwrap();
    let mut status = String::new();
    tls.read_line(&mut status).unwrap();
    let mut received = vec![0; PAYLOAD_LEN];
    tls.read_exact(&mut received).unwrap();
    assert!(
        received == server_payload(),
        "the client received the server's payload intact"
    );
    assert_eq!(tls.get_ref().conn.ech_status(), ClientEchStatus::Accepted);
    tls.get_mut().conn.send_close_notify();
    tls.get_mut().flush().unwrap();

    let served = server.join().unwrap().unwrap();
    assert_eq!(name.trim_end(), INNER_NAME);
    assert_eq!(status.trim_end(), format!("{:?}", Some(accepted(5))));
    assert_eq!(served.server_name.as_deref(), Some(INNER_NAME));
    assert_eq!(served.ech_status, Some(accepted(5)));
}

#[tokio::test]
async fn acceptor_serves_clients_without_ech_and_tls12_clients_as_not_offered() {
    let (key, _) = x25519_key(6);
    let ech = server_with(vec![key]);
    let server = server_config(&ech, ServerOptions::default());

    let cases = [
        ("TLS 1.3 without ECH", false, ProtocolVersion::TLSv1_3),
        ("TLS 1.2", true, ProtocolVersion::TLSv1_2),
    ];
    for (name, tls12_only, version) in cases {
        let client = client_config(ClientOptions {
            tls12_only,
            ..Default::default()
        });
        let (client_side, served) = run_acceptor(&ech, server.clone(), client).await;

        assert_eq!(client_side.protocol_version, Some(version), "{name}");
        assert_eq!(
            client_side.ech_status,
            ClientEchStatus::NotOffered,
            "{name}"
        );
        assert_eq!(client_side.reported_name, INNER_NAME, "{name}");
        assert_eq!(served.server_name.as_deref(), Some(INNER_NAME), "{name}");
        assert_eq!(served.ech_status, Some(EchStatus::NotOffered), "{name}");
    }
}
