package testenv

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
	"testing"
	"time"
)

// CA is a certificate authority made for one test or benchmark, with a
// server certificate for 127.0.0.1 it signed, valid for an hour.
type CA struct {
	Server   *tls.Config    // a server's, presenting the certificate and the CA's
	Pool     *x509.CertPool // a client's, trusting the CA
	CAFile   string         // the CA's certificate, PEM, for command-line clients
	CertFile string         // the server's certificate chain, PEM, for a server's flags
	KeyFile  string         // the server's private key, PEM
}

// NewCA makes a CA and its server certificate, its files in tb's
// temporary directory.
func NewCA(tb testing.TB) CA {
	tb.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		return k
	}
	caKey, srvKey := key(), key()
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mqttrmq test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		tb.Fatal(err)
	}
	srv := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	dir := tb.TempDir()
	write := func(name string, blocks ...*pem.Block) string {
		var b []byte
		for _, bl := range blocks {
			b = append(b, pem.EncodeToMemory(bl)...)
		}
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, b, 0o600); err != nil {
			tb.Fatal(err)
		}
		return file
	}
	return CA{
		Server:   &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{srvDER, caDER}, PrivateKey: srvKey}}},
		Pool:     pool,
		CAFile:   write("ca.pem", &pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		CertFile: write("server.pem", &pem.Block{Type: "CERTIFICATE", Bytes: srvDER}, &pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		KeyFile:  write("server-key.pem", &pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
}
