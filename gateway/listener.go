package gateway

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/mochi-mqtt/server/v2/listeners"
)

// listener is a TCP listener for the embedded broker that bounds what a
// connection can hold up.
//
// The broker reads CONNECT without a deadline and waits for every
// connection when it closes, so a raw TCP connection that never sends
// CONNECT would pin a goroutine forever and hang Close. This listener gives
// each connection ConnectTimeout to send CONNECT (the broker replaces the
// deadline with its keep-alive deadline once it has one) and closes every
// connection it handed out when it closes.
//
// The broker writes to a client while holding that client's lock, which
// every publish to the client needs too, and the gateway's downlink is one
// publisher for all clients: a client that stops reading would hold up the
// downlink of the whole instance, and with it the handover lock every
// connecting client needs, for as long as its write blocks. The broker's
// only write deadline is its keep-alive deadline, renewed by every packet
// the client sends, and none with keep-alive 0. So every write gets
// WriteTimeout of its own, and a client that does not take a packet within
// it is disconnected.
type listener struct {
	id             string
	address        string
	connectTimeout time.Duration
	writeTimeout   time.Duration

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	closed bool
	done   chan struct{} // closed with the listener
	log    *slog.Logger
}

var _ listeners.Listener = (*listener)(nil)

func newListener(id, address string, connectTimeout, writeTimeout time.Duration) *listener {
	return &listener{id: id, address: address, connectTimeout: connectTimeout, writeTimeout: writeTimeout, conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
}

func (l *listener) ID() string       { return l.id }
func (l *listener) Protocol() string { return "tcp" }

func (l *listener) Address() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln != nil {
		return l.ln.Addr().String()
	}
	return l.address
}

func (l *listener) Init(log *slog.Logger) error {
	ln, err := net.Listen("tcp", l.address)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.ln, l.log = ln, log
	l.mu.Unlock()
	return nil
}

func (l *listener) Serve(establish listeners.EstablishFn) {
	var backoff time.Duration
	for {
		conn, err := l.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// Out of file descriptors, most likely: a listener that
			// stopped here would take no connection again, so it waits
			// for some to be freed, as net/http's server does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.log.Warn("accepting a connection failed; retrying", "error", err, "backoff", backoff)
			select {
			case <-time.After(backoff):
			case <-l.done:
			}
			continue
		}
		backoff = 0
		if !l.track(conn) {
			conn.Close()
			return
		}
		_ = conn.SetReadDeadline(time.Now().Add(l.connectTimeout))
		go func() {
			defer l.untrack(conn)
			if err := establish(l.id, boundedConn{conn, l.writeTimeout}); err != nil {
				l.log.Debug("connection ended", "remote", conn.RemoteAddr().String(), "error", err)
			}
		}()
	}
}

func (l *listener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *listener) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// Close stops accepting, lets the broker disconnect its clients, then closes
// whatever connections remain, those that never sent CONNECT included.
func (l *listener) Close(closeClients listeners.CloseFn) {
	l.mu.Lock()
	already := l.closed
	l.closed = true
	l.mu.Unlock()
	if already {
		return
	}
	close(l.done)
	if l.ln != nil {
		l.ln.Close()
	}
	closeClients(l.id)
	l.mu.Lock()
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
}

// boundedConn gives every write its own deadline, and closes the
// connection when a write fails: part of a packet may have gone out, and
// nothing written after it could be read. The broker's deadlines bound
// reads only, so that a client sending packets cannot keep a stalled write
// alive.
type boundedConn struct {
	net.Conn
	writeTimeout time.Duration
}

func (c boundedConn) Write(b []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.writeTimeout)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Write(b)
	if err != nil {
		c.Conn.Close()
	}
	return n, err
}

func (c boundedConn) SetDeadline(t time.Time) error { return c.Conn.SetReadDeadline(t) }
