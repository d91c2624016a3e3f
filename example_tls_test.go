package deimos_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log"
	"math/big"
	"net"
	"strings"
	"time"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// A cluster served over TLS: pass the CA that signed the nodes' certificates
// (and, for mutual TLS, the client's certificate) in a tls.Config.
func ExampleWithTLSConfig() {
	serverCert, caPool := selfSignedLoopbackCert()
	cluster, err := deimostest.StartCluster(3, deimostest.WithTLS(&tls.Config{Certificates: []tls.Certificate{serverCert}}))
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()

	client := deimos.New(
		deimos.WithEndpoints(cluster.Endpoints()...), // https://127.0.0.1:...
		deimos.WithTLSConfig(&tls.Config{RootCAs: caPool, MinVersion: tls.VersionTLS12}),
	)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := client.Set(ctx, "/secure", "yes"); err != nil {
		log.Fatal(err)
	}
	resp, err := client.Get(ctx, "/secure")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.HasPrefix(cluster.Endpoints()[0], "https://"), resp.Node.Value)
	// Output: true yes
}

// selfSignedLoopbackCert makes a certificate for 127.0.0.1 that is its own
// CA, for the example only; real clusters use their operator's CA.
func selfSignedLoopbackCert() (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "deimos example"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		log.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
