package realtime_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/musterhq/muster/realtime"
	"github.com/musterhq/muster/realtime/protocol"
	"github.com/musterhq/muster/realtime/protocol/pb"
)

// selfSigned returns a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "muster-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// TestTLS runs the same session over a TLS listener, and refuses a client
// that speaks plain TCP to it.
func TestTLS(t *testing.T) {
	e := newEnv(t, realtime.Config{HandshakeTimeout: time.Second})
	cert, pool := selfSigned(t)
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := tls.NewListener(raw, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	go func() { _ = e.gw.Serve(ln) }()
	t.Cleanup(func() { ln.Close() })

	nc, err := tls.Dial("tcp", raw.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := &client{t: t, nc: nc, r: protocol.NewReader(nc, protocol.DefaultMaxFrame)}
	p := e.player()
	if w := c.hello(p, "", 0); w.PlayerId != p.public {
		t.Fatalf("welcome %v", w)
	}
	c.send(&pb.Ping{Nonce: 3})
	c.expect(&pb.Pong{})

	// A plain-TCP client gets no session: its Hello is not a TLS record.
	plain, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	pc := &client{t: t, nc: plain, r: protocol.NewReader(plain, protocol.DefaultMaxFrame)}
	pc.send(&pb.Hello{Versions: []uint32{1}, AccessToken: p.token})
	if m, _, err := pc.read(); err == nil {
		t.Fatalf("a plain client on the TLS port read %T %v", m, m)
	}
}
