package dbtls

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"sync"
)

// Config returns a client TLS configuration that verifies the server's
// certificate against roots (the system roots when roots is nil) and checks
// that it names serverName.
func Config(serverName string, roots *x509.CertPool) *tls.Config {
	return &tls.Config{
		ServerName: serverName,
		RootCAs:    roots,
		MinVersion: tls.VersionTLS12,
	}
}

// Roots are the certificate authorities a server's certificate may chain
// to: the system roots and the certificates of the CA files given to
// [LoadRoots] (RDS's bundle). A chain is trusted when it ends at either, as
// with one pool holding both (Go's verifier takes a root only as the end of
// a chain, never as an intermediate, so verifying against each set in turn
// trusts exactly what their union would).
//
// Parsing certificates is most of a cold rotation step's CPU time (the
// system roots, about 150 certificates, take longer than the step itself;
// Debian's layout even has Go read each twice, from the bundle and from
// /etc/ssl/certs), and half the steps never connect to a database. So
// Roots parses nothing until a certificate is verified: the CA files'
// certificates on the first verification, the system roots only when a
// chain does not end at a CA file's certificate (an RDS certificate always
// does). A nil *Roots means the system roots alone.
type Roots struct {
	files []caFile

	once    sync.Once
	bundles *x509.CertPool // nil when no file was given
	err     error
}

// caFile is a CA file as read at start: its name and its PEM blocks.
type caFile struct {
	name   string
	blocks [][]byte
}

// verifySystem verifies a chain against the system roots (loaded by
// crypto/x509 once per process, on first use); a variable so that tests
// see when it is consulted.
var verifySystem = func(leaf *x509.Certificate, opts x509.VerifyOptions) error {
	opts.Roots = nil
	_, err := leaf.Verify(opts)
	return err
}

// LoadRoots reads the PEM files given, whose certificates are trusted
// besides the system roots. A file that cannot be read or holds no PEM
// certificate is an error that names the file; a certificate that does
// not parse is skipped (as [x509.CertPool.AppendCertsFromPEM] skips it),
// and a file none of whose certificates parses fails the first
// verification, naming the file.
func LoadRoots(pemFiles ...string) (*Roots, error) {
	r := &Roots{}
	for _, name := range pemFiles {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("dbtls: read CA file: %w", err)
		}
		f := caFile{name: name}
		for len(data) > 0 {
			var block *pem.Block
			block, data = pem.Decode(data)
			if block == nil {
				break
			}
			if block.Type == "CERTIFICATE" && len(block.Headers) == 0 {
				f.blocks = append(f.blocks, block.Bytes)
			}
		}
		if len(f.blocks) == 0 {
			return nil, fmt.Errorf("dbtls: CA file %s holds no PEM certificate", name)
		}
		r.files = append(r.files, f)
	}
	return r, nil
}

// parse builds the pool of the CA files' certificates, once.
func (r *Roots) parse() (*x509.CertPool, error) {
	r.once.Do(func() {
		if len(r.files) == 0 {
			return
		}
		pool := x509.NewCertPool()
		for _, f := range r.files {
			n := 0
			for _, der := range f.blocks {
				cert, err := x509.ParseCertificate(der)
				if err != nil {
					continue
				}
				pool.AddCert(cert)
				n++
			}
			if n == 0 {
				r.err = fmt.Errorf("dbtls: CA file %s holds no certificate that parses", f.name)
				return
			}
		}
		r.files = nil
		r.bundles = pool
	})
	return r.bundles, r.err
}

// Config returns a client TLS configuration that verifies the server's
// certificate against the roots and checks that it names serverName, as
// [Config] does with a pool. crypto/tls can only verify against a pool
// built beforehand, so the configuration has it skip its own verification
// and verifies in VerifyConnection instead, on every handshake (resumed
// ones too), with the same options crypto/tls would use.
func (r *Roots) Config(serverName string) *tls.Config {
	if r == nil {
		return Config(serverName, nil)
	}
	return &tls.Config{
		ServerName:         serverName,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // verified in VerifyConnection
		VerifyConnection: func(cs tls.ConnectionState) error {
			if err := r.Verify(serverName, cs.PeerCertificates); err != nil {
				return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
			}
			return nil
		},
	}
}

// Verify checks that chain (the leaf first, then the intermediates the
// server sent) ends at one of the roots and, unless serverName is empty,
// that the leaf names serverName.
func (r *Roots) Verify(serverName string, chain []*x509.Certificate) error {
	if len(chain) == 0 {
		return errors.New("dbtls: the server sent no certificate")
	}
	opts := x509.VerifyOptions{DNSName: serverName, Intermediates: x509.NewCertPool()}
	for _, c := range chain[1:] {
		opts.Intermediates.AddCert(c)
	}
	var bundleErr error
	if r != nil {
		bundles, err := r.parse()
		if err != nil {
			return err
		}
		if bundles != nil {
			opts.Roots = bundles
			if _, bundleErr = chain[0].Verify(opts); bundleErr == nil {
				return nil
			}
		}
	}
	err := verifySystem(chain[0], opts)
	var noSystem x509.SystemRootsError
	if bundleErr != nil && errors.As(err, &noSystem) {
		// A minimal container without system roots: the CA files were
		// all there was.
		return bundleErr
	}
	return err
}
