//! Tokio adapters: an `AsyncRead + AsyncWrite` wrapper and an acceptor whose result is the
//! ordinary [`tokio_rustls::server::TlsStream`].

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{sleep, Sleep};

use crate::engine::{EchEngine, EchStatus};
use crate::server::{EchServer, ServerConfigError};

/// The read size used while the engine is reassembling a ClientHello.
const HANDSHAKE_READ_LEN: usize = 8 * 1024;

/// A connection's async IO with the ECH engine in the middle.
///
/// [`EchAcceptor`] builds it for you. Build it yourself with [`EchServer::io`] to use
/// [`tokio_rustls::LazyConfigAcceptor`]: the `ClientHello` it shows is ClientHelloInner when
/// ECH is accepted, so a config can be chosen by the inner server name. Such configs must use a
/// provider from [`EchServer::wrap`] (see [`EchServer::check_config`]).
#[derive(Debug)]
pub struct EchIo<IO> {
    io: IO,
    engine: EchEngine,
    to_rustls: Vec<u8>,
    to_rustls_pos: usize,
    to_peer: Vec<u8>,
    scratch: Vec<u8>,
    client_hello_timeout: Option<Duration>,
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<IO> EchIo<IO> {
    pub(crate) fn new(io: IO, engine: EchEngine) -> Self {
        Self {
            io,
            engine,
            to_rustls: Vec::new(),
            to_rustls_pos: 0,
            to_peer: Vec::new(),
            scratch: Vec::new(),
            client_hello_timeout: Some(DEFAULT_CLIENT_HELLO_TIMEOUT),
            deadline: None,
        }
    }

    /// Sets how long the peer has, from the first read, to deliver its ClientHello (both of
    /// them, after HelloRetryRequest) before reads fail with [`io::ErrorKind::TimedOut`]. A
    /// peer that stalls mid-ClientHello, or trickles it a byte at a time, then holds nothing.
    /// Once the engine is done the timer is gone. `None` waits forever. The timer needs a Tokio
    /// runtime with time enabled.
    pub fn set_client_hello_timeout(&mut self, timeout: Option<Duration>) {
        self.client_hello_timeout = timeout;
        self.deadline = None;
    }

    /// The connection's ECH status, once its ClientHello has been processed.
    pub fn ech_status(&self) -> Option<&EchStatus> {
        self.engine.status()
    }

    /// The inner IO.
    pub fn get_ref(&self) -> &IO {
        &self.io
    }

    /// The inner IO, mutably. Using it directly mid-handshake breaks the connection.
    pub fn get_mut(&mut self) -> &mut IO {
        &mut self.io
    }

    /// The inner IO.
    pub fn into_inner(self) -> IO {
        self.io
    }
}

impl<IO: AsyncWrite + Unpin> EchIo<IO> {
    fn poll_flush_to_peer(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.to_peer.is_empty() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.to_peer))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.to_peer.drain(..n);
        }
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncRead for EchIo<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.to_rustls_pos < this.to_rustls.len() {
                let ready = &this.to_rustls[this.to_rustls_pos..];
                let n = ready.len().min(buf.remaining());
                buf.put_slice(&ready[..n]);
                this.to_rustls_pos += n;
                if this.to_rustls_pos == this.to_rustls.len() {
                    this.to_rustls = Vec::new();
                    this.to_rustls_pos = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.engine.inbound_passthrough() {
                this.scratch = Vec::new();
                this.deadline = None;
                return Pin::new(&mut this.io).poll_read(cx, buf);
            }
            if let Some(timeout) = this.client_hello_timeout {
                let deadline = this
                    .deadline
                    .get_or_insert_with(|| Box::pin(sleep(timeout)));
                if deadline.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no complete ClientHello within the timeout",
                    )));
                }
            }

            this.scratch.resize(HANDSHAKE_READ_LEN, 0);
            let mut scratch = ReadBuf::new(&mut this.scratch);
            ready!(Pin::new(&mut this.io).poll_read(cx, &mut scratch))?;
            let n = scratch.filled().len();
            if n == 0 {
                return Poll::Ready(Ok(()));
            }
            let received =
                this.engine
                    .receive(&this.scratch[..n], &mut this.to_rustls, &mut this.to_peer);
            if let Err(error) = received {
                // The alert is best effort: the connection is over either way.
                let _ = this.poll_flush_to_peer(cx);
                return Poll::Ready(Err(error.into()));
            }
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for EchIo<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_flush_to_peer(cx))?;
        if this.engine.outbound_passthrough() {
            return Pin::new(&mut this.io).poll_write(cx, buf);
        }
        this.engine.send(buf, &mut this.to_peer)?;
        // What does not go out now goes out on the next write or flush.
        if let Poll::Ready(Err(e)) = this.poll_flush_to_peer(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.engine.outbound_passthrough() && this.to_peer.is_empty() {
            return Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        }
        let buf = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &**b);
        Pin::new(this).poll_write(cx, buf)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_flush_to_peer(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_flush_to_peer(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// Accepts TLS connections with ECH: the result is the ordinary
/// [`tokio_rustls::server::TlsStream`], over [`EchIo`], so hyper and axum take it unchanged.
///
/// ```no_run
/// # async fn run(ech: rustls_ech::EchServer, config: std::sync::Arc<rustls::ServerConfig>,
/// #              tcp: tokio::net::TcpStream) -> Result<(), Box<dyn std::error::Error>> {
/// let acceptor = ech.acceptor(config)?;
/// let tls = acceptor.accept(tcp).await?;
/// println!("{:?}", tls.get_ref().0.ech_status());
/// # Ok(()) }
/// ```
///
/// Connections get the ClientHello timeout ([`DEFAULT_CLIENT_HELLO_TIMEOUT`] unless changed with
/// [`EchAcceptor::with_client_hello_timeout`]): see [`EchIo::set_client_hello_timeout`].
#[derive(Clone)]
pub struct EchAcceptor {
    ech: EchServer,
    inner: tokio_rustls::TlsAcceptor,
    client_hello_timeout: Option<Duration>,
}

/// How long a connection may take to deliver its ClientHello (both of them, after
/// HelloRetryRequest), unless told otherwise.
pub const DEFAULT_CLIENT_HELLO_TIMEOUT: Duration = Duration::from_secs(10);

impl EchAcceptor {
    /// Starts the server handshake on `io`. `into_fallible()` on the result gives the IO back
    /// on failure, as with [`tokio_rustls::TlsAcceptor`].
    pub fn accept<IO>(&self, io: IO) -> tokio_rustls::Accept<EchIo<IO>>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let mut io = self.ech.io(io);
        io.set_client_hello_timeout(self.client_hello_timeout);
        self.inner.accept(io)
    }

    /// Sets the ClientHello timeout (see [`EchIo::set_client_hello_timeout`]); `None` waits
    /// forever.
    pub fn with_client_hello_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.client_hello_timeout = timeout;
        self
    }

    /// The [`EchServer`] this acceptor uses.
    pub fn server(&self) -> &EchServer {
        &self.ech
    }
}

impl core::fmt::Debug for EchAcceptor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EchAcceptor")
            .field("ech", &self.ech)
            .finish_non_exhaustive()
    }
}

impl EchServer {
    /// An acceptor for `config`, after [`EchServer::check_config`].
    pub fn acceptor(&self, config: Arc<ServerConfig>) -> Result<EchAcceptor, ServerConfigError> {
        self.check_config(&config)?;
        Ok(EchAcceptor {
            ech: self.clone(),
            inner: tokio_rustls::TlsAcceptor::from(config),
            client_hello_timeout: Some(DEFAULT_CLIENT_HELLO_TIMEOUT),
        })
    }

    /// Wraps a connection's async IO with a new engine.
    pub fn io<IO>(&self, io: IO) -> EchIo<IO> {
        EchIo::new(io, self.engine())
    }
}
