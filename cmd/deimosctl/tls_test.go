package main

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

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// pki is a throw-away CA with a server certificate for 127.0.0.1 and a
// client certificate, written as PEM files.
type pki struct {
	pool                                  *x509.CertPool
	server                                tls.Certificate
	caFile, clientCertFile, clientKeyFile string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	caKey, caCert, caDER := issue(t, "deimosctl test CA", nil, nil, func(c *x509.Certificate) {
		c.IsCA, c.BasicConstraintsValid = true, true
		c.KeyUsage = x509.KeyUsageCertSign
	})
	p := &pki{pool: x509.NewCertPool(), caFile: filepath.Join(dir, "ca.pem")}
	p.pool.AddCert(caCert)
	writePEM(t, p.caFile, "CERTIFICATE", caDER)

	srvKey, _, srvDER := issue(t, "127.0.0.1", caCert, caKey, func(c *x509.Certificate) {
		c.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	})
	p.server = tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}

	cliKey, _, cliDER := issue(t, "deimosctl", caCert, caKey, func(c *x509.Certificate) {
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	})
	p.clientCertFile, p.clientKeyFile = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")
	writePEM(t, p.clientCertFile, "CERTIFICATE", cliDER)
	keyDER, err := x509.MarshalECPrivateKey(cliKey)
	require.NoError(t, err)
	writePEM(t, p.clientKeyFile, "EC PRIVATE KEY", keyDER)
	return p
}

// issue makes a key and a certificate signed by parent (self-signed when nil).
func issue(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, tweak func(*x509.Certificate)) (*ecdsa.PrivateKey, *x509.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	tweak(tmpl)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return key, cert, der
}

func writePEM(t *testing.T, path, kind string, der []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600))
}

func TestTLS_ServerVerifiedByCACert(t *testing.T) {
	p := newPKI(t)
	c := newCluster(t, deimostest.WithTLS(&tls.Config{Certificates: []tls.Certificate{p.server}}))
	eps := c.Endpoints()

	requireCode(t, exitOK, ctl(t, eps, "--cacert", p.caFile, "set", "/tls", "ok"))
	r := ctl(t, eps, "--cacert", p.caFile, "-o", "json", "get", "/tls")
	assert.Equal(t, "ok", *decode(t, r).Node.Value)

	untrusted := ctl(t, eps, "--timeout", "500ms", "get", "/tls")
	requireCode(t, exitUnavailable, untrusted)
	assert.Contains(t, untrusted.stderr, "certificate")
	requireCode(t, exitOK, ctl(t, eps, "--insecure-skip-verify", "get", "/tls"))
}

func TestTLS_ClientCertificate(t *testing.T) {
	p := newPKI(t)
	c := newCluster(t, deimostest.WithTLS(&tls.Config{
		Certificates: []tls.Certificate{p.server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    p.pool,
	}))
	eps := c.Endpoints()
	requireCode(t, exitOK, ctl(t, eps, "--cacert", p.caFile, "--cert", p.clientCertFile, "--key", p.clientKeyFile, "set", "/m", "1"))
	requireCode(t, exitUnavailable, ctl(t, eps, "--timeout", "500ms", "--cacert", p.caFile, "get", "/m"))
}

func TestTLS_BadFlagsAreUsageErrors(t *testing.T) {
	p := newPKI(t)
	eps := []string{"https://127.0.0.1:1"}
	for name, args := range map[string][]string{
		"cert without key":  {"--cert", p.clientCertFile, "get", "/k"},
		"missing CA file":   {"--cacert", filepath.Join(t.TempDir(), "none.pem"), "get", "/k"},
		"CA file not PEM":   {"--cacert", p.clientKeyFile, "get", "/k"},
		"key does not pair": {"--cert", p.caFile, "--key", p.clientKeyFile, "get", "/k"},
	} {
		t.Run(name, func(t *testing.T) {
			requireCode(t, exitUsage, ctl(t, eps, args...))
		})
	}
}
