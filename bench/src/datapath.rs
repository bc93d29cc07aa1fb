//! Connections over loopback TCP for the data-path benchmark: the server side accepted through
//! rustls-ech's tokio adapter, or through plain tokio-rustls.

use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::ServerConfig;
use rustls_ech::{EchKeys, EchServer, EchStatus};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::{client_config, ech_key, pki, resolver, Provider, INNER_NAME};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How the server side of a connection was accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    /// `tokio_rustls::TlsAcceptor` on a stock provider.
    PlainTokioRustls,
    /// `EchAcceptor`, with ECH accepted.
    EchAdapter,
}

impl Server {
    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::PlainTokioRustls => "plain-tokio-rustls",
            Self::EchAdapter => "ech-adapter",
        }
    }
}

/// Which way the bytes go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// The server writes, the client reads.
    ServerToClient,
    /// The client writes, the server reads.
    ClientToServer,
}

impl Direction {
    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::ServerToClient => "server-to-client",
            Self::ClientToServer => "client-to-server",
        }
    }
}

/// Anything the server side can be.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Both ends of one established TLS connection.
pub struct Pair {
    server: Box<dyn Stream>,
    client: tokio_rustls::client::TlsStream<TcpStream>,
}

/// Opens a loopback connection whose server side is accepted as `server` says.
pub async fn connect(server: Server) -> Result<Pair, BoxError> {
    let provider = Provider::AwsLcRs;
    let tls = provider.tls();
    let resolver = Arc::new(resolver(&tls)?);
    let (key, list) = ech_key(1, provider.hpke())?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;

    let (ech, client_ech) = match server {
        Server::PlainTokioRustls => (None, None),
        Server::EchAdapter => (
            Some(EchServer::with_backend(
                EchKeys::new(vec![key])?,
                provider.hpke(),
            )),
            Some(list.encoded()),
        ),
    };
    let tls = match &ech {
        Some(ech) => ech.wrap(tls),
        None => tls,
    };
    let config = ServerConfig::builder_with_provider(Arc::new(tls))
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    let config = Arc::new(config);

    let client_config = Arc::new(client_config(&pki().ca, client_ech, false)?);
    let connector = tokio_rustls::TlsConnector::from(client_config);
    let name = ServerName::try_from(INNER_NAME)?;
    let accept = async {
        let (tcp, _) = listener.accept().await?;
        tcp.set_nodelay(true)?;
        let stream: Box<dyn Stream> = match &ech {
            Some(ech) => {
                let tls = ech.acceptor(config.clone())?.accept(tcp).await?;
                let status = tls.get_ref().0.ech_status();
                if !matches!(status, Some(EchStatus::Accepted { .. })) {
                    return Err(format!("ECH not accepted: {status:?}").into());
                }
                Box::new(tls)
            }
            None => Box::new(
                tokio_rustls::TlsAcceptor::from(config.clone())
                    .accept(tcp)
                    .await?,
            ),
        };
        Ok::<_, BoxError>(stream)
    };
    let dial = async {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        Ok::<_, BoxError>(connector.connect(name, tcp).await?)
    };
    let (server, client) = tokio::try_join!(accept, dial)?;
    Ok(Pair { server, client })
}

/// Sends `total` bytes one way, in writes of `chunk` bytes, and reads them all at the other end.
pub async fn transfer(
    pair: &mut Pair,
    direction: Direction,
    total: usize,
    chunk: usize,
) -> Result<(), BoxError> {
    let data = vec![0x5a; chunk];
    let (writer, reader): (&mut dyn Stream, &mut dyn Stream) = match direction {
        Direction::ServerToClient => (&mut *pair.server, &mut pair.client),
        Direction::ClientToServer => (&mut pair.client, &mut *pair.server),
    };
    let write = async {
        let mut sent = 0;
        while sent < total {
            let n = chunk.min(total - sent);
            writer.write_all(&data[..n]).await?;
            sent += n;
        }
        writer.flush().await?;
        Ok::<_, std::io::Error>(())
    };
    let read = async {
        let mut buf = vec![0; chunk];
        let mut got = 0;
        while got < total {
            let n = reader.read(&mut buf).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            got += n;
        }
        Ok(())
    };
    tokio::try_join!(write, read)?;
    Ok(())
}
