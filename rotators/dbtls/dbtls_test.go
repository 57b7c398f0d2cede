package dbtls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
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
	return issue(t, &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "dbtls test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}, nil)
}

func (ca testCA) serverCert(t *testing.T, dnsName string) tls.Certificate {
	t.Helper()
	leaf := issue(t, &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: dnsName},
		DNSNames:     []string{dnsName},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, &ca)
	return tls.Certificate{Certificate: [][]byte{leaf.cert.Raw}, PrivateKey: leaf.key}
}

// intermediate returns a CA that ca issued.
func (ca testCA) intermediate(t *testing.T) testCA {
	t.Helper()
	return issue(t, &x509.Certificate{
		SerialNumber:          big.NewInt(3),
		Subject:               pkix.Name{CommonName: "dbtls test intermediate CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}, &ca)
}

// issue makes a certificate from tmpl with a new key, signed by issuer
// (self-signed when issuer is nil).
func issue(t *testing.T, tmpl *x509.Certificate, issuer *testCA) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	parent, signer := tmpl, key
	if issuer != nil {
		parent, signer = issuer.cert, issuer.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{cert: cert, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), key: key}
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

	roots, err := LoadRoots(good)
	if err != nil {
		t.Fatalf("want no error, got %v", err)
	}
	cert := ca.serverCert(t, "db.example.com")
	if err := handshake(t, roots.Config("db.example.com"), &tls.Config{Certificates: []tls.Certificate{cert}}); err != nil {
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

// countSystem counts the verifications that consult the system roots.
func countSystem(t *testing.T) *int {
	t.Helper()
	n := new(int)
	orig := verifySystem
	verifySystem = func(leaf *x509.Certificate, opts x509.VerifyOptions) error {
		*n++
		return orig(leaf, opts)
	}
	t.Cleanup(func() { verifySystem = orig })
	return n
}

// TestRootsHandshake: a handshake through Roots.Config trusts what a pool
// of the system roots and the CA files would, and consults the system
// roots only for a chain that does not end at a CA file's certificate.
func TestRootsHandshake(t *testing.T) {
	ca, other := newCA(t), newCA(t)
	roots, err := LoadRoots(writeFile(t, "ca.pem", ca.certPEM))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		roots      *Roots
		serverName string
		cert       tls.Certificate
		serverMax  uint16
		wantErr    string
		wantSystem int
	}{
		{name: "CA file's certificate, system roots untouched", roots: roots, serverName: "db.example.com", cert: ca.serverCert(t, "db.example.com")},
		{name: "wrong host name", roots: roots, serverName: "other.example.com", cert: ca.serverCert(t, "db.example.com"), wantErr: "certificate is valid for db.example.com", wantSystem: 1},
		{name: "unknown CA", roots: roots, serverName: "db.example.com", cert: other.serverCert(t, "db.example.com"), wantErr: "unknown authority", wantSystem: 1},
		{name: "nil roots: the system roots", roots: nil, serverName: "db.example.com", cert: ca.serverCert(t, "db.example.com"), wantErr: "unknown authority"},
		{name: "TLS 1.1 refused", roots: roots, serverName: "db.example.com", cert: ca.serverCert(t, "db.example.com"), serverMax: tls.VersionTLS11, wantErr: "protocol version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			system := countSystem(t)
			cfg := tt.roots.Config(tt.serverName)
			if cfg.MinVersion != tls.VersionTLS12 {
				t.Errorf("want MinVersion TLS 1.2, got %x", cfg.MinVersion)
			}
			err := handshake(t, cfg, &tls.Config{Certificates: []tls.Certificate{tt.cert}, MaxVersion: tt.serverMax, MinVersion: tls.VersionTLS10})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("want a handshake, got %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("want an error with %q, got %v", tt.wantErr, err)
			}
			var cve *tls.CertificateVerificationError
			if tt.wantErr != "" && tt.roots != nil && tt.serverMax == 0 && !errors.As(err, &cve) {
				t.Errorf("want a *tls.CertificateVerificationError, as crypto/tls reports, got %T", err)
			}
			if *system != tt.wantSystem {
				t.Errorf("want the system roots consulted %d times, got %d", tt.wantSystem, *system)
			}
		})
	}
}

// TestRootsVerifyIntermediate: a chain through an intermediate the server
// sends ends at the CA file's certificate.
func TestRootsVerifyIntermediate(t *testing.T) {
	root := newCA(t)
	inter := root.intermediate(t)
	roots, err := LoadRoots(writeFile(t, "ca.pem", root.certPEM))
	if err != nil {
		t.Fatal(err)
	}
	system := countSystem(t)
	leaf, err := x509.ParseCertificate(inter.serverCert(t, "db.example.com").Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := roots.Verify("db.example.com", []*x509.Certificate{leaf, inter.cert}); err != nil {
		t.Errorf("want the chain through the intermediate trusted, got %v", err)
	}
	if err := roots.Verify("db.example.com", []*x509.Certificate{leaf}); err == nil {
		t.Errorf("want the leaf alone (no intermediate sent) refused")
	}
	if *system != 1 {
		t.Errorf("want the system roots consulted once (for the refused chain), got %d", *system)
	}
}

// TestLoadRootsParsesLater: LoadRoots reads the files and checks they hold
// PEM certificates; the certificates are parsed at the first verification,
// which names a file none of whose certificates parses.
func TestLoadRootsParsesLater(t *testing.T) {
	ca := newCA(t)
	garbage := writeFile(t, "garbage.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")}))
	roots, err := LoadRoots(writeFile(t, "ca.pem", ca.certPEM), garbage)
	if err != nil {
		t.Fatalf("want the files read without parsing, got %v", err)
	}
	leaf, err := x509.ParseCertificate(ca.serverCert(t, "db.example.com").Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	err = roots.Verify("db.example.com", []*x509.Certificate{leaf})
	if err == nil || !strings.Contains(err.Error(), garbage) {
		t.Errorf("want an error naming %s, got %v", garbage, err)
	}
}
