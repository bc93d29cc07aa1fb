//! One connection with the runner: handshake, the checks the flags ask for, then echo.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

use rustls::{HandshakeKind, ServerConnection};
use rustls_ech::{EchError, EchStatus, EchStream};

use crate::codes;
use crate::flags::{EarlyData, Hrr, Options, Round};
use crate::server::{lock, version_number, Server, Shared};

/// Why a connection failed: printed for the runner, which matches the code.
#[derive(Debug)]
pub struct Failure {
    pub code: &'static str,
    pub detail: String,
}

impl Failure {
    fn new(code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }

    /// A check the test asked for did not hold.
    fn expectation(detail: impl Into<String>) -> Self {
        Self::new(":EXPECTATION_FAILED:", detail)
    }
}

/// The connection's IO: straight to the socket, or through the ECH layer.
enum Io {
    Plain(TcpStream),
    Ech(Box<EchStream<TcpStream>>),
}

impl Io {
    fn socket(&self) -> &TcpStream {
        match self {
            Self::Plain(socket) => socket,
            Self::Ech(stream) => stream.get_ref(),
        }
    }

    fn ech_status(&self) -> Option<&EchStatus> {
        match self {
            Self::Plain(_) => None,
            Self::Ech(stream) => stream.ech_status(),
        }
    }
}

impl Read for Io {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(socket) => socket.read(buf),
            Self::Ech(stream) => stream.read(buf),
        }
    }
}

impl Write for Io {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(socket) => socket.write(buf),
            Self::Ech(stream) => stream.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(socket) => socket.flush(),
            Self::Ech(stream) => stream.flush(),
        }
    }
}

struct Connection<'a> {
    opts: &'a Options,
    shared: &'a Shared,
    round: Round,
    tls: ServerConnection,
    io: Io,
    early_data: bool,
    /// Whether the server's first flight was a HelloRetryRequest; rustls does not say.
    sent_hrr: bool,
    /// Until the first ServerHello or HelloRetryRequest is out.
    before_server_hello: bool,
}

/// Connects to the runner and runs one handshake and exchange.
pub fn run(opts: &Options, round: Round, server: &Server, shared: &Shared) -> Result<(), Failure> {
    let socket = connect(opts).map_err(|e| Failure::new(":CONNECT_FAILED:", e.to_string()))?;
    let io = match &server.ech {
        Some(ech) => Io::Ech(Box::new(ech.stream(socket))),
        None => Io::Plain(socket),
    };
    let tls = ServerConnection::new(server.config.clone())
        .map_err(|e| Failure::new(codes::rustls_code(&e), e.to_string()))?;
    let mut conn = Connection {
        opts,
        shared,
        round,
        tls,
        io,
        early_data: false,
        sent_hrr: false,
        before_server_hello: true,
    };
    let result = conn.exchange();
    if result.is_err() {
        conn.close_after_error();
    }
    result
}

fn connect(opts: &Options) -> io::Result<TcpStream> {
    let addr = if opts.ipv6 {
        SocketAddr::from((Ipv6Addr::LOCALHOST, opts.port))
    } else {
        SocketAddr::from((Ipv4Addr::LOCALHOST, opts.port))
    };
    let mut socket = TcpStream::connect(addr)?;
    socket.set_nodelay(true)?;
    socket.write_all(&opts.shim_id.to_le_bytes())?;
    Ok(socket)
}

impl Connection<'_> {
    fn exchange(&mut self) -> Result<(), Failure> {
        self.handshake()?;
        self.check_handshake()?;
        self.after_handshake()?;
        self.echo()
    }

    fn handshake(&mut self) -> Result<(), Failure> {
        while self.tls.is_handshaking() {
            self.flush()?;
            if !self.tls.is_handshaking() {
                break;
            }
            if self.read_tls()? == 0 {
                return Err(Failure::new(
                    ":UNEXPECTED_EOF:",
                    "peer closed in the handshake",
                ));
            }
            self.process()?;
        }
        self.flush()
    }

    /// Reads what the peer sent into rustls; errors of the ECH layer come back here.
    fn read_tls(&mut self) -> Result<usize, Failure> {
        match self.tls.read_tls(&mut self.io) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(0),
            Err(e) => match e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<EchError>())
            {
                Some(ech) => Err(Failure::new(codes::ech_code(ech), ech.to_string())),
                None => Err(Failure::new(":IO_ERROR:", e.to_string())),
            },
        }
    }

    fn process(&mut self) -> Result<(), Failure> {
        if let Err(e) = self.tls.process_new_packets() {
            // rustls has queued its alert; the caller's cleanup sends it.
            return Err(Failure::new(codes::rustls_code(&e), format!("{e:?}")));
        }
        self.echo_early_data()
    }

    /// Answers 0-RTT data as half-RTT data, each byte inverted, as the runner expects.
    fn echo_early_data(&mut self) -> Result<(), Failure> {
        let Some(mut early) = self.tls.early_data() else {
            return Ok(());
        };
        self.early_data = true;
        let mut data = Vec::new();
        early
            .read_to_end(&mut data)
            .map_err(|e| Failure::new(":IO_ERROR:", e.to_string()))?;
        if data.is_empty() {
            return Ok(());
        }
        invert(&mut data);
        self.tls
            .writer()
            .write_all(&data)
            .map_err(|e| Failure::new(":IO_ERROR:", e.to_string()))
    }

    fn flush(&mut self) -> Result<(), Failure> {
        let mut out = Vec::new();
        while self.tls.wants_write() {
            self.tls
                .write_tls(&mut out)
                .map_err(|e| Failure::new(":IO_ERROR:", e.to_string()))?;
        }
        if self.before_server_hello && !out.is_empty() {
            self.before_server_hello = false;
            self.sent_hrr = is_hello_retry_request(&out);
        }
        self.io
            .write_all(&out)
            .and_then(|()| self.io.flush())
            .map_err(|e| Failure::new(":IO_ERROR:", e.to_string()))
    }

    fn check_handshake(&mut self) -> Result<(), Failure> {
        let opts = self.opts;
        let kind = self.tls.handshake_kind();
        if let Some(expected) = opts.expect_hrr {
            if self.sent_hrr != (expected == Hrr::Sent) {
                return Err(Failure::expectation(format!("handshake was {kind:?}")));
            }
        }
        if self.round == Round::Resume {
            let resumed = kind == Some(HandshakeKind::Resumed);
            if resumed == opts.expect_session_miss {
                return Err(Failure::expectation(format!("resumption: {kind:?}")));
            }
        }
        if let Some(name) = &opts.expect_server_name {
            if self.tls.server_name() != Some(name.as_str()) {
                return Err(Failure::expectation(format!(
                    "server name {:?}",
                    self.tls.server_name()
                )));
            }
        }
        if opts.expect_no_server_name && self.tls.server_name().is_some() {
            return Err(Failure::expectation("a server name was received"));
        }
        if let Some(protocol) = &opts.expect_alpn {
            if self.tls.alpn_protocol() != Some(protocol.as_slice()) {
                return Err(Failure::expectation("ALPN protocol"));
            }
        }
        if let Some(expected) = &opts.expect_advertised_alpn {
            // The resolver runs on full handshakes only.
            let observed = lock(&self.shared.observed).offered_alpn.take();
            if kind != Some(HandshakeKind::Resumed) && observed.as_ref() != Some(expected) {
                return Err(Failure::expectation(format!("offered ALPN {observed:?}")));
            }
        }
        if let Some(expected) = opts.expect_peer_signature_algorithm {
            // A resumed session keeps the signature of the handshake that made it.
            let scheme = lock(&self.shared.observed).client_signature;
            if scheme.map(u16::from) != Some(expected) {
                return Err(Failure::expectation(format!(
                    "client signed with {scheme:?}"
                )));
            }
        }
        if let Some(expected) = opts.expect_curve_id {
            let group = self.tls.negotiated_key_exchange_group().map(|g| g.name());
            if group.map(u16::from) != Some(expected) {
                return Err(Failure::expectation(format!("group {group:?}")));
            }
        }
        if let Some(expected) = opts.expect_version {
            let version = self.tls.protocol_version().map(version_number);
            if version != Some(expected) {
                return Err(Failure::expectation(format!("version {version:?}")));
            }
        }
        if let Some(expected) = opts.expect_early_data {
            if self.early_data != (expected == EarlyData::Accepted) {
                return Err(Failure::expectation(format!(
                    "early data accepted: {}",
                    self.early_data
                )));
            }
        }
        if opts.expect_ech_accept
            && !matches!(self.io.ech_status(), Some(EchStatus::Accepted { .. }))
        {
            return Err(Failure::expectation(format!(
                "ECH status {:?}",
                self.io.ech_status()
            )));
        }
        Ok(())
    }

    /// What the shim sends before echoing: exported secrets, a KeyUpdate, its first write.
    fn after_handshake(&mut self) -> Result<(), Failure> {
        let opts = self.opts;
        if opts.export_keying_material > 0 {
            let mut out = vec![0; opts.export_keying_material];
            let context = opts
                .use_export_context
                .then_some(opts.export_context.as_bytes());
            self.tls
                .export_keying_material(&mut out, opts.export_label.as_bytes(), context)
                .map_err(|e| Failure::new(codes::rustls_code(&e), e.to_string()))?;
            self.write(&out)?;
        }
        if opts.export_traffic_secrets {
            let (client, server) = lock(&self.shared.observed).traffic_secrets.clone();
            let len = u16::try_from(client.len()).unwrap_or_default();
            let mut out = len.to_le_bytes().to_vec();
            out.extend_from_slice(&server);
            out.extend_from_slice(&client);
            self.write(&out)?;
        }
        if opts.key_update {
            self.tls
                .refresh_traffic_keys()
                .map_err(|e| Failure::new(codes::rustls_code(&e), e.to_string()))?;
        }
        if opts.shim_writes_first {
            self.write(b"hello")?;
        }
        if opts.shim_shuts_down {
            self.tls.send_close_notify();
        }
        self.flush()
    }

    fn write(&mut self, data: &[u8]) -> Result<(), Failure> {
        self.tls
            .writer()
            .write_all(data)
            .map_err(|e| Failure::new(":IO_ERROR:", e.to_string()))
    }

    /// Echoes the runner's data back inverted until it closes the connection.
    fn echo(&mut self) -> Result<(), Failure> {
        let read_size = self.opts.read_size.unwrap_or(16384).max(1);
        let mut buf = vec![0; read_size];
        loop {
            match self.tls.reader().read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    invert(&mut buf[..n]);
                    if !self.opts.shim_shuts_down {
                        self.tls
                            .writer()
                            .write_all(&buf[..n])
                            .map_err(|e| Failure::new(":IO_ERROR:", e.to_string()))?;
                    }
                    self.flush()?;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    if self.opts.check_close_notify {
                        return Err(Failure::new(":CLOSE_WITHOUT_CLOSE_NOTIFY:", e.to_string()));
                    }
                    return Ok(());
                }
                Err(e) => return Err(Failure::new(":IO_ERROR:", e.to_string())),
            }
            if self.read_tls()? == 0 {
                if self.opts.check_close_notify {
                    return Err(Failure::new(":CLOSE_WITHOUT_CLOSE_NOTIFY:", "TCP closed"));
                }
                return Ok(());
            }
            self.process()?;
            self.flush()?;
        }
    }

    /// Sends whatever alert rustls queued, then lets the runner read it before the socket
    /// closes: closing with unread input would reset the connection and lose the alert.
    fn close_after_error(&mut self) {
        let _ = self.flush();
        let socket = self.io.socket();
        let _ = socket.shutdown(Shutdown::Write);
        let _ = socket.set_read_timeout(Some(Duration::from_secs(5)));
        let mut buf = [0; 4096];
        let mut socket = socket;
        while matches!(socket.read(&mut buf), Ok(1..)) {}
    }
}

/// Whether rustls's first flight starts with a HelloRetryRequest: a ServerHello record whose
/// random is the special value of RFC 8446 §4.1.3.
fn is_hello_retry_request(flight: &[u8]) -> bool {
    const HRR_RANDOM: [u8; 32] = [
        0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8,
        0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8,
        0x33, 0x9c,
    ];
    // Record header (5), handshake header (4), legacy_version (2), then the random.
    flight.first() == Some(&22)
        && flight.get(5) == Some(&2)
        && flight.get(11..43) == Some(&HRR_RANDOM)
}

fn invert(data: &mut [u8]) {
    for byte in data {
        *byte ^= 0xff;
    }
}
