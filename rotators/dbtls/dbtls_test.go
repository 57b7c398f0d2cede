package dbtls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type testCA struct {
	cert    *x509.Certificate
	certPEM []byte
	key     *ecdsa.PrivateKey
}

func newCA(t *testing.T) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "dbtls test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{cert: cert, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), key: key}
}

func (ca testCA) serverCert(t *testing.T, dnsName string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: dnsName},
		DNSNames:     []string{dnsName},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// handshake runs one TLS handshake between client and server over loopback
// TCP (net.Pipe is unbuffered, and both sides may write at once).
func handshake(t *testing.T, client *tls.Config, server *tls.Config) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s, err := ln.Accept()
		if err != nil {
			return
		}
		defer s.Close()
		_ = s.SetDeadline(time.Now().Add(10 * time.Second))
		_ = tls.Server(s, server).Handshake()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	err = tls.Client(c, client).Handshake()
	c.Close()
	<-done
	return err
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfig(t *testing.T) {
	ca := newCA(t)
	other := newCA(t)
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	cert := ca.serverCert(t, "db.example.com")

	tests := []struct {
		name       string
		serverName string
		roots      *x509.CertPool
		serverMax  uint16
		wantErr    string
	}{
		{name: "verified", serverName: "db.example.com", roots: roots},
		{name: "wrong host name", serverName: "other.example.com", roots: roots, wantErr: "certificate is valid for db.example.com"},
		{name: "unknown CA", serverName: "db.example.com", roots: func() *x509.CertPool { p := x509.NewCertPool(); p.AddCert(other.cert); return p }(), wantErr: "unknown authority"},
		{name: "system roots do not know the CA", serverName: "db.example.com", roots: nil, wantErr: "unknown authority"},
		{name: "TLS 1.1 refused", serverName: "db.example.com", roots: roots, serverMax: tls.VersionTLS11, wantErr: "protocol version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config(tt.serverName, tt.roots)
			if cfg.InsecureSkipVerify {
				t.Fatal("want verification, got InsecureSkipVerify")
			}
			if cfg.MinVersion != tls.VersionTLS12 {
				t.Errorf("want MinVersion TLS 1.2, got %x", cfg.MinVersion)
			}
			err := handshake(t, cfg, &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: tt.serverMax, MinVersion: tls.VersionTLS10})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("want a handshake, got %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("want an error with %q, got %v", tt.wantErr, err)
			}
		})
	}
}

func TestLoadRoots(t *testing.T) {
	ca := newCA(t)
	good := writeFile(t, "ca.pem", ca.certPEM)
	empty := writeFile(t, "empty.pem", []byte("no certificate here\n"))

	pool, err := LoadRoots(good)
	if err != nil {
		t.Fatalf("want no error, got %v", err)
	}
	cert := ca.serverCert(t, "db.example.com")
	if err := handshake(t, Config("db.example.com", pool), &tls.Config{Certificates: []tls.Certificate{cert}}); err != nil {
		t.Errorf("want the loaded CA trusted, got %v", err)
	}

	tests := []struct {
		name  string
		files []string
		want  string
	}{
		{name: "no certificate", files: []string{good, empty}, want: empty},
		{name: "missing file", files: []string{filepath.Join(t.TempDir(), "absent.pem")}, want: "absent.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadRoots(tt.files...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("want an error naming %q, got %v", tt.want, err)
			}
		})
	}
}
