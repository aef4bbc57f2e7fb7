package transport

import (
	"crypto/tls"

	nbtls "github.com/lesismal/llib/std/crypto/tls"
	"github.com/lesismal/nbio"
)

// tlsConfig carries the server side of a crypto/tls configuration over to
// llib's non-blocking TLS, which has the same fields under its own types:
// the certificates, client authentication (with its CA pool), the version
// range, cipher suites and ALPN protocols. Callbacks (GetCertificate,
// VerifyConnection, ...) take llib's types and are not carried over.
func tlsConfig(c *tls.Config) *nbtls.Config {
	out := &nbtls.Config{
		ClientAuth:   nbtls.ClientAuthType(c.ClientAuth),
		ClientCAs:    c.ClientCAs,
		MinVersion:   c.MinVersion,
		MaxVersion:   c.MaxVersion,
		CipherSuites: c.CipherSuites,
		NextProtos:   c.NextProtos,
	}
	for _, cert := range c.Certificates {
		out.Certificates = append(out.Certificates, nbtls.Certificate{
			Certificate: cert.Certificate,
			PrivateKey:  cert.PrivateKey,
			OCSPStaple:  cert.OCSPStaple,
			Leaf:        cert.Leaf,
		})
	}
	return out
}

// tlsTransport runs MQTT over TLS on an nbio engine: each connection's
// nbio session is a tlsConn, which decrypts what the poller reads and
// hands the plaintext to the MQTT session.
type tlsTransport struct {
	s     *Server
	cfg   *nbtls.Config
	loops *loopYield
}

func newTLSTransport(s *Server, c *tls.Config, loops *loopYield) *tlsTransport {
	return &tlsTransport{s: s, cfg: tlsConfig(c), loops: loops}
}

// tlsConn is one TLS connection: the TLS state over the nbio connection,
// and the MQTT session over it.
type tlsConn struct {
	*nbtls.Conn
	session Session
}

func (t *tlsTransport) open(c *nbio.Conn) {
	if isProbe(c) {
		return
	}
	closeOnExec(c)
	tc := &tlsConn{Conn: nbtls.NewConn(tcpConn{c}, t.cfg, false, true)}
	tc.session = t.s.h.Open(tc, TLS)
	c.SetSession(tc)
	handoff()
}

// data decrypts what arrived, in place in the poller's buffer, and hands
// every record's plaintext on. When nothing is left half-read, the TLS
// state gives its input buffer back, so an idle connection holds none.
func (t *tlsTransport) data(c *nbio.Conn, b []byte) {
	tc, ok := c.Session().(*tlsConn)
	if !ok {
		if !probeRead(c) {
			c.Close()
		}
		return
	}
	handoff()
	t.loops.pass(c)
	defer tc.ResetOrFreeBuffer()
	in, out := b, b
	for {
		_, n, err := tc.AppendAndRead(in, out)
		in = nil
		if err != nil {
			c.CloseWithError(err)
			return
		}
		if n == 0 {
			return
		}
		if err := tc.session.Data(out[:n]); err != nil {
			c.CloseWithError(err)
			return
		}
	}
}

func (t *tlsTransport) closed(c *nbio.Conn, err error) {
	handoff()
	if tc, ok := c.Session().(*tlsConn); ok {
		tc.session.Closed(closeReason(err))
	}
}
