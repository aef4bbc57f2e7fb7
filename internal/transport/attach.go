package transport

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/lesismal/nbio"
)

// ErrNotAttached is why Attach refused a connection: the server has no
// raw MQTT (TCP) listener, or is closed.
var ErrNotAttached = errors.New("transport: no event loop to attach to")

// attachments are the connections being attached to the raw MQTT
// engine, whose OnOpen is called for them and for every accepted one: it
// tells them apart by local address (an attached connection's is an
// ephemeral port of its own, an accepted one's the listener's).
type attachments struct {
	mu     sync.Mutex // one Attach at a time, and none once closed
	closed bool
	cur    atomic.Pointer[attaching] // while an Attach runs
}

// attaching is a connection being attached and its Session.
type attaching struct {
	local   string
	session Session
}

// opened returns the Session of c if c is the connection being attached.
func (a *attachments) opened(c *nbio.Conn) Session {
	at := a.cur.Load()
	if at == nil || c.LocalAddr().String() != at.local {
		return nil
	}
	return at.session
}

// close refuses every later Attach.
func (a *attachments) close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
}

// Attach hands nc, a connection this process dialled (the gateway's to
// RocketMQ's brokers), to the raw MQTT transport's event loops, so that
// what comes back on it is read as it comes, by a loop, with no goroutine
// blocked waiting for it: a request written from an event loop and its
// answer handled on one cost no goroutine a park and a wake-up. s hears
// every byte read, on a loop, and Closed once when the connection ends
// (when the server closes, at the latest). nc is not to be used
// afterwards; the Conn returned writes without blocking, as a client's
// does, and its Close shuts the connection down for its loop to close.
// Attach fails with ErrNotAttached without a TCP listener or once the
// server is closed, and with another error when nc is not a TCP
// connection; it closes nc when it fails.
func (s *Server) Attach(nc net.Conn, ss Session) (Conn, error) {
	a := &s.attach
	a.mu.Lock()
	defer a.mu.Unlock()
	if s.tcp == nil || a.closed {
		nc.Close()
		return nil, ErrNotAttached
	}
	a.cur.Store(&attaching{nc.LocalAddr().String(), ss})
	c, err := s.tcp.AddConn(nc) // runs OnOpen here, before any loop reads c
	a.cur.Store(nil)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("transport: attaching a connection to %s: %w", nc.RemoteAddr(), err)
	}
	return tcpConn{c}, nil
}
