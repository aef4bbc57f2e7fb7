package transport

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"

	"github.com/lesismal/nbio"
)

// Kind names a transport.
type Kind uint8

// The transports.
const (
	TCP             Kind = iota // MQTT over TCP, port 1883
	TLS                         // MQTT over TLS, port 8883
	WebSocket                   // MQTT over WebSocket, path /mqtt
	SecureWebSocket             // MQTT over WebSocket over TLS
)

func (k Kind) String() string {
	switch k {
	case TCP:
		return "tcp"
	case TLS:
		return "tls"
	case WebSocket:
		return "ws"
	case SecureWebSocket:
		return "wss"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Conn is one client connection as its Session sees it. Write never blocks:
// what the socket cannot take now is kept and flushed later, and an error
// means the connection is closed (or closing, for a connection over its
// write buffer). Close may be called any number of times, from any
// goroutine; Session.Closed follows once.
type Conn interface {
	io.Writer
	Close() error
	RemoteAddr() net.Addr
}

// A Handler is told of every new connection. Open returns the Session that
// receives the connection's bytes; it runs on a poller goroutine and must
// not block.
type Handler interface {
	Open(c Conn, kind Kind) Session
}

// A Session consumes one connection's bytes. Data is called with every
// chunk read, in order, on the connection's poller goroutine; b is only
// valid during the call. An error from Data closes the connection. Closed
// is called once, after the last Data, with the reason the connection
// ended (ErrSlowConsumer for one over its write buffer).
type Session interface {
	Data(b []byte) error
	Closed(err error)
}

// ErrSlowConsumer is why a connection was closed when the bytes it had not
// taken passed Config.MaxWriteBuffer.
var ErrSlowConsumer = errors.New("transport: slow consumer: write buffer full")

// Config says what to listen on. An empty address leaves that transport off.
type Config struct {
	TCP             string // "host:port" for MQTT over TCP
	TLS             string // "host:port" for MQTT over TLS; needs TLSConfig
	WebSocket       string // "host:port" for MQTT over WebSocket
	SecureWebSocket string // "host:port" for MQTT over secure WebSocket; needs TLSConfig
	WebSocketPath   string // the upgrade path; default "/mqtt"

	// TLSConfig holds the server's certificates. Certificates,
	// ClientAuth, ClientCAs, MinVersion, MaxVersion, CipherSuites and
	// NextProtos are honoured; see tlsConfig.
	TLSConfig *tls.Config

	// MaxWriteBuffer is how many bytes a connection may leave unwritten
	// before it is closed as a slow consumer; 0 for no limit.
	MaxWriteBuffer int

	// Pollers is the number of event-loop goroutines; default one per CPU.
	Pollers int

	// Logger receives accept errors and the event loops' own messages.
	Logger *slog.Logger
}

// DefaultWebSocketPath is where MQTT over WebSocket is served, as the
// hosted service and most brokers do.
const DefaultWebSocketPath = "/mqtt"

// Server runs the configured transports.
type Server struct {
	cfg     Config
	h       Handler
	log     *slog.Logger
	engines []stopper
	tcp     *nbio.Engine // the raw MQTT engine, which Attach adds to
	attach  attachments
	lns     []*backoffListener
	addrs   map[Kind]string
	wg      sync.WaitGroup // the WebSocket acceptors

	stopOnce sync.Once
}

type stopper interface{ Stop() }

// Listen starts every configured transport and returns once each listens.
// It refuses a configuration with no address, and TLS or secure WebSocket
// without TLSConfig; a listener that cannot bind stops the others.
func Listen(cfg Config, h Handler) (*Server, error) {
	if cfg.TCP == "" && cfg.TLS == "" && cfg.WebSocket == "" && cfg.SecureWebSocket == "" {
		return nil, errors.New("transport: no address to listen on")
	}
	if (cfg.TLS != "" || cfg.SecureWebSocket != "") && cfg.TLSConfig == nil {
		return nil, errors.New("transport: TLS needs a TLS configuration")
	}
	if cfg.WebSocketPath == "" {
		cfg.WebSocketPath = DefaultWebSocketPath
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	quietLibraryLogs()
	s := &Server{cfg: cfg, h: h, log: cfg.Logger, addrs: map[Kind]string{}}
	start := func(kind Kind, addr string, run func(*backoffListener) (stopper, error)) error {
		if addr == "" {
			return nil
		}
		ln, err := listen(addr, s.log.With("transport", kind.String()))
		if err != nil {
			return fmt.Errorf("transport: %s listener on %s: %w", kind, addr, err)
		}
		e, err := run(ln)
		if err != nil {
			ln.Close()
			return fmt.Errorf("transport: %s listener on %s: %w", kind, addr, err)
		}
		s.lns = append(s.lns, ln)
		s.engines = append(s.engines, e)
		s.addrs[kind] = ln.Addr().String()
		return nil
	}
	err := errors.Join(
		start(TCP, cfg.TCP, func(ln *backoffListener) (stopper, error) { return s.startStream(ln, nil) }),
		start(TLS, cfg.TLS, func(ln *backoffListener) (stopper, error) { return s.startStream(ln, cfg.TLSConfig) }),
		start(WebSocket, cfg.WebSocket, func(ln *backoffListener) (stopper, error) { return s.startWebSocket(ln, nil) }),
		start(SecureWebSocket, cfg.SecureWebSocket, func(ln *backoffListener) (stopper, error) { return s.startWebSocket(ln, cfg.TLSConfig) }),
	)
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Addr returns the address a transport listens on, "" when it is off.
func (s *Server) Addr(k Kind) string { return s.addrs[k] }

// StopAccepting closes the listeners; connections already open go on.
func (s *Server) StopAccepting() {
	for _, ln := range s.lns {
		ln.stopAccepting()
	}
}

// Close stops accepting and closes every connection; each connection's
// Session hears Closed before Close returns.
func (s *Server) Close() {
	s.stopOnce.Do(func() {
		s.attach.close()
		for _, ln := range s.lns {
			ln.quiesce()
		}
		for _, e := range s.engines {
			e.Stop() // closes its listener, then every connection
		}
		for _, ln := range s.lns {
			ln.Close()
		}
		s.wg.Wait()
	})
}

// pollers is the number of event loops for one transport.
func (s *Server) pollers() int {
	if s.cfg.Pollers > 0 {
		return s.cfg.Pollers
	}
	return 0 // nbio's default: one per CPU
}

// startStream serves raw MQTT on ln, over TLS when tlsCfg is set.
func (s *Server) startStream(ln *backoffListener, tlsCfg *tls.Config) (stopper, error) {
	name := engineName("tcp")
	e := nbio.NewEngine(nbio.Config{
		Name:               name,
		Network:            "tcp",
		Addrs:              []string{ln.Addr().String()},
		Listen:             func(string, string) (net.Listener, error) { return ln, nil },
		NPoller:            s.pollers(),
		MaxWriteBufferSize: s.cfg.MaxWriteBuffer,
	})
	loops := newLoopYield(e.NPoller)
	if tlsCfg == nil {
		e.OnOpen(func(c *nbio.Conn) {
			if isProbe(c) {
				return
			}
			closeOnExec(c)
			if ss := s.attach.opened(c); ss != nil {
				c.SetSession(ss)
				return
			}
			c.SetSession(s.h.Open(tcpConn{c}, TCP))
			handoff()
		})
		e.OnData(func(c *nbio.Conn, b []byte) {
			handoff()
			loops.pass(c)
			if ss, ok := c.Session().(Session); ok {
				if err := ss.Data(b); err != nil {
					c.CloseWithError(err)
				}
			} else {
				probeRead(c)
			}
		})
		e.OnClose(func(c *nbio.Conn, err error) {
			handoff()
			if ss, ok := c.Session().(Session); ok {
				ss.Closed(closeReason(err))
			}
		})
	} else {
		t := newTLSTransport(s, tlsCfg, loops)
		e.OnOpen(t.open)
		e.OnData(t.data)
		e.OnClose(t.closed)
	}
	if err := startEngine(e, e.Start, ln); err != nil {
		return nil, err
	}
	if tlsCfg == nil {
		s.tcp = e
	}
	return e, nil
}

// closeReason turns nbio's overflow error into ErrSlowConsumer.
func closeReason(err error) error {
	if errors.Is(err, nbio.ErrOverflow) {
		return ErrSlowConsumer
	}
	return err
}
