package rocketmqtest

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Names the server gives itself in routes and stored messages.
const (
	// BrokerName is the name of the server's single broker, as it appears in
	// routes and in primitive.MessageQueue.BrokerName.
	BrokerName = "broker-a"
	// ClusterName is the broker's cluster; the broker adds it to every sent
	// message as the CLUSTER property, as a real broker does.
	ClusterName = "DefaultCluster"
	// regionID is the MSG_REGION a broker reports by default.
	regionID = "DefaultRegion"
)

// Server is an in-process RocketMQ name server and broker. Its methods are
// safe for concurrent use.
type Server struct {
	cfg       config
	log       *slog.Logger
	ln        net.Listener
	addr      string
	storeHost netip.AddrPort

	done      chan struct{}
	wg        sync.WaitGroup // every goroutine the server starts
	closeOnce sync.Once

	connMu sync.Mutex
	conns  map[*conn]struct{}
	closed bool

	store    store
	groups   groups
	sched    scheduler
	waker    waker
	faults   faults
	requests requestCounts
	pulled   pullCounts

	notifyOpaque atomic.Int32
	uniqCounter  atomic.Uint64
}

// Start starts a server listening on 127.0.0.1 at a free port (see WithAddr).
// The caller must Close it. It fails when an option is invalid or the
// address cannot be listened on.
func Start(opts ...Option) (*Server, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return nil, &Error{Op: "Start", Input: cfg.addr, Err: err}
	}
	s := &Server{
		cfg:   cfg,
		log:   cfg.logger,
		ln:    ln,
		done:  make(chan struct{}),
		conns: make(map[*conn]struct{}),
	}
	s.storeHost = advertised(ln.Addr())
	s.addr = s.storeHost.String()
	s.store.init(cfg.autoCreateTopics)
	s.groups.init()
	s.sched.init()
	s.waker.init()

	s.wg.Add(3)
	go s.acceptLoop()
	go s.sched.run(s)
	go s.waker.run(s)
	s.log.Info("rocketmqtest: listening", "addr", s.addr)
	return s, nil
}

// NewServer starts a server as Start does, fails tb at once if it cannot,
// and closes the server when the test ends.
func NewServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s, err := Start(opts...)
	if err != nil {
		tb.Fatalf("rocketmqtest.NewServer: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// advertised turns a listener address into the address clients are told:
// an unspecified host becomes the IPv4 loopback.
func advertised(a net.Addr) netip.AddrPort {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 0)
	}
	ip := ap.Addr().Unmap()
	if ip.IsUnspecified() {
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	return netip.AddrPortFrom(ip, ap.Port())
}

// Addr returns the server's address, such as "127.0.0.1:40123": the name
// server address for producer.WithNameServer and consumer.WithNameServer,
// and the broker address in every route.
func (s *Server) Addr() string { return s.addr }

// Close stops the server: it closes the listener and every connection,
// answers nothing more, and returns once all of the server's goroutines
// have ended. Stored messages remain readable through the inspection
// methods. Close is idempotent and always returns nil.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.ln.Close()
		s.connMu.Lock()
		s.closed = true
		conns := make([]*conn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.connMu.Unlock()
		for _, c := range conns {
			c.close()
		}
		s.faults.stop()
		s.wg.Wait()
		s.log.Info("rocketmqtest: closed", "addr", s.addr)
	})
	return nil
}

func (s *Server) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	var backoff time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.isClosed() {
				return
			}
			// Temporary failures such as EMFILE: wait and try again,
			// as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("rocketmqtest: accept", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
				continue
			case <-s.done:
				return
			}
		}
		backoff = 0
		c := newConn(s, nc)
		s.connMu.Lock()
		if s.closed {
			s.connMu.Unlock()
			nc.Close()
			return
		}
		s.conns[c] = struct{}{}
		// Safe: this goroutine is itself counted, so Wait cannot have
		// returned.
		s.wg.Add(2)
		s.connMu.Unlock()
		s.log.Debug("rocketmqtest: connection", "remote", nc.RemoteAddr().String())
		go c.readLoop()
		go c.writeLoop()
	}
}

// connClosed forgets c: its held pulls are dropped and its consumers leave
// their groups, which tells the group's other members to rebalance.
func (s *Server) connClosed(c *conn) {
	s.connMu.Lock()
	delete(s.conns, c)
	s.connMu.Unlock()
	s.cancelPulls(c)
	s.groups.dropConn(s, c)
	s.log.Debug("rocketmqtest: connection closed", "remote", c.remoteString)
}

// handler answers one request. It returns the response, or nil when there is
// none yet (a held pull) or none at all. req, and the slices it holds, are
// only valid during the call: the connection decodes its next request into
// the same value. Handlers copy what they keep (request.clone).
type handler func(s *Server, c *conn, req *request) *reply

type registration struct {
	code   RequestCode
	handle handler
}

// handlers maps every implemented request code to its handler. Each command
// file lists its own registrations.
var handlers = buildHandlers(
	nameServerCommands,
	sendCommands,
	pullCommands,
	consumerCommands,
	queueCommands,
	adminCommands,
)

func buildHandlers(lists ...[]registration) map[RequestCode]handler {
	m := make(map[RequestCode]handler)
	for _, l := range lists {
		for _, r := range l {
			if _, dup := m[r.code]; dup {
				panic("rocketmqtest: request code registered twice: " + r.code.String())
			}
			m[r.code] = r.handle
		}
	}
	return m
}

// dispatch runs the handler for req and queues its response on c.
func (s *Server) dispatch(c *conn, req *request) {
	s.countRequest(req.code)
	if !s.faults.waitUnpaused(c.closed) {
		return
	}
	if req.flag&flagResponse != 0 {
		// A client's answer to a request the server sent; the server
		// sends only one-way requests, so there is nothing to match.
		return
	}
	var rep *reply
	if h, ok := handlers[req.code]; ok {
		rep = h(s, c, req)
	} else {
		// NettyRemotingAbstract.processRequestCommand's answer.
		rep = responsef(CodeRequestCodeNotSupported, " request type %d not supported", req.code)
		s.log.Info("rocketmqtest: unsupported request", "code", int(req.code), "remote", c.remoteString)
	}
	if rep == nil {
		return
	}
	if !req.oneway() {
		markResponse(req, rep)
		c.sendOwn(rep)
	}
	rep.release()
}

// requestCounts counts requests by code: the codes clients send are below
// 512 and counted without a lookup; the rest, which real clients do not
// send, go to a map.
type requestCounts struct {
	low  [512]atomic.Uint64
	high sync.Map // RequestCode -> *atomic.Uint64
}

func (rc *requestCounts) counter(code RequestCode, create bool) *atomic.Uint64 {
	if code >= 0 && int(code) < len(rc.low) {
		return &rc.low[code]
	}
	v, ok := rc.high.Load(code)
	if !ok {
		if !create {
			return nil
		}
		v, _ = rc.high.LoadOrStore(code, new(atomic.Uint64))
	}
	return v.(*atomic.Uint64)
}

func (s *Server) countRequest(code RequestCode) {
	s.requests.counter(code, true).Add(1)
}

// errClosed is returned by inspection and control methods after Close
// when they cannot answer.
func (s *Server) errClosed(op, input string) error {
	return &Error{Op: op, Input: input, Err: ErrClosed}
}
