package rocketmqtest

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// writeTimeout bounds one flush to a client. A client that stops reading
// for this long is disconnected, so it cannot make the server buffer
// without limit.
const writeTimeout = 30 * time.Second

// conn is one client connection. A reader goroutine decodes and dispatches
// requests in order; a writer goroutine sends whatever was queued, so a
// slow or dead client never blocks the goroutine that answers it (for
// example a producer's send that wakes a held pull).
type conn struct {
	s            *Server
	nc           net.Conn
	remote       netip.AddrPort // the born host of messages sent here
	remoteString string

	mu       sync.Mutex
	out      net.Buffers
	isClosed bool
	wake     chan struct{}

	closed    chan struct{}
	closeOnce sync.Once

	// pulls are this connection's held pulls; guarded by s.store.mu.
	pulls map[*pendingPull]struct{}
	// clientID is the ID of the client's last heartbeat; guarded by
	// s.groups.mu.
	clientID string
}

func newConn(s *Server, nc net.Conn) *conn {
	remote := advertised(nc.RemoteAddr())
	return &conn{
		s:            s,
		nc:           nc,
		remote:       remote,
		remoteString: remote.String(),
		wake:         make(chan struct{}, 1),
		closed:       make(chan struct{}),
		pulls:        make(map[*pendingPull]struct{}),
	}
}

// close closes the connection; both goroutines then end. Safe to call more
// than once and from any goroutine.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.isClosed = true
		c.out = nil
		c.mu.Unlock()
		close(c.closed)
		c.nc.Close()
	})
}

func (c *conn) readLoop() {
	defer c.s.wg.Done()
	defer c.s.connClosed(c)
	defer c.close()
	br := bufio.NewReaderSize(c.nc, 64<<10)
	var word [4]byte
	buf := make([]byte, 4096)
	for {
		if _, err := io.ReadFull(br, word[:]); err != nil {
			return
		}
		n := int64(int32(binary.BigEndian.Uint32(word[:])))
		if n < 4 || n > maxFrameLength {
			c.s.log.Warn("rocketmqtest: bad frame length, closing", "remote", c.remoteString, "length", n)
			return
		}
		if int64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		frame := buf[:n]
		if _, err := io.ReadFull(br, frame); err != nil {
			return
		}
		req, err := decodeRequest(frame)
		if err != nil {
			c.s.log.Warn("rocketmqtest: closing connection", "remote", c.remoteString, "err", err)
			return
		}
		c.s.dispatch(c, req)
		if cap(buf) > 1<<20 {
			buf = make([]byte, 4096) // do not pin a large batch's buffer
		}
	}
}

func (c *conn) writeLoop() {
	defer c.s.wg.Done()
	for {
		select {
		case <-c.wake:
		case <-c.closed:
			return
		}
		if !c.s.faults.waitUnpaused(c.closed) {
			return
		}
		c.mu.Lock()
		bufs := c.out
		c.out = nil
		c.mu.Unlock()
		if len(bufs) == 0 {
			continue
		}
		c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := bufs.WriteTo(c.nc); err != nil {
			c.close()
			return
		}
	}
}

// send queues r for writing. It never blocks on the network.
func (c *conn) send(r *reply) {
	bufs := r.encode()
	c.mu.Lock()
	if c.isClosed {
		c.mu.Unlock()
		return
	}
	c.out = append(c.out, bufs...)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// respond sends rep as the response to req.
func (c *conn) respond(req *request, rep *reply) {
	rep.opaque = req.opaque
	rep.flag |= flagResponse
	rep.serialize = req.serialize
	c.send(rep)
}
