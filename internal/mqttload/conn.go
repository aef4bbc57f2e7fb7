package mqttload

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// Defaults of a Dialer.
const (
	DefaultTimeout   = 10 * time.Second
	DefaultMaxPacket = 1 << 20
	readBufferSize   = 1024
)

// ErrRefused is what a refused CONNECT or SUBSCRIBE unwraps to.
var ErrRefused = errors.New("mqttload: refused by the server")

// LoopbackSources returns n IPv4 loopback source addresses, 127.0.0.2
// upwards, for Dialer.Sources. Linux routes all of 127.0.0.0/8 to the
// loopback interface, so they need no set-up. It refuses n outside 1–250.
func LoopbackSources(n int) ([]netip.Addr, error) {
	if n < 1 || n > 250 {
		return nil, fmt.Errorf("mqttload: %d loopback sources: want 1–250", n)
	}
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i)})
	}
	return out, nil
}

// Dialer opens MQTT connections to one server. Its methods are safe for
// concurrent use.
type Dialer struct {
	// Server is the server's TCP address, host:port.
	Server string
	// Sources are the local addresses connections are made from, in turn;
	// empty lets the kernel choose.
	Sources []netip.Addr
	// ReceiveBuffer, when positive, is set as SO_RCVBUF before the
	// connection is made, so that it also bounds the window the client
	// advertises (a subscriber that stops reading then holds back
	// little more than this).
	ReceiveBuffer int
	// Timeout bounds the dial and each handshake step (CONNACK, SUBACK).
	// Default DefaultTimeout.
	Timeout time.Duration
	// MaxPacket is the largest packet a connection reads. Default
	// DefaultMaxPacket.
	MaxPacket int
	// WriteTimeout, when positive, bounds every write: a server that stops
	// reading makes a write fail after it instead of blocking its caller
	// for good. The connection is unusable after such a failure.
	WriteTimeout time.Duration
	// TLS, when set, makes each connection TLS (MQTT over TLS, as on port
	// 8883, or secure WebSocket with WebSocket) with this configuration.
	TLS *tls.Config
	// WebSocket, when set, is the path of the server's MQTT-over-WebSocket
	// endpoint, such as "/mqtt": each connection is then a WebSocket
	// (subprotocol "mqtt") carrying MQTT in binary messages.
	WebSocket string

	next atomic.Uint64
}

func (d *Dialer) timeout() time.Duration {
	if d.Timeout > 0 {
		return d.Timeout
	}
	return DefaultTimeout
}

// Dial opens a connection to the server (TCP unless TLS or WebSocket say
// otherwise) and sends CONNECT, then waits
// for the CONNACK. It returns an error wrapping ErrRefused when the server
// answers with a non-zero return code, and the dial's or the read's error
// otherwise; ctx bounds the whole handshake.
func (d *Dialer) Dial(ctx context.Context, c Connect) (*Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout())
	defer cancel()
	nd := net.Dialer{}
	if n := len(d.Sources); n > 0 {
		src := d.Sources[d.next.Add(1)%uint64(n)]
		nd.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
	}
	if d.ReceiveBuffer > 0 {
		size := d.ReceiveBuffer
		nd.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			if err := rc.Control(func(fd uintptr) {
				serr = setReceiveBuffer(fd, size)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	nc, err := d.dial(ctx, &nd)
	if err != nil {
		return nil, fmt.Errorf("mqttload: dial %s: %w", d.Server, err)
	}
	conn := newConn(nc, d.MaxPacket, d.WriteTimeout)
	if err := conn.connect(ctx, c); err != nil {
		nc.Close()
		return nil, err
	}
	return conn, nil
}

// dial opens the connection MQTT travels on: TCP, TLS, or a WebSocket
// over either.
func (d *Dialer) dial(ctx context.Context, nd *net.Dialer) (net.Conn, error) {
	if d.WebSocket != "" {
		u := url.URL{Scheme: "ws", Host: d.Server, Path: d.WebSocket}
		if d.TLS != nil {
			u.Scheme = "wss"
		}
		wd := websocket.Dialer{NetDialContext: nd.DialContext, TLSClientConfig: d.TLS, Subprotocols: []string{"mqtt"},
			ReadBufferSize: readBufferSize, WriteBufferSize: readBufferSize}
		ws, res, err := wd.DialContext(ctx, u.String(), nil)
		if res != nil && res.Body != nil {
			res.Body.Close()
		}
		if err != nil {
			return nil, err
		}
		return &wsConn{ws: ws}, nil
	}
	nc, err := nd.DialContext(ctx, "tcp", d.Server)
	if err != nil || d.TLS == nil {
		return nc, err
	}
	tc := tls.Client(nc, d.TLS)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return tc, nil
}

// Conn is one MQTT connection. It has no goroutine of its own: Publish,
// Puback and Ping may be called from any goroutine; ReadPacket, Subscribe
// and Serve from one reader at a time.
type Conn struct {
	nc           net.Conn
	maxPacket    int
	writeTimeout time.Duration

	// The reader's state, allocated on first read and released by Idle.
	r    *bufio.Reader
	body []byte
	acks []byte // PUBACKs Serve has yet to flush

	wmu  sync.Mutex
	wbuf []byte
	id   uint16 // the last packet identifier used, under wmu
}

func newConn(nc net.Conn, maxPacket int, writeTimeout time.Duration) *Conn {
	if maxPacket <= 0 {
		maxPacket = DefaultMaxPacket
	}
	return &Conn{nc: nc, maxPacket: maxPacket, writeTimeout: writeTimeout}
}

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.nc }

// LocalAddr returns the connection's local address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

func (c *Conn) connect(ctx context.Context, o Connect) error {
	c.wmu.Lock()
	b, err := AppendConnect(c.wbuf[:0], o)
	if err == nil {
		err = c.write(b)
	}
	c.wmu.Unlock()
	if err != nil {
		return err
	}
	p, err := c.readHandshake(ctx)
	if err != nil {
		return fmt.Errorf("mqttload: %s waiting for CONNACK: %w", o.ClientID, err)
	}
	if p.Type() != TypeConnack || len(p.Body) != 2 {
		return fmt.Errorf("mqttload: %s: %w: want CONNACK, got packet type %d of %d bytes", o.ClientID, ErrMalformed, p.Type(), len(p.Body))
	}
	if rc := p.Body[1]; rc != 0 {
		return fmt.Errorf("mqttload: %s: CONNECT %w: return code %d", o.ClientID, ErrRefused, rc)
	}
	return nil
}

// readHandshake reads one packet within ctx's deadline.
func (c *Conn) readHandshake(ctx context.Context) (Packet, error) {
	if dl, ok := ctx.Deadline(); ok {
		c.nc.SetReadDeadline(dl)
		defer c.nc.SetReadDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { c.nc.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	return c.ReadPacket()
}

// Subscribe subscribes to one filter and waits for the SUBACK, within the
// Dialer's timeout and ctx. It must not be called while another goroutine
// reads the connection; PUBLISH packets arriving before the SUBACK
// (retained messages) are discarded. A SUBACK refusing the filter (0x80)
// gives an error wrapping ErrRefused.
func (c *Conn) Subscribe(ctx context.Context, filter string, qos QoS) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	c.wmu.Lock()
	id := c.nextID()
	b, err := AppendSubscribe(c.wbuf[:0], id, filter, qos)
	if err == nil {
		err = c.write(b)
	}
	c.wmu.Unlock()
	if err != nil {
		return err
	}
	for {
		p, err := c.readHandshake(ctx)
		if err != nil {
			return fmt.Errorf("mqttload: waiting for SUBACK of %q: %w", filter, err)
		}
		switch p.Type() {
		case TypePublish, TypePingresp:
			continue
		case TypeSuback:
		default:
			return fmt.Errorf("mqttload: %w: packet type %d while waiting for SUBACK of %q", ErrMalformed, p.Type(), filter)
		}
		got, err := ParseAckID(p)
		if err != nil {
			return err
		}
		if got != id || len(p.Body) != 3 {
			return fmt.Errorf("mqttload: %w: SUBACK %d of %d bytes for SUBSCRIBE %d", ErrMalformed, got, len(p.Body), id)
		}
		if rc := p.Body[2]; rc == 0x80 {
			return fmt.Errorf("mqttload: SUBSCRIBE %q %w: return code 0x80", filter, ErrRefused)
		} else if QoS(rc) != qos {
			return fmt.Errorf("mqttload: SUBSCRIBE %q at QoS %d granted QoS %d", filter, qos, rc)
		}
		return nil
	}
}

// nextID returns the next non-zero packet identifier; wmu is held.
func (c *Conn) nextID() uint16 {
	c.id++
	if c.id == 0 {
		c.id = 1
	}
	return c.id
}

// write writes b whole; wmu is held, and b is c.wbuf's storage, kept for
// the next packet.
func (c *Conn) write(b []byte) error {
	c.wbuf = b[:0]
	return c.writeRaw(b)
}

// writeRaw writes b within the write timeout; wmu is held.
func (c *Conn) writeRaw(b []byte) error {
	if c.writeTimeout > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	}
	_, err := c.nc.Write(b)
	return err
}

// Publish sends a PUBLISH and returns its packet identifier (0 at QoS 0).
// It does not wait for the PUBACK: whoever reads the connection sees it.
// Errors are AppendPublish's refusals and the write's.
func (c *Conn) Publish(topic string, qos QoS, payload []byte) (uint16, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	var id uint16
	if qos > 0 {
		id = c.nextID()
	}
	b, err := AppendPublish(c.wbuf[:0], topic, qos, id, payload)
	if err != nil {
		return 0, err
	}
	return id, c.write(b)
}

// Puback acknowledges a QoS 1 PUBLISH.
func (c *Conn) Puback(id uint16) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.write(AppendPuback(c.wbuf[:0], id))
}

// Ping sends a PINGREQ.
func (c *Conn) Ping() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.write(AppendPingreq(c.wbuf[:0]))
}

// ReadPacket reads the next packet. The packet's body is valid until the
// next read. Errors are ReadPacket's and the connection's.
func (c *Conn) ReadPacket() (Packet, error) {
	if c.r == nil {
		c.r = bufio.NewReaderSize(c.nc, readBufferSize)
	}
	return ReadPacket(c.r, &c.body, c.maxPacket)
}

// Idle releases the reader's buffers of a connection nobody reads any
// more, so that an idle connection costs little more than its socket. A
// later read allocates them again.
func (c *Conn) Idle() {
	c.r, c.body, c.acks = nil, nil, nil
	c.wmu.Lock()
	c.wbuf = nil
	c.wmu.Unlock()
}

// Handler receives what Serve reads. Nil fields ignore their packets.
type Handler struct {
	// Publish is called for every PUBLISH, before it is acknowledged.
	// pub aliases the read buffer: copy what outlives the call.
	Publish func(pub Publish)
	// Puback is called with the packet identifier of every PUBACK.
	Puback func(id uint16)
}

// Serve reads the connection until it fails or closes, handing PUBLISH and
// PUBACK packets to h and acknowledging QoS 1 publishes. Acknowledgements
// are written in batches, whenever no more input is buffered, so that a
// subscriber costs one write per read rather than one per message. It
// returns the error that ended it: io.EOF or a net.ErrClosed once the
// connection is closed, ErrMalformed for a packet it cannot parse.
func (c *Conn) Serve(h Handler) error {
	for {
		if len(c.acks) > 0 && c.r != nil && c.r.Buffered() == 0 {
			if err := c.flushAcks(); err != nil {
				return err
			}
		}
		p, err := c.ReadPacket()
		if err != nil {
			return err
		}
		switch p.Type() {
		case TypePublish:
			pub, err := ParsePublish(p)
			if err != nil {
				return err
			}
			if h.Publish != nil {
				h.Publish(pub)
			}
			if pub.QoS == AtLeastOnce {
				c.acks = AppendPuback(c.acks, pub.ID)
			}
		case TypePuback:
			id, err := ParseAckID(p)
			if err != nil {
				return err
			}
			if h.Puback != nil {
				h.Puback(id)
			}
		}
	}
}

func (c *Conn) flushAcks() error {
	c.wmu.Lock()
	err := c.writeRaw(c.acks)
	c.wmu.Unlock()
	c.acks = c.acks[:0]
	return err
}

// Disconnect sends DISCONNECT and closes the connection.
func (c *Conn) Disconnect() error {
	c.wmu.Lock()
	c.writeTimeout = min(c.writeTimeout, time.Second)
	if c.writeTimeout <= 0 {
		c.writeTimeout = time.Second
	}
	err := c.write(AppendDisconnect(c.wbuf[:0]))
	c.wmu.Unlock()
	return errors.Join(err, c.nc.Close())
}

// Close closes the connection without a DISCONNECT, as a device that loses
// its network does.
func (c *Conn) Close() error { return c.nc.Close() }
