package broker

import (
	"errors"
	"fmt"
	"time"

	"github.com/mqttrmq/mqttrmq/internal/packet"
)

// onPublish takes a PUBLISH from the client and hands its message to the
// Publish hook. The broker never routes it to subscribers itself.
func (c *Client) onPublish(h packet.Header, body []byte) error {
	s := c.srv
	p := packet.Publish{Topic: c.topic} // kept if the topic is the same
	if err := packet.DecodePublish(c.version, h, body, &p); err != nil {
		return c.protocolFault(err)
	}
	if p.Topic != "" {
		c.topic = p.Topic
	}
	if c.version == packet.V5 {
		if len(p.Properties.SubscriptionIDs) > 0 {
			return c.fail(ProtocolError, "subscription identifier in a PUBLISH to the server [MQTT-3.3.4-6]")
		}
		if p.Properties.TopicAlias.Set {
			a := p.Properties.TopicAlias.V
			if a == 0 || a > s.opts.TopicAliasMaximum {
				// [MQTT-3.3.2-8] [MQTT-3.3.2-9]
				return c.fail(TopicAliasInvalid, fmt.Sprintf("topic alias %d is not within 1-%d", a, s.opts.TopicAliasMaximum))
			}
			if p.Topic == "" {
				t, ok := c.aliasIn[a]
				if !ok {
					return c.fail(ProtocolError, fmt.Sprintf("topic alias %d was never set [MQTT-3.3.2.3.4]", a))
				}
				p.Topic = t
			} else {
				if c.aliasIn == nil {
					c.aliasIn = map[uint16]string{}
				}
				c.aliasIn[a] = p.Topic // [MQTT-3.3.2-12]
			}
		}
	}
	if p.Topic == "" {
		// [MQTT-4.7.3-1], and MQTT 5's "zero length and no Topic Alias"
		// [MQTT-3.3.2.3.4]: a protocol error.
		return c.fail(ProtocolError, "empty topic name")
	}
	if code := checkTopicName(p.Topic); code != Success {
		// [MQTT-3.3.2-2]
		return c.fail(code, fmt.Sprintf("topic %q cannot be published to", p.Topic))
	}
	if rt := p.Properties.ResponseTopic; rt.Set && checkTopicName(rt.V) != Success {
		// [MQTT-3.3.2-13] [MQTT-3.3.2-14]: a Response Topic is a topic name.
		return c.fail(ProtocolError, fmt.Sprintf("response topic %q is not a topic name [MQTT-3.3.2-14]", rt.V))
	}
	if p.QoS > 0 && c.version == packet.V5 {
		c.ackMu.Lock()
		over := c.inflightIn >= int(s.opts.ReceiveMaximum)
		c.ackMu.Unlock()
		if over {
			return c.fail(ReceiveMaximumExceeded, "more unacknowledged QoS 1 and 2 publishes than the receive maximum [MQTT-3.3.4-9]")
		}
	}
	s.stats.publishesIn.Add(1)
	m := &Message{
		Topic:      p.Topic,
		Payload:    append([]byte(nil), p.Payload...),
		QoS:        p.QoS,
		Retain:     p.Retain,
		Origin:     c.id,
		Created:    time.Now(),
		Properties: messageProperties(&p.Properties),
	}
	if p.QoS == 2 {
		sess := c.sess
		sess.mu.Lock()
		_, again := sess.qos2in[p.PacketID]
		if !again {
			if sess.qos2in == nil {
				sess.qos2in = map[uint16]struct{}{}
			}
			sess.qos2in[p.PacketID] = struct{}{}
		}
		sess.mu.Unlock()
		if again {
			// A QoS 2 publish resent before its PUBREL: acknowledged
			// again, not handed on twice [MQTT-4.3.3-9].
			c.queueAck(p.PacketID, 2, Success, true)
			return nil
		}
	}
	seq := c.queueAck(p.PacketID, p.QoS, Success, false)
	if !m.validPayloadFormat(m.Payload) {
		// [MQTT-3.3.2-4]: declared UTF-8, and it is not.
		s.event("publish refused", "client", c.id, "remote", c.RemoteAddr().String(), "topic", m.Topic, "qos", m.QoS, "code", PayloadFormatInvalid, "reason", "payload declared UTF-8 is not")
		c.acked(seq, PayloadFormatInvalid)
		return nil
	}
	s.hooks.Publish(c, m, func(code ReasonCode) { c.acked(seq, code) })
	return nil
}

// maxKeptAcks is the most pending acknowledgements a client's emptied
// list keeps room for: a device publishing one message at a time reuses
// its list rather than starting one for every publish, and one that sent
// a burst lets the burst's go.
const maxKeptAcks = 4

// queueAck records an inbound publish whose acknowledgement must wait for
// the ones before it, and returns its sequence number; done records one
// answered already. QoS 0 publishes are recorded only to count refusals.
func (c *Client) queueAck(id uint16, qos byte, code ReasonCode, done bool) uint64 {
	c.ackMu.Lock()
	defer c.ackMu.Unlock()
	c.ackSeq++
	if qos == 0 {
		return c.ackSeq
	}
	c.acks = append(c.acks, pendingAck{seq: c.ackSeq, id: id, qos: qos, code: code, done: done})
	if !done {
		c.inflightIn++
	}
	if done {
		c.flushAcks()
	}
	return c.ackSeq
}

// acked is the Publish hook's answer for one publish: the acknowledgements
// due go out in order, and a publish that could not be stored closes the
// connection unacknowledged, so that the client sends it again.
func (c *Client) acked(seq uint64, code ReasonCode) {
	if code.Failed() && code != Unacknowledged {
		c.srv.stats.refuse(refPuback, code)
	}
	c.ackMu.Lock()
	found := false
	for i := range c.acks {
		if c.acks[i].seq == seq {
			a := &c.acks[i]
			a.code, a.done = code, true
			if a.qos == 2 && !code.Failed() && c.version == packet.V5 {
				// Counted against the receive maximum until its PUBREL
				// [MQTT-3.3.4-9]. An MQTT 3.1.1 client's is not: it is
				// paused over the maximum, and its PUBRELs would wait
				// behind the publish that paused it.
				if c.qos2held == nil {
					c.qos2held = map[uint16]struct{}{}
				}
				c.qos2held[a.id] = struct{}{}
			} else {
				c.inflightIn--
			}
			found = true
			break
		}
	}
	if !found || c.ackHold > 0 { // QoS 0: nothing to send; held: ReleaseAcks sends
		c.ackMu.Unlock()
		return
	}
	c.sendAcks()
}

// HoldAcks keeps the acknowledgements that come due from being written
// until as many calls of ReleaseAcks: a hook answering several of a
// client's publishes at once (a batch RocketMQ took) lets their
// acknowledgements go out in one write instead of one write each. Their
// order is kept either way [MQTT-4.6.0-2].
func (c *Client) HoldAcks() {
	c.ackMu.Lock()
	c.ackHold++
	c.ackMu.Unlock()
}

// ReleaseAcks ends one HoldAcks; the last writes what came due meanwhile.
func (c *Client) ReleaseAcks() {
	c.ackMu.Lock()
	if c.ackHold > 0 {
		c.ackHold--
	}
	if c.ackHold > 0 {
		c.ackMu.Unlock()
		return
	}
	c.sendAcks()
}

// sendAcks writes the acknowledgements due and resumes reading a paused
// client; ackMu is held, and released.
func (c *Client) sendAcks() {
	giveUp := c.flushAcks()
	resume := c.inflightIn < int(c.srv.opts.ReceiveMaximum)
	c.ackMu.Unlock()
	if giveUp {
		c.close(errors.New("a publish could not be stored: closed unacknowledged"))
		return
	}
	if resume && c.paused.Load() {
		go c.resume()
	}
}

// flushAcks writes the acknowledgements at the head that are answered;
// ackMu is held. It reports whether one of them gives up on its publish.
func (c *Client) flushAcks() (giveUp bool) {
	n := 0
	var out []byte // every acknowledgement due, for one write
	for n < len(c.acks) && c.acks[n].done {
		a := c.acks[n]
		n++
		if a.code == Unacknowledged {
			giveUp = true
			break
		}
		if a.qos == 2 && a.code.Failed() {
			c.releaseQoS2(a.id) // a refused QoS 2 flow ends at its PUBREC
		}
		code := byte(a.code)
		if c.version != packet.V5 {
			code = 0 // MQTT 3.1.1 cannot refuse a publish [MQTT-3.3.5-2]
		}
		out = packet.AppendAck(out, c.version, ackPacket(a.qos), a.id, code, "")
	}
	if len(out) > 0 {
		c.write(out)
	}
	if n > 0 {
		c.acks = append(c.acks[:0], c.acks[n:]...)
		if len(c.acks) == 0 && cap(c.acks) > maxKeptAcks {
			c.acks = nil
		}
	}
	return giveUp
}

func (c *Client) releaseQoS2(id uint16) {
	sess := c.sess
	sess.mu.Lock()
	delete(sess.qos2in, id)
	sess.mu.Unlock()
}

// onPubrel completes an inbound QoS 2 flow [MQTT-4.3.3-11].
func (c *Client) onPubrel(h packet.Header, body []byte) error {
	a, err := packet.DecodeAck(c.version, h, body)
	if err != nil {
		return c.protocolFault(err)
	}
	sess := c.sess
	sess.mu.Lock()
	_, ok := sess.qos2in[a.PacketID]
	delete(sess.qos2in, a.PacketID)
	sess.mu.Unlock()
	code := byte(Success)
	if !ok && c.version == packet.V5 {
		code = byte(PacketIdentifierNotFound) // [MQTT-3.7.2.1]
	}
	c.write(packet.AppendAck(nil, c.version, packet.PUBCOMP, a.PacketID, code, ""))
	c.ackMu.Lock()
	if _, held := c.qos2held[a.PacketID]; held {
		delete(c.qos2held, a.PacketID)
		c.inflightIn--
	}
	c.ackMu.Unlock()
	return nil
}

// onDisconnect ends the connection at the client's request. An MQTT 5
// client may keep its will (0x04) [MQTT-3.14.2.1] and change its session's
// expiry, but not from zero [MQTT-3.14.2-2].
func (c *Client) onDisconnect(h packet.Header, body []byte) error {
	d, err := packet.DecodeDisconnect(c.version, h, body)
	if err != nil {
		return c.protocolFault(err)
	}
	if se := d.Properties.SessionExpiry; c.version == packet.V5 && se.Set {
		if !c.persistent && se.V > 0 {
			return c.fail(ProtocolError, "session expiry set at DISCONNECT after 0 at CONNECT [MQTT-3.14.2-2]")
		}
		sess := c.sess
		sess.mu.Lock()
		exp := time.Duration(se.V) * time.Second
		if exp > c.srv.opts.MaxSessionExpiry || se.V == ^uint32(0) {
			exp = c.srv.opts.MaxSessionExpiry
		}
		if sess.client == c {
			if sess.persistent && exp == 0 {
				c.srv.stats.persistent.Add(-1)
			}
			sess.expiry, sess.persistent = exp, exp > 0
		}
		sess.mu.Unlock()
	}
	c.gotDisc = true
	c.discCode = ReasonCode(d.Code)
	c.keepWill = c.version == packet.V5 && ReasonCode(d.Code) == DisconnectWithWill
	return errClose
}
