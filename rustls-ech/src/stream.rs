//! A blocking `Read + Write` adapter: put it between a socket and a rustls
//! [`ServerConnection`](rustls::ServerConnection).

use std::io::{self, Read, Write};

use crate::engine::{EchEngine, EchStatus};

/// A connection's IO with the ECH engine in the middle.
///
/// Give it to [`read_tls`](rustls::ConnectionCommon::read_tls) and
/// [`write_tls`](rustls::ConnectionCommon::write_tls), or to [`rustls::StreamOwned`]. Once
/// the engine is done (after ServerHello) reads and writes go straight to the inner IO.
///
/// It sets no timer of its own: give the socket a read timeout
/// ([`std::net::TcpStream::set_read_timeout`]) so that a peer that stalls mid-ClientHello
/// cannot hold the connection.
#[derive(Debug)]
pub struct EchStream<S> {
    io: S,
    engine: EchEngine,
    to_rustls: Vec<u8>,
    to_rustls_pos: usize,
    to_peer: Vec<u8>,
}

impl<S> EchStream<S> {
    pub(crate) fn new(io: S, engine: EchEngine) -> Self {
        Self {
            io,
            engine,
            to_rustls: Vec::new(),
            to_rustls_pos: 0,
            to_peer: Vec::new(),
        }
    }

    /// The connection's ECH status, once its ClientHello has been processed.
    pub fn ech_status(&self) -> Option<&EchStatus> {
        self.engine.status()
    }

    /// The inner IO.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// The inner IO, mutably. Reading or writing it directly mid-handshake breaks the
    /// connection.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.io
    }

    /// The inner IO; bytes the engine still held are dropped.
    pub fn into_inner(self) -> S {
        self.io
    }
}

impl<S: Write> EchStream<S> {
    /// Writes out what the engine produced for the peer. A `WouldBlock` keeps the rest.
    fn flush_to_peer(&mut self) -> io::Result<()> {
        while !self.to_peer.is_empty() {
            match self.io.write(&self.to_peer) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.to_peer.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl<S: Read + Write> Read for EchStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.to_rustls_pos < self.to_rustls.len() {
                let ready = &self.to_rustls[self.to_rustls_pos..];
                let n = ready.len().min(buf.len());
                buf[..n].copy_from_slice(&ready[..n]);
                self.to_rustls_pos += n;
                if self.to_rustls_pos == self.to_rustls.len() {
                    self.to_rustls = Vec::new();
                    self.to_rustls_pos = 0;
                }
                return Ok(n);
            }
            if self.engine.inbound_passthrough() || buf.is_empty() {
                return self.io.read(buf);
            }

            let n = self.io.read(buf)?;
            if n == 0 {
                return Ok(0);
            }
            if let Err(error) =
                self.engine
                    .receive(&buf[..n], &mut self.to_rustls, &mut self.to_peer)
            {
                // The alert is best effort: the connection is over either way.
                let _ = self.flush_to_peer();
                return Err(error.into());
            }
        }
    }
}

impl<S: Write> Write for EchStream<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.flush_to_peer()?;
        if self.engine.outbound_passthrough() {
            return self.io.write(buf);
        }
        self.engine.send(buf, &mut self.to_peer)?;
        match self.flush_to_peer() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            other => other?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_to_peer()?;
        self.io.flush()
    }
}
