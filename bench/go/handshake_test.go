package main

// In-process TLS 1.3 handshakes through Go's crypto/tls, beside rustls-ech's criterion
// benchmark: ECDSA P-256 certificates, X25519, TLS_AES_128_GCM_SHA256, plain and with ECH
// accepted. Each handshake runs both peers over an in-memory pipe; with GOMAXPROCS=1 the two
// goroutines take turns, and the time the server goroutine runs between its reads is its
// share, reported as server-ns/op.
//
//	GOMAXPROCS=1 go test -run '^$' -bench Handshake -benchtime 3s

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"
)

const (
	innerName  = "secret.example"
	publicName = "public.example"
)

func BenchmarkHandshake(b *testing.B) {
	f := newFixture(b)
	for _, ech := range []bool{false, true} {
		name := "plain"
		if ech {
			name = "ech-accepted"
		}
		b.Run(name, func(b *testing.B) {
			client, server := f.configs(ech)
			f.handshake(b, client, server, ech) // checks the outcome once
			var serverTime time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				serverTime += f.handshake(b, client, server, ech)
			}
			b.ReportMetric(float64(serverTime.Nanoseconds())/float64(b.N), "server-ns/op")
		})
	}
}

type fixture struct {
	roots   *x509.CertPool
	certs   map[string]tls.Certificate
	echKey  tls.EncryptedClientHelloKey
	echList []byte
}

func newFixture(b *testing.B) *fixture {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	check(b, err)
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "bench CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	check(b, err)
	ca, err := x509.ParseCertificate(caDER)
	check(b, err)
	f := &fixture{roots: x509.NewCertPool(), certs: map[string]tls.Certificate{}}
	f.roots.AddCert(ca)

	for i, name := range []string{innerName, publicName} {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		check(b, err)
		template := &x509.Certificate{
			SerialNumber: big.NewInt(int64(i + 2)),
			Subject:      pkix.Name{CommonName: name},
			DNSNames:     []string{name},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, template, ca, &key.PublicKey, caKey)
		check(b, err)
		f.certs[name] = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}

	private, err := ecdh.X25519().GenerateKey(rand.Reader)
	check(b, err)
	config := echConfig(7, private.PublicKey().Bytes())
	f.echKey = tls.EncryptedClientHelloKey{Config: config, PrivateKey: private.Bytes(), SendAsRetry: true}
	f.echList = append([]byte{byte(len(config) >> 8), byte(len(config))}, config...)
	return f
}

// echConfig encodes an ECHConfig (version 0xfe0d) for DHKEM(X25519, HKDF-SHA256) with
// HKDF-SHA256 and AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305, as rustls-ech generates.
func echConfig(configID byte, publicKey []byte) []byte {
	var contents bytes.Buffer
	contents.WriteByte(configID)
	contents.Write([]byte{0x00, 0x20})
	contents.Write([]byte{byte(len(publicKey) >> 8), byte(len(publicKey))})
	contents.Write(publicKey)
	contents.Write([]byte{0x00, 12, 0, 1, 0, 1, 0, 1, 0, 2, 0, 1, 0, 3})
	contents.WriteByte(0) // maximum_name_length
	contents.WriteByte(byte(len(publicName)))
	contents.WriteString(publicName)
	contents.Write([]byte{0, 0}) // extensions
	n := contents.Len()
	return append([]byte{0xfe, 0x0d, byte(n >> 8), byte(n)}, contents.Bytes()...)
}

func (f *fixture) configs(ech bool) (client, server *tls.Config) {
	curves := []tls.CurveID{tls.X25519}
	client = &tls.Config{
		ServerName:       innerName,
		RootCAs:          f.roots,
		MinVersion:       tls.VersionTLS13,
		CurvePreferences: curves,
	}
	server = &tls.Config{
		MinVersion:       tls.VersionTLS13,
		CurvePreferences: curves,
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			cert := f.certs[publicName]
			if hello.ServerName == innerName {
				cert = f.certs[innerName]
			}
			return &cert, nil
		},
	}
	if ech {
		client.EncryptedClientHelloConfigList = f.echList
		server.EncryptedClientHelloKeys = []tls.EncryptedClientHelloKey{f.echKey}
	}
	return client, server
}

// handshake runs one handshake and returns the time the server goroutine ran.
func (f *fixture) handshake(b *testing.B, clientConfig, serverConfig *tls.Config, ech bool) time.Duration {
	clientEnd, serverEnd := pipe()
	timed := &timedConn{Conn: serverEnd}
	done := make(chan error, 1)
	var state tls.ConnectionState
	go func() {
		server := tls.Server(timed, serverConfig)
		timed.start()
		err := server.Handshake()
		timed.stop()
		state = server.ConnectionState()
		done <- err
	}()
	client := tls.Client(clientEnd, clientConfig)
	if err := client.Handshake(); err != nil {
		b.Fatalf("client: %v", err)
	}
	if err := <-done; err != nil {
		b.Fatalf("server: %v", err)
	}
	if state.ECHAccepted != ech || state.ServerName != innerName ||
		state.CipherSuite != tls.TLS_AES_128_GCM_SHA256 || client.ConnectionState().ECHAccepted != ech {
		b.Fatalf("unexpected handshake: ech %v, name %q, suite %x", state.ECHAccepted, state.ServerName, state.CipherSuite)
	}
	return timed.busy
}

func check(b *testing.B, err error) {
	if err != nil {
		b.Fatal(err)
	}
}

// timedConn adds up the time its goroutine runs between reads: with GOMAXPROCS=1 the other
// peer cannot run while this one is busy, so the sum is this peer's share of the handshake.
type timedConn struct {
	net.Conn
	busy time.Duration
	from time.Time
}

func (c *timedConn) start() { c.from = time.Now() }
func (c *timedConn) stop()  { c.busy += time.Since(c.from) }

func (c *timedConn) Read(p []byte) (int, error) {
	c.stop()
	n, err := c.Conn.Read(p)
	c.start()
	return n, err
}

// pipe is an in-memory, buffered, full-duplex connection: writes never block, so a peer can
// send its whole flight (session tickets included) before the other reads.
func pipe() (net.Conn, net.Conn) {
	a, b := newBuffer(), newBuffer()
	return &pipeEnd{in: a, out: b}, &pipeEnd{in: b, out: a}
}

type buffer struct {
	mu     sync.Mutex
	cond   *sync.Cond
	data   bytes.Buffer
	closed bool
}

func newBuffer() *buffer {
	b := &buffer{}
	b.cond = sync.NewCond(&b.mu)
	return b
}

type pipeEnd struct {
	in, out *buffer
}

func (p *pipeEnd) Read(buf []byte) (int, error) {
	p.in.mu.Lock()
	defer p.in.mu.Unlock()
	for p.in.data.Len() == 0 {
		if p.in.closed {
			return 0, io.EOF
		}
		p.in.cond.Wait()
	}
	return p.in.data.Read(buf)
}

func (p *pipeEnd) Write(buf []byte) (int, error) {
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	if p.out.closed {
		return 0, io.ErrClosedPipe
	}
	p.out.data.Write(buf)
	p.out.cond.Signal()
	return len(buf), nil
}

func (p *pipeEnd) Close() error {
	for _, b := range []*buffer{p.in, p.out} {
		b.mu.Lock()
		b.closed = true
		b.cond.Broadcast()
		b.mu.Unlock()
	}
	return nil
}

func (p *pipeEnd) LocalAddr() net.Addr              { return pipeAddr{} }
func (p *pipeEnd) RemoteAddr() net.Addr             { return pipeAddr{} }
func (p *pipeEnd) SetDeadline(time.Time) error      { return nil }
func (p *pipeEnd) SetReadDeadline(time.Time) error  { return nil }
func (p *pipeEnd) SetWriteDeadline(time.Time) error { return nil }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
