package function

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// selfSigned writes a CA certificate to path and returns it.
func selfSigned(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rotor test RDS CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// TestCABundleBesideBootstrap: the bundle that `make build RDS_CA_BUNDLE=...`
// puts in the zip is trusted, and ROTOR_CA_BUNDLE replaces it.
func TestCABundleBesideBootstrap(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-1")
	root := t.TempDir()
	inZip := selfSigned(t, filepath.Join(root, CABundleFile))
	other := selfSigned(t, filepath.Join(t.TempDir(), "other.pem"))
	trusts := func(env Env, cert *x509.Certificate) bool {
		return env.Roots.Verify("", []*x509.Certificate{cert}) == nil
	}

	t.Setenv("LAMBDA_TASK_ROOT", root)
	env, err := LoadEnv(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !trusts(env, inZip) {
		t.Errorf("want the CA bundle beside bootstrap trusted")
	}
	if trusts(env, other) {
		t.Errorf("want an unrelated CA not trusted")
	}

	otherPath := filepath.Join(t.TempDir(), "bundle.pem")
	other2 := selfSigned(t, otherPath)
	t.Setenv("ROTOR_CA_BUNDLE", otherPath)
	env, err = LoadEnv(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !trusts(env, other2) {
		t.Errorf("want ROTOR_CA_BUNDLE trusted")
	}
}
