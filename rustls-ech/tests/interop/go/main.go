// Command echclient connects to a server with Go's crypto/tls ECH client, sends one
// HTTP/1.1 GET request, and reports what happened, one "key: value" line per fact:
//
//	ech_accepted: true
//	verified_name: secret.example
//	status: HTTP/1.1 200 OK
//	body: {...}
//
// When the server rejects ECH it prints "ech_rejected: true" and the retry configs the server
// sent ("retry_configs: BASE64"); with -retry it then connects again with them.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

func main() {
	echConfig := flag.String("ech-config", "", "the ECHConfigList, base64")
	echConfigFile := flag.String("ech-config-file", "", "a PEM key file whose ECHCONFIG block holds the ECHConfigList")
	caFile := flag.String("ca", "", "the CA certificate to trust (PEM)")
	connect := flag.String("connect", "", "the address to connect to instead of the URL's host")
	retry := flag.Bool("retry", false, "on rejection, connect again with the server's retry configs")
	curves := flag.String("curves", "", "key exchange groups in order, comma-separated (x25519, p256, p384, x25519mlkem768); the first gets the key share")
	flag.Parse()
	if flag.NArg() != 1 {
		fatalf("usage: echclient [flags] https://host:port/path")
	}

	target, err := url.Parse(flag.Arg(0))
	if err != nil || target.Scheme != "https" || target.Hostname() == "" {
		fatalf("need an https:// URL, got %q", flag.Arg(0))
	}
	address := *connect
	if address == "" {
		port := target.Port()
		if port == "" {
			port = "443"
		}
		address = net.JoinHostPort(target.Hostname(), port)
	}

	list, err := readConfigList(*echConfig, *echConfigFile)
	if err != nil {
		fatalf("%v", err)
	}
	roots, err := readRoots(*caFile)
	if err != nil {
		fatalf("%v", err)
	}
	groups, err := parseCurves(*curves)
	if err != nil {
		fatalf("%v", err)
	}

	config := &tls.Config{
		ServerName:                     target.Hostname(),
		RootCAs:                        roots,
		MinVersion:                     tls.VersionTLS13,
		NextProtos:                     []string{"http/1.1"},
		CurvePreferences:               groups,
		EncryptedClientHelloConfigList: list,
	}
	for attempt := 1; ; attempt++ {
		err := fetch(config, address, target)
		var rejection *tls.ECHRejectionError
		if !errors.As(err, &rejection) {
			if err != nil {
				fatalf("%v", err)
			}
			return
		}
		fmt.Println("ech_rejected: true")
		fmt.Printf("retry_configs: %s\n", base64.StdEncoding.EncodeToString(rejection.RetryConfigList))
		if !*retry || attempt == 2 || len(rejection.RetryConfigList) == 0 {
			os.Exit(2)
		}
		fmt.Println("retrying: with the server's retry configs")
		config.EncryptedClientHelloConfigList = rejection.RetryConfigList
	}
}

// fetch runs one handshake and one GET request, and prints the report.
func fetch(config *tls.Config, address string, target *url.URL) error {
	dialer := &net.Dialer{Timeout: 30 * time.Second}
	conn, err := tls.DialWithDialer(dialer, "tcp", address, config)
	if err != nil {
		return err
	}
	defer conn.Close()

	state := conn.ConnectionState()
	fmt.Printf("ech_accepted: %t\n", state.ECHAccepted)
	fmt.Printf("tls_version: %s\n", tls.VersionName(state.Version))
	fmt.Printf("cipher_suite: %s\n", tls.CipherSuiteName(state.CipherSuite))
	fmt.Printf("curve: %s\n", state.CurveID)
	if len(state.VerifiedChains) > 0 {
		fmt.Printf("verified_name: %s\n", strings.Join(state.VerifiedChains[0][0].DNSNames, ","))
	}

	path := target.RequestURI()
	request := "GET " + path + " HTTP/1.1\r\nHost: " + target.Hostname() +
		"\r\nUser-Agent: rustls-ech-go-interop\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(conn, request); err != nil {
		return err
	}
	reader := bufio.NewReader(conn)
	status, err := reader.ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading the response: %w", err)
	}
	fmt.Printf("status: %s\n", strings.TrimSpace(status))
	for {
		line, err := reader.ReadString('\n')
		if err != nil {
			return fmt.Errorf("reading the response headers: %w", err)
		}
		if strings.TrimSpace(line) == "" {
			break
		}
	}
	body, err := io.ReadAll(reader)
	if err != nil && len(body) == 0 {
		return fmt.Errorf("reading the response body: %w", err)
	}
	fmt.Printf("body: %s\n", strings.TrimSpace(string(body)))
	return nil
}

func readConfigList(text, file string) ([]byte, error) {
	if text != "" {
		return base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	}
	if file == "" {
		return nil, errors.New("give -ech-config or -ech-config-file")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("%s: no ECHCONFIG block", file)
		}
		if block.Type == "ECHCONFIG" {
			return block.Bytes, nil
		}
	}
}

func readRoots(file string) (*x509.CertPool, error) {
	if file == "" {
		return x509.SystemCertPool()
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s: no certificate", file)
	}
	return pool, nil
}

func parseCurves(text string) ([]tls.CurveID, error) {
	if text == "" {
		return nil, nil
	}
	names := map[string]tls.CurveID{
		"x25519":         tls.X25519,
		"p256":           tls.CurveP256,
		"p384":           tls.CurveP384,
		"p521":           tls.CurveP521,
		"x25519mlkem768": tls.X25519MLKEM768,
	}
	var groups []tls.CurveID
	for _, name := range strings.Split(text, ",") {
		group, ok := names[strings.ToLower(strings.TrimSpace(name))]
		if !ok {
			return nil, fmt.Errorf("unknown curve %q", name)
		}
		groups = append(groups, group)
	}
	return groups, nil
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "echclient: "+format+"\n", args...)
	os.Exit(1)
}
