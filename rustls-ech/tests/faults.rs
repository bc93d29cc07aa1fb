//! Clients that disconnect at every point of the handshake leave nothing behind: no server
//! task, no engine buffer, no registration between the engine and the provider wrapper.
//! (A test binary of its own, so no other test's connections are counted.)

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use rustls::pki_types::ServerName;
use rustls_ech::__test_support::live_registrations;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Counts a server task while it lives.
struct Live(Arc<AtomicUsize>);

impl Live {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count.clone())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The records of rustls's ECH client's first flight.
fn client_records(list: &[u8]) -> Vec<Vec<u8>> {
    let client_config = client_config(ClientOptions {
        ech: ClientEch::Config(list),
        ..Default::default()
    });
    let name = ServerName::try_from(INNER_NAME).unwrap();
    let mut client = rustls::ClientConnection::new(client_config, name).unwrap();
    let mut first = Vec::new();
    client.write_tls(&mut first).unwrap();
    split_records(&first)
}

fn split_records(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut records = Vec::new();
    while bytes.len() >= 5 {
        let len = 5 + usize::from(u16::from_be_bytes([bytes[3], bytes[4]]));
        records.push(bytes[..len].to_vec());
        bytes = &bytes[len..];
    }
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_disconnect_at_every_point_leave_nothing_behind() {
    let (key, list) = x25519_key(1);
    let ech = server_with(vec![key]);
    let acceptor = ech
        .acceptor(server_config(&ech, ServerOptions::default()))
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let live = Arc::new(AtomicUsize::new(0));

    let server = {
        let live = live.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let guard = Live::new(&live);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let _guard = guard;
                    if let Ok(mut tls) = acceptor.accept(tcp).await {
                        let mut buf = [0u8; 64];
                        while matches!(tls.read(&mut buf).await, Ok(n) if n > 0) {}
                    }
                });
            }
        })
    };

    // Cut the first flight around every record boundary, and at points inside records.
    let records = client_records(list.encoded());
    let flight: Vec<u8> = records.concat();
    let mut cuts: Vec<usize> = (0..=flight.len()).step_by(37).collect();
    let mut boundary = 0;
    for record in &records {
        boundary += record.len();
        cuts.extend(
            [boundary - 1, boundary, boundary + 1]
                .into_iter()
                .filter(|c| *c <= flight.len()),
        );
    }

    for cut in cuts {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        tcp.write_all(&flight[..cut]).await.unwrap();
        drop(tcp);
    }
    // Then connections that stop before, just after, and well after the handshake.
    for stop_after in 0..3 {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let config = client_config(ClientOptions {
            ech: ClientEch::Config(list.encoded()),
            ..Default::default()
        });
        let connector = tokio_rustls::TlsConnector::from(config);
        let name = ServerName::try_from(INNER_NAME).unwrap();
        match stop_after {
            0 => {
                // The whole first flight; the server's answer is read, then the client leaves.
                let mut tcp = tcp;
                tcp.write_all(&flight).await.unwrap();
                let mut answer = [0u8; 1024];
                let _ = tcp.read(&mut answer).await;
                drop(tcp);
            }
            1 => {
                // Handshake completes; the client leaves without close_notify.
                let tls = connector.connect(name, tcp).await.unwrap();
                drop(tls);
            }
            _ => {
                let mut tls = connector.connect(name, tcp).await.unwrap();
                tls.write_all(b"hello").await.unwrap();
                tls.shutdown().await.unwrap();
            }
        }
    }

    // Every server task ends once its peer is gone; wait for that, boundedly.
    let mut waited = Duration::ZERO;
    while live.load(Ordering::SeqCst) != 0 && waited < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += Duration::from_millis(20);
    }
    assert_eq!(live.load(Ordering::SeqCst), 0, "server tasks still alive");
    assert_eq!(live_registrations(), 0, "registrations left behind");
    server.abort();
}
