package dbtls

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
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

// LoadRoots returns the system roots plus the certificates of the PEM files
// given. A file that cannot be read or holds no certificate is an error that
// names the file.
func LoadRoots(pemFiles ...string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		// No system roots (a minimal container): the files must be enough.
		pool = x509.NewCertPool()
	}
	for _, name := range pemFiles {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("dbtls: read CA file: %w", err)
		}
		if !pool.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("dbtls: CA file %s holds no PEM certificate", name)
		}
	}
	return pool, nil
}
