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
	out      outQueue // frames waiting to be written
	spare    outQueue // the storage of the last write, for the next
	writing  bool     // a goroutine is writing to nc; guarded by mu
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
		c.out, c.spare = outQueue{}, outQueue{}
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
	var (
		word [4]byte
		req  request // every request is decoded into this one; see pull
	)
	buf := make([]byte, 4096)
	for {
		if !frameBuffered(br) {
			c.flushOwn() // nothing more to answer before blocking
		}
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
		if err := req.decode(frame); err != nil {
			c.s.log.Warn("rocketmqtest: closing connection", "remote", c.remoteString, "err", err)
			return
		}
		c.s.dispatch(c, &req)
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
		// Nothing to write, or the reader is writing and wakes us when done.
		if c.writing || len(c.out.bufs) == 0 {
			c.mu.Unlock()
			continue
		}
		q := c.takeOutLocked()
		c.mu.Unlock()
		if !c.write(q) {
			return
		}
	}
}

// takeOutLocked takes what is queued for writing, leaves the spare storage
// in its place and marks the connection as being written to.
func (c *conn) takeOutLocked() outQueue {
	q := c.out
	c.out, c.spare = c.spare, outQueue{}
	c.writing = true
	return q
}

// write writes q, then hands over to the writer goroutine whatever was
// queued meanwhile. The caller has taken q with takeOutLocked. It reports
// false, and closes the connection, if the write failed.
func (c *conn) write(q outQueue) bool {
	c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	bufs := q.bufs // WriteTo consumes its receiver
	_, err := bufs.WriteTo(c.nc)
	q.reset()
	c.mu.Lock()
	c.writing = false
	if !c.isClosed && c.spare.bufs == nil {
		c.spare = q
	}
	more := len(c.out.bufs) > 0
	c.mu.Unlock()
	if err != nil {
		c.close()
		return false
	}
	if more {
		c.signal()
	}
	return true
}

func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// send queues r for the writer goroutine. It never blocks on the network:
// other connections' goroutines use it.
func (c *conn) send(r *reply) {
	c.mu.Lock()
	if c.isClosed {
		c.mu.Unlock()
		return
	}
	c.out.add(r)
	c.mu.Unlock()
	c.signal()
}

// sendOwn queues a response from the connection's own reader goroutine.
// The reader flushes its responses itself (flushOwn) once no further
// request is waiting in its buffer: a client that pipelines requests gets
// their responses in one write, and a lone request's response skips the
// hop to the writer goroutine.
func (c *conn) sendOwn(r *reply) {
	c.mu.Lock()
	if !c.isClosed {
		c.out.add(r)
	}
	c.mu.Unlock()
}

// flushOwn writes what is queued, from the reader goroutine, unless the
// writer goroutine is already at it or the server is paused.
func (c *conn) flushOwn() {
	c.mu.Lock()
	if c.isClosed || c.writing || len(c.out.bufs) == 0 {
		c.mu.Unlock()
		return
	}
	if c.s.faults.isPaused() {
		c.mu.Unlock()
		c.signal() // the writer waits out the pause
		return
	}
	q := c.takeOutLocked()
	c.mu.Unlock()
	c.write(q)
}

// frameBuffered reports whether a whole frame is waiting in br, so that
// reading it will not block.
func frameBuffered(br *bufio.Reader) bool {
	n := br.Buffered()
	if n < 4 {
		return false
	}
	b, err := br.Peek(4)
	if err != nil {
		return false
	}
	l := int(int32(binary.BigEndian.Uint32(b)))
	return l >= 0 && n-4 >= l
}

// respond queues rep as the response to req.
func (c *conn) respond(req *request, rep *reply) {
	markResponse(req, rep)
	c.send(rep)
}

func markResponse(req *request, rep *reply) {
	rep.opaque = req.opaque
	rep.flag |= flagResponse
	rep.serialize = req.serialize
}
