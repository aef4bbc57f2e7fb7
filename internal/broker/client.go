package broker

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqttrmq/mqttrmq/internal/packet"
	"github.com/mqttrmq/mqttrmq/internal/transport"
)

// Client is one network connection and, once its CONNECT is accepted, the
// client it speaks for. Hooks receive it; its methods are safe to call from
// any goroutine, also after the connection ended.
//
// A connection holds no goroutine and, idle, no buffer: its bytes arrive
// through Data on the transport's poller goroutine, and everything it
// keeps between packets is below.
type Client struct {
	// The fields are grouped by size, the small ones last, so that a
	// connection's state packs into as few bytes as it can: the server
	// holds one per connection.
	srv    *Server
	tc     transport.Conn
	serial uint64 // numbers the connection: its channel ID

	// mu serialises the inbound side: Data, and what it changes.
	mu      sync.Mutex
	partial []byte // bytes of a packet not yet whole; nil when none
	aliasIn map[uint16]string
	topic   string // the topic of the last PUBLISH read, for the next to reuse

	// Set by CONNECT, read-only afterwards.
	id       string
	username string
	expiry   time.Duration // how long its session outlives it
	sess     *session
	will     *Message     // nil without a will, or after a DISCONNECT
	data     atomic.Value // the hooks' own state for this client

	// Outbound state, under sess.mu.
	aliasOut map[string]uint16

	// acks keeps the inbound QoS 1 and 2 publishes awaiting their hooks,
	// so that their acknowledgements go out in the order they came
	// [MQTT-4.6.0-2] [MQTT-4.6.0-3].
	ackMu      sync.Mutex
	acks       []pendingAck
	ackSeq     uint64
	inflightIn int                 // QoS 1 not yet acknowledged, QoS 2 not yet released
	ackHold    int                 // HoldAcks not yet released
	qos2held   map[uint16]struct{} // QoS 2 received here and counted in inflightIn until PUBREL

	lastRead atomic.Int64 // unix nanoseconds of the last bytes received
	opened   int64        // unix nanoseconds of the connection's start
	cause    atomic.Pointer[closeCause]

	// Set by CONNECT, read-only afterwards: the small ones.
	maxPacket uint32 // the client's maximum packet size; 0 for none
	willDelay uint32
	// deadlineSeq numbers the connection's watches by the server's
	// deadlines, under their lock: the latest is the one that counts.
	deadlineSeq uint32
	keepAlive   uint16 // effective, seconds
	recvMax     uint16 // the client's receive maximum: our outbound window
	aliasMax    uint16 // the client's topic alias maximum: our outbound aliases
	version     byte
	kind        transport.Kind

	persistent bool
	present    bool // the CONNACK said the session was resumed
	noProblem  bool // the client asked for no reason strings or user properties on errors

	// Under mu.
	connected bool // CONNECT accepted
	ended     bool // Closed ran
	gotDisc   bool // the client sent DISCONNECT
	keepWill  bool // ... with reason 0x04: the will goes anyway

	paused   atomic.Bool // an MQTT 3.1.1 client over the receive maximum: its bytes wait in partial
	closed   atomic.Bool // close was asked for
	discCode ReasonCode  // the reason code of the client's DISCONNECT
}

// closeCause is why the server closed a connection, for its log line.
type closeCause struct {
	code   ReasonCode
	reason string
}

// setCause records why the server closes the connection; the first
// reason given stands.
func (c *Client) setCause(code ReasonCode, reason string) {
	c.cause.CompareAndSwap(nil, &closeCause{code, reason})
}

// pendingAck is one inbound publish awaiting its hook.
type pendingAck struct {
	seq  uint64
	id   uint16
	qos  byte
	code ReasonCode
	done bool
}

// ID returns the client ID ("" before CONNECT).
func (c *Client) ID() string { return c.id }

// Username returns the user name the client connected with.
func (c *Client) Username() string { return c.username }

// RemoteAddr returns the address of the client's end of the connection.
func (c *Client) RemoteAddr() net.Addr { return c.tc.RemoteAddr() }

// ProtocolVersion returns 4 for MQTT 3.1.1, 5 for MQTT 5.
func (c *Client) ProtocolVersion() byte { return c.version }

// Transport returns what the client connected over.
func (c *Client) Transport() transport.Kind { return c.kind }

// ConnectionID numbers the connection, uniquely within this broker.
func (c *Client) ConnectionID() uint64 { return c.serial }

// Persistent reports whether the client's session outlives its connection
// (MQTT 3.1.1 clean session 0; MQTT 5 session expiry over 0).
func (c *Client) Persistent() bool { return c.persistent }

// SessionPresent reports whether the client resumed a session: the
// CONNACK's session present flag, set once the CONNACK is written.
func (c *Client) SessionPresent() bool { return c.present }

// SessionExpiry returns how long the client's session outlives its
// connection: 0 for a clean session, the session expiry interval in force
// (capped by Options.MaxSessionExpiry) for a persistent one.
func (c *Client) SessionExpiry() time.Duration { return c.expiry }

// KeepAlive returns the keep-alive in force, in seconds.
func (c *Client) KeepAlive() uint16 { return c.keepAlive }

// SetValue keeps the hooks' own state for this client; Value returns it.
func (c *Client) SetValue(v any) { c.data.Store(&v) }

// Value returns what SetValue kept, or nil.
func (c *Client) Value() any {
	if p, ok := c.data.Load().(*any); ok {
		return *p
	}
	return nil
}

// IsClosed reports whether the connection is closed or closing.
func (c *Client) IsClosed() bool { return c.closed.Load() }

// Disconnect closes the connection, telling an MQTT 5 client why.
func (c *Client) Disconnect(code ReasonCode, reason string) { c.disconnect(code, reason) }

// errClose ends a connection after what needed saying was written.
var errClose = errors.New("broker: connection closed")

// Data takes the bytes the transport read (transport.Session).
func (c *Client) Data(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastRead.Store(time.Now().UnixNano())
	if c.ended || c.closed.Load() {
		return nil
	}
	if len(c.partial) > 0 || c.paused.Load() {
		c.partial = append(c.partial, b...)
		if c.paused.Load() {
			if len(c.partial) > c.srv.opts.MaxPausedBytes {
				return fmt.Errorf("broker: %d bytes unread while over the receive maximum", len(c.partial))
			}
			return nil
		}
		b = c.partial
	}
	rest, err := c.parse(b)
	c.keep(b, rest)
	return err
}

// keep saves what parse left of buf (a packet not yet whole, or bytes held
// while paused) in partial, and frees partial when nothing is left.
func (c *Client) keep(buf, rest []byte) {
	switch {
	case len(rest) == 0:
		c.partial = nil
	case len(c.partial) > 0 && &buf[0] == &c.partial[0]:
		n := copy(c.partial, rest)
		c.partial = c.partial[:n]
	default:
		c.partial = append([]byte(nil), rest...)
	}
}

// parse handles every whole packet in b and returns what is left.
func (c *Client) parse(b []byte) ([]byte, error) {
	for len(b) > 0 {
		h, ok, err := packet.ReadHeader(b)
		if err != nil {
			return nil, c.protocolFault(err)
		}
		if !ok {
			return b, nil
		}
		size := h.Size + h.Remaining
		if uint32(size) > c.srv.opts.MaxPacketSize {
			// [MQTT-3.2.2.3.6]: a packet over the server's maximum.
			return nil, c.fail(PacketTooLarge, fmt.Sprintf("packet of %d bytes is over the %d-byte maximum", size, c.srv.opts.MaxPacketSize))
		}
		if len(b) < size {
			return b, nil
		}
		if c.pause(h) {
			return b, nil
		}
		if err := c.handle(h, b[h.Size:size]); err != nil {
			return nil, err
		}
		b = b[size:]
	}
	return b, nil
}

// pause reports whether an MQTT 3.1.1 client's next packet, a QoS 1 or 2
// publish, must wait for one of its earlier publishes to be acknowledged:
// the broker reads no further until then (see Options.ReceiveMaximum).
func (c *Client) pause(h packet.Header) bool {
	if !c.connected || c.version == packet.V5 || h.Type != packet.PUBLISH || (h.Flags>>1)&3 == 0 {
		return false
	}
	// Under ackMu, so that an acknowledgement either frees the slot
	// before this looks, or sees the pause and resumes reading.
	c.ackMu.Lock()
	defer c.ackMu.Unlock()
	full := c.inflightIn >= int(c.srv.opts.ReceiveMaximum)
	c.paused.Store(full)
	return full
}

// resume reads on after a paused client's publish was acknowledged.
func (c *Client) resume() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.paused.Load() || c.ended || c.closed.Load() {
		return
	}
	c.paused.Store(false)
	b := c.partial
	rest, err := c.parse(b)
	c.keep(b, rest)
	if err != nil {
		go c.close(err)
	}
}

// handle dispatches one whole packet.
func (c *Client) handle(h packet.Header, body []byte) error {
	if !c.connected {
		if h.Type != packet.CONNECT {
			// [MQTT-3.1.0-1]: the first packet must be CONNECT.
			return fmt.Errorf("broker: first packet is %s, not CONNECT [MQTT-3.1.0-1]", h.Type)
		}
		return c.onConnect(h, body)
	}
	switch h.Type {
	case packet.PUBLISH:
		return c.onPublish(h, body)
	case packet.PUBACK, packet.PUBREC, packet.PUBCOMP:
		return c.onAck(h, body)
	case packet.PUBREL:
		return c.onPubrel(h, body)
	case packet.SUBSCRIBE:
		return c.onSubscribe(h, body)
	case packet.UNSUBSCRIBE:
		return c.onUnsubscribe(h, body)
	case packet.PINGREQ:
		if err := packet.CheckEmpty(h, body); err != nil {
			return c.protocolFault(err)
		}
		c.write(packet.AppendPingresp(nil))
		return nil
	case packet.DISCONNECT:
		return c.onDisconnect(h, body)
	case packet.CONNECT:
		// [MQTT-3.1.0-2]: a second CONNECT is a protocol error.
		return c.fail(ProtocolError, "second CONNECT [MQTT-3.1.0-2]")
	case packet.AUTH:
		if c.version != packet.V5 {
			return c.fail(ProtocolError, "AUTH in MQTT 3.1.1")
		}
		// No enhanced authentication was agreed at CONNECT [MQTT-4.12.0-1].
		return c.fail(ProtocolError, "AUTH without an authentication method [MQTT-4.12.0-1]")
	default:
		return c.fail(ProtocolError, fmt.Sprintf("%s is not sent to a server", h.Type))
	}
}

// protocolFault ends the connection over a packet the codec refused, with
// the reason code it carries.
func (c *Client) protocolFault(err error) error {
	var pe *packet.Error
	if errors.As(err, &pe) {
		return c.fail(ReasonCode(pe.Code), pe.Reason)
	}
	return c.fail(MalformedPacket, err.Error())
}

// fail ends the connection over a fault of the client's: an MQTT 5 client
// gets a DISCONNECT saying why [MQTT-4.13.1-1]; an MQTT 3.1.1 client is
// simply disconnected [MQTT-4.8.0-1]. The error returned closes it.
func (c *Client) fail(code ReasonCode, reason string) error {
	c.srv.stats.refuse(refDisconnect, code)
	if !c.connected {
		c.srv.event("connection refused", "client", c.id, "remote", c.RemoteAddr().String(), "transport", c.kind.String(), "code", code, "reason", reason)
	} else {
		c.setCause(code, reason) // logged once the connection is closed
	}
	if c.connected && c.version == packet.V5 {
		c.write(packet.AppendDisconnect(nil, byte(code), c.reasonString(reason), ""))
	}
	return fmt.Errorf("broker: %s: %s", code, reason)
}

// reasonString returns reason, or "" for a client that asked for no
// problem information [MQTT-3.1.2-29].
func (c *Client) reasonString(reason string) string {
	if c.noProblem {
		return ""
	}
	return reason
}

// write sends bytes; a failed write means the connection is closing. It
// is marked closed at once — the transport closed it already, with its
// reason, and tells Closed later — so that nothing meanwhile takes it for
// a live one: a slow consumer over its write buffer is not cut off, and
// counted, a second time for its queue.
func (c *Client) write(b []byte) bool {
	if _, err := c.tc.Write(b); err != nil {
		c.close(err)
		return false
	}
	return true
}

// close closes the connection; Closed does the rest.
func (c *Client) close(err error) {
	if c.closed.CompareAndSwap(false, true) {
		c.tc.Close()
	}
}

// disconnect tells an MQTT 5 client why, then closes.
func (c *Client) disconnect(code ReasonCode, reason string) { c.disconnectTo(code, reason, "") }

func (c *Client) disconnectTo(code ReasonCode, reason, serverReference string) {
	if c.closed.Load() {
		return
	}
	c.setCause(code, reason)
	if c.version == packet.V5 && c.connectedNow() {
		c.srv.stats.refuse(refDisconnect, code)
		c.write(packet.AppendDisconnect(nil, byte(code), c.reasonString(reason), serverReference))
	}
	c.close(fmt.Errorf("disconnected: %s %s", code, reason))
}

func (c *Client) connectedNow() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected && !c.ended
}

// checkDeadline closes a connection whose deadline passed, and otherwise
// watches it again for what is left: before CONNECT the connect timeout
// from its start, then 1.5 times its keep-alive from the last bytes it sent
// [MQTT-3.1.2-22] (MQTT 5: [MQTT-3.1.2-22] too), and nothing without a
// keep-alive.
func (c *Client) checkDeadline() {
	c.mu.Lock()
	ended, connected, keepAlive := c.ended, c.connected, c.keepAlive
	c.mu.Unlock()
	if ended {
		return
	}
	now := time.Now()
	if !connected {
		if left := c.srv.opts.ConnectTimeout - now.Sub(time.Unix(0, c.opened)); left > 0 {
			c.srv.deadlines.watch(c, left)
			return
		}
		c.close(errors.New("no CONNECT in time"))
		return
	}
	if keepAlive == 0 {
		return
	}
	limit := time.Duration(keepAlive) * 1500 * time.Millisecond
	if idle := now.Sub(time.Unix(0, c.lastRead.Load())); idle < limit {
		c.srv.deadlines.watch(c, limit-idle)
		return
	}
	c.srv.stats.keepAliveTimeout.Add(1)
	c.disconnect(KeepAliveTimeout, "no packet within 1.5 times the keep-alive")
}

// Closed ends the connection's part in its session (transport.Session):
// the will goes out (now or after its delay), a session that does not
// outlive its connection ends, one that does waits for its client until
// it expires.
func (c *Client) Closed(err error) {
	c.closed.Store(true)
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended = true
	c.partial = nil
	connected := c.connected
	c.mu.Unlock()
	if !connected {
		return
	}
	if errors.Is(err, transport.ErrSlowConsumer) {
		c.srv.stats.slowConsumers.Add(1)
	}
	c.srv.detach(c)
	if c.gotDisc {
		err = nil
	}
	c.logDisconnected(err)
	c.srv.hooks.Disconnected(c, err)
	// Counted out last: a count of connected clients that has come down
	// means their ends are wholly handled (sessions detached, lines
	// logged, hooks heard).
	c.srv.stats.connected.Add(-1)
}

// deadConn stands in for the connection of a client long gone, whose will
// is published when its session ends.
type deadConn struct{}

func (deadConn) Write([]byte) (int, error) { return 0, net.ErrClosed }
func (deadConn) Close() error              { return nil }
func (deadConn) RemoteAddr() net.Addr      { return &net.TCPAddr{} }

// logDisconnected writes the one line of a connection's end: who ended it,
// and the reason code when there is one.
func (c *Client) logDisconnected(err error) {
	args := []any{"client", c.id, "remote", c.RemoteAddr().String(), "transport", c.kind.String()}
	switch cs := c.cause.Load(); {
	case c.gotDisc:
		args = append(args, "by", "client", "code", c.discCode)
	case cs != nil:
		args = append(args, "by", "server", "code", cs.code, "reason", cs.reason)
	case errors.Is(err, transport.ErrSlowConsumer):
		args = append(args, "by", "server", "code", QuotaExceeded, "reason", "write buffer full")
	default:
		args = append(args, "by", "network", "error", err)
	}
	c.srv.event("client disconnected", args...)
}
