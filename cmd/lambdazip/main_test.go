package main

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestPackIsFlatExecutableAndDeterministic(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"bootstrap": "#!binary", "rds-ca-bundle.pem": "pem"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	out1, out2 := filepath.Join(t.TempDir(), "a.zip"), filepath.Join(t.TempDir(), "b.zip")
	for _, out := range []string{out1, out2} {
		if err := pack(out, dir); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := os.ReadFile(out1)
	b, _ := os.ReadFile(out2)
	if !bytes.Equal(a, b) {
		t.Errorf("want the same bytes from the same input, got two zips")
	}
	zr, err := zip.OpenReader(out1)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	want := map[string]os.FileMode{"bootstrap": 0o755, "rds-ca-bundle.pem": 0o644}
	if len(zr.File) != len(want) {
		t.Fatalf("want %d entries (no directories), got %d", len(want), len(zr.File))
	}
	for _, f := range zr.File {
		if mode, ok := want[f.Name]; !ok || f.Mode().Perm() != mode {
			t.Errorf("entry %s: want mode %v, got %v", f.Name, want[f.Name], f.Mode().Perm())
		}
	}
}

func TestPackRefusesADirectoryWithoutBootstrap(t *testing.T) {
	if err := pack(filepath.Join(t.TempDir(), "x.zip"), t.TempDir()); err == nil {
		t.Errorf("want an error without bootstrap, got nil")
	}
}
