// Command go-ech-bench is the Go side of rustls-ech's benchmarks: an HTTPS server with
// Encrypted Client Hello on Go's crypto/tls, standard library only, serving the same
// certificates and ECH key as rustls-ech's example server, for the loopback load test.
//
//	go-ech-bench -listen 127.0.0.1:8444 -dir ech-demo
//
// It reads, from -dir, the files the example server creates: a certificate and key for each
// name (NAME.pem, NAME-key.pem) and the ECH key file keys/ech.pem (a PKCS#8 X25519 key and an
// ECHCONFIG block). GET /ech answers whether ECH was accepted. HTTP/1.1 only.
package main

import (
	"crypto/ecdh"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8444", "address to listen on")
	dir := flag.String("dir", "ech-demo", "folder holding the certificates and keys/ech.pem")
	publicName := flag.String("public-name", "public.example", "the ECHConfig's public_name")
	name := flag.String("name", "secret.example", "the name ECH hides")
	flag.Parse()

	config, err := serverConfig(*dir, *publicName, *name)
	if err != nil {
		log.Fatalf("go-ech-bench: %v", err)
	}
	server := &http.Server{
		Addr:      *listen,
		TLSConfig: config,
		Handler:   http.HandlerFunc(handle),
		// An empty map turns HTTP/2 off: the load test speaks HTTP/1.1 to both servers.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:     log.New(discard{}, "", 0),
	}
	log.Printf("go-ech-bench: listening on %s", *listen)
	log.Fatal(server.ListenAndServeTLS("", ""))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func handle(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"ech_accepted\":%t,\"server_name\":%q}\n", r.TLS.ECHAccepted, r.TLS.ServerName)
}

// serverConfig is a TLS 1.3 server config with the hidden name's and the public name's
// certificates and the ECH key of dir/keys/ech.pem.
func serverConfig(dir, publicName, name string) (*tls.Config, error) {
	hidden, err := tls.LoadX509KeyPair(filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem"))
	if err != nil {
		return nil, err
	}
	public, err := tls.LoadX509KeyPair(filepath.Join(dir, publicName+".pem"), filepath.Join(dir, publicName+"-key.pem"))
	if err != nil {
		return nil, err
	}
	key, err := readECHKey(filepath.Join(dir, "keys", "ech.pem"))
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if hello.ServerName == name {
				return &hidden, nil
			}
			return &public, nil
		},
		EncryptedClientHelloKeys: []tls.EncryptedClientHelloKey{key},
	}, nil
}

// readECHKey reads an ECH key file: a PKCS#8 X25519 private key and an ECHConfigList holding
// its one ECHConfig.
func readECHKey(path string) (tls.EncryptedClientHelloKey, error) {
	var key tls.EncryptedClientHelloKey
	data, err := os.ReadFile(path)
	if err != nil {
		return key, err
	}
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		switch block.Type {
		case "PRIVATE KEY":
			parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return key, fmt.Errorf("%s: %v", path, err)
			}
			private, ok := parsed.(*ecdh.PrivateKey)
			if !ok || private.Curve() != ecdh.X25519() {
				return key, fmt.Errorf("%s: not an X25519 key", path)
			}
			key.PrivateKey = private.Bytes()
		case "ECHCONFIG":
			// An ECHConfigList: a 2-byte length, then the configs; Go takes one ECHConfig.
			list := block.Bytes
			if len(list) < 6 || int(list[0])<<8|int(list[1]) != len(list)-2 {
				return key, fmt.Errorf("%s: malformed ECHConfigList", path)
			}
			config := list[2:]
			if int(config[2])<<8|int(config[3]) != len(config)-4 {
				return key, fmt.Errorf("%s: the ECHConfigList must hold exactly one ECHConfig", path)
			}
			key.Config = config
		}
	}
	if key.PrivateKey == nil || key.Config == nil {
		return key, errors.New(path + ": needs a PRIVATE KEY block and an ECHCONFIG block")
	}
	key.SendAsRetry = true
	return key, nil
}
