package broker

import (
	"fmt"
	"sync"
	"time"

	"github.com/mqttrmq/mqttrmq/internal/packet"
)

// Outbound delivery. A message for a session is written to its connection
// at once when it may be: QoS 0 always, QoS 1 and 2 while the in-flight
// window has room. The rest waits in the session's queue, bounded by
// Options.MaxQueuedMessages, and moves into the window as acknowledgements
// free it. Nothing here waits for a socket: a write hands the bytes to the
// transport, which keeps what the socket cannot take yet and closes a
// connection whose backlog passes its bound (a slow consumer). A client
// whose queue overflows is a slow consumer too, closed and counted; an
// offline session's full queue drops its oldest message instead.

// deliver gives one message to one session at the given QoS; retain is
// the RETAIN flag it carries to this client, subIDs the identifiers of the
// subscriptions it matched. It reports whether the message was written or
// kept.
func (s *Server) deliver(sess *session, m *Message, qos byte, retain bool, subIDs []int) bool {
	sess.mu.Lock()
	kept, slow := s.deliverLocked(sess, m, qos, retain, subIDs, time.Now())
	sess.mu.Unlock()
	s.cutOff(slow)
	return kept
}

// deliverLocked is deliver with sess.mu held; a client it returns is a
// slow consumer, to be cut off once the lock is released.
func (s *Server) deliverLocked(sess *session, m *Message, qos byte, retain bool, subIDs []int, now time.Time) (kept bool, slow *Client) {
	if _, expired := m.remaining(now); expired {
		s.stats.expired.Add(1) // [MQTT-3.3.2-5]
		return false, nil
	}
	c := sess.client
	if c != nil && c.closed.Load() {
		c = nil // closing: what it would have got waits as for an offline client
	}
	switch {
	case sess.ended:
		return false, nil
	case qos == 0:
		// At most once: written to a connected client or not at all
		// [MQTT-4.3.1].
		return c != nil && c.writePublish(m, 0, 0, false, retain, subIDs, now) == written, nil
	case c != nil && len(sess.queue) == 0 && len(sess.inflight) < c.window():
		s.send(sess, c, &outbound{msg: m, qos: qos, retain: retain, subIDs: subIDs}, now)
		return true, nil
	case c == nil && (!sess.persistent || s.opts.Delegated):
		return false, nil // no one to keep it for, or the program keeps it
	}
	sess.queue = append(sess.queue, &outbound{msg: m, qos: qos, retain: retain, subIDs: subIDs})
	s.stats.queued.Add(1)
	if len(sess.queue) <= s.opts.MaxQueuedMessages {
		return true, nil
	}
	if c != nil {
		return true, c // a slow consumer: cut off; its session keeps the queue
	}
	sess.queue[0] = nil
	sess.queue = sess.queue[1:]
	s.stats.queued.Add(-1)
	s.stats.offlineDropped.Add(1)
	return true, nil
}

// cutOff disconnects a slow consumer.
func (s *Server) cutOff(c *Client) {
	if c == nil || c.closed.Load() {
		return
	}
	s.stats.slowConsumers.Add(1)
	c.disconnect(QuotaExceeded, fmt.Sprintf("slow consumer: over %d messages queued", s.opts.MaxQueuedMessages))
}

// window is how many QoS 1 and 2 messages may be unacknowledged towards
// the client: the broker's MaxInflight, lowered by an MQTT 5 client's
// receive maximum [MQTT-3.3.4-7].
func (c *Client) window() int {
	w := int(c.srv.opts.MaxInflight)
	if c.recvMax > 0 && int(c.recvMax) < w {
		w = int(c.recvMax)
	}
	return w
}

// send puts a QoS 1 or 2 message in flight on c; sess.mu is held.
func (s *Server) send(sess *session, c *Client, ob *outbound, now time.Time) {
	ob.id = sess.newPacketID()
	if c.writePublish(ob.msg, ob.qos, ob.id, false, ob.retain, ob.subIDs, now) == dropped {
		// Too large for the client, or expired: gone as if delivered
		// [MQTT-3.1.2-25]. A failed write stays in flight for the resend.
		return
	}
	sess.inflight = append(sess.inflight, ob)
	s.stats.inflight.Add(1)
}

// newPacketID returns a packet ID no message in flight uses. The session's
// outbound IDs are its own space, apart from the client's [MQTT-2.2.1-2].
func (sess *session) newPacketID() uint16 {
	for {
		sess.nextID++
		if sess.nextID == 0 {
			sess.nextID = 1
		}
		free := true
		for _, ob := range sess.inflight {
			if ob.id == sess.nextID {
				free = false
				break
			}
		}
		if free {
			return sess.nextID
		}
	}
}

// resend sends a reconnected client what its session held: every message
// in flight again, with DUP, or the PUBREL of one already received
// [MQTT-4.4.0-1] [MQTT-3.3.1-1], then the queue; sess.mu is held.
func (s *Server) resend(sess *session, c *Client) {
	now := time.Now()
	for _, ob := range sess.inflight {
		if ob.released {
			c.write(packet.AppendAck(nil, c.version, packet.PUBREL, ob.id, 0, ""))
			continue
		}
		c.writePublish(ob.msg, ob.qos, ob.id, true, ob.retain, ob.subIDs, now)
	}
	s.fill(sess, c, now)
}

// fill moves queued messages into the in-flight window; sess.mu is held.
func (s *Server) fill(sess *session, c *Client, now time.Time) {
	n := 0
	for n < len(sess.queue) && len(sess.inflight) < c.window() && !c.closed.Load() {
		ob := sess.queue[n]
		sess.queue[n] = nil
		n++
		if _, expired := ob.msg.remaining(now); expired {
			s.stats.expired.Add(1)
			continue
		}
		s.send(sess, c, ob, now)
	}
	if n > 0 {
		sess.queue = sess.queue[n:]
		if len(sess.queue) == 0 {
			sess.queue = nil
		}
		s.stats.queued.Add(-int64(n))
	}
}

// onAck handles PUBACK, PUBREC and PUBCOMP from the client for messages
// the broker sent [MQTT-4.3.2] [MQTT-4.3.3].
func (c *Client) onAck(h packet.Header, body []byte) error {
	a, err := packet.DecodeAck(c.version, h, body)
	if err != nil {
		return c.protocolFault(err)
	}
	sess := c.sess
	sess.mu.Lock()
	drained := c.settle(h, a)
	sess.mu.Unlock()
	if keeper, ok := c.srv.hooks.(SessionKeeper); ok && drained {
		keeper.Drained(sess.id)
	}
	return nil
}

// settle applies an acknowledgement to the message it is for; sess.mu is
// held. It reports whether the session is left with nothing in flight or
// queued.
func (c *Client) settle(h packet.Header, a packet.Ack) (drained bool) {
	s, sess := c.srv, c.sess
	i := -1
	for j, ob := range sess.inflight {
		if ob.id == a.PacketID {
			i = j
			break
		}
	}
	if i < 0 {
		return false // an acknowledgement of something long settled
	}
	ob := sess.inflight[i]
	switch {
	case h.Type == packet.PUBREC && ob.qos == 2 && !ob.released && a.Code < 0x80:
		// [MQTT-4.3.3-4]: answer PUBREC with PUBREL; the message stays
		// in flight until PUBCOMP.
		ob.released = true
		c.write(packet.AppendAck(nil, c.version, packet.PUBREL, ob.id, 0, ""))
		return false
	case h.Type == packet.PUBREC && ob.qos == 2 && a.Code >= 0x80:
		// A refused QoS 2 message ends its flow here [MQTT-4.3.3].
	case h.Type == packet.PUBACK && ob.qos == 1:
	case h.Type == packet.PUBCOMP && ob.qos == 2 && ob.released:
	default:
		return false // not the acknowledgement this message waits for
	}
	copy(sess.inflight[i:], sess.inflight[i+1:])
	sess.inflight[len(sess.inflight)-1] = nil
	sess.inflight = sess.inflight[:len(sess.inflight)-1]
	s.stats.inflight.Add(-1)
	s.fill(sess, c, time.Now())
	return len(sess.inflight) == 0 && len(sess.queue) == 0
}

// bufs recycles encoding buffers.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// What became of a PUBLISH.
type writeResult uint8

const (
	written writeResult = iota
	dropped             // expired, or too large for the client
	failed              // the connection is closing
)

// writePublish encodes and writes one PUBLISH for a message; sess.mu is
// held. A message that expired or is too large for the client
// [MQTT-3.1.2-25] is dropped.
func (c *Client) writePublish(m *Message, qos byte, id uint16, dup, retain bool, subIDs []int, now time.Time) writeResult {
	s := c.srv
	left, expired := m.remaining(now)
	if expired {
		s.stats.expired.Add(1)
		return dropped
	}
	p := packet.Publish{Topic: m.Topic, PacketID: id, QoS: qos, Dup: dup, Retain: retain, Payload: m.Payload}
	alias, newAlias := uint16(0), false
	if c.version == packet.V5 {
		pp := &p.Properties
		if m.PayloadFormat == FormatUTF8 {
			pp.PayloadFormat = packet.Some(FormatUTF8)
		}
		if m.HasExpiry {
			pp.MessageExpiry = packet.Some(left) // [MQTT-3.3.2-6]
		}
		if m.ContentType != "" {
			pp.ContentType = packet.Some(m.ContentType)
		}
		if m.ResponseTopic != "" {
			pp.ResponseTopic = packet.Some(m.ResponseTopic)
		}
		if m.CorrelationData != nil {
			pp.CorrelationData = packet.Some(m.CorrelationData)
		}
		pp.SubscriptionIDs = subIDs
		for _, u := range m.User {
			pp.User = append(pp.User, packet.UserProperty{Key: u.Key, Value: u.Value})
		}
		if c.aliasMax > 0 {
			alias, newAlias = c.outboundAlias(m.Topic)
			if alias != 0 {
				pp.TopicAlias = packet.Some(alias)
				if !newAlias {
					p.Topic = "" // [MQTT-3.3.2-10]: the alias stands for it
				}
			}
		}
	}
	if c.maxPacket > 0 && packet.PublishSize(c.version, &p) > int(c.maxPacket) {
		if newAlias {
			delete(c.aliasOut, m.Topic)
		}
		s.stats.tooLarge.Add(1)
		return dropped
	}
	bp := bufs.Get().(*[]byte)
	b := packet.AppendPublish((*bp)[:0], c.version, &p)
	ok := c.write(b)
	if cap(b) <= 64<<10 {
		*bp = b[:0]
		bufs.Put(bp)
	}
	if !ok {
		return failed
	}
	s.stats.delivered.Add(1)
	if !dup && !retain {
		s.opts.Observer.Written(m, now)
	}
	return written
}

// outboundAlias returns the topic alias for topic towards the client, and
// whether it is new (and so must be sent with the topic) [MQTT-3.3.2.3.4].
// Aliases are given out until the client's maximum is reached; topics
// after that go without one.
func (c *Client) outboundAlias(topic string) (uint16, bool) {
	if a, ok := c.aliasOut[topic]; ok {
		return a, false
	}
	if len(c.aliasOut) >= int(c.aliasMax) {
		return 0, false
	}
	if c.aliasOut == nil {
		c.aliasOut = map[string]uint16{}
	}
	a := uint16(len(c.aliasOut) + 1)
	c.aliasOut[topic] = a
	return a, true
}
