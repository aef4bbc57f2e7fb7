package gateway

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/internal/broker"
)

// uplink sends one client publish (or will) to RocketMQ and answers the
// MQTT core through ack:
//   - a refusal code for what the mapping or the gateway refuses (unknown
//     parent topic, malformed topic, payload too large): the core
//     acknowledges an MQTT 5 QoS 1/2 publish with that code, an MQTT 3.1.1
//     one without (3.1.1 cannot say no, and a device disconnected instead
//     would resend the same refused message forever);
//   - Success once RocketMQ took a QoS 1 or 2 message;
//   - Unacknowledged when RocketMQ did not take it within the retry budget:
//     the core disconnects the device unacknowledged, and the device
//     resends it when it reconnects. Never acknowledge and drop.
//
// Nothing here waits: the message joins its client's sender lane, and
// the answer comes from the lane's goroutine. ack is nil for a will.
func (g *Gateway) uplink(c *broker.Client, m *broker.Message, ack func(broker.ReasonCode)) {
	p := mqttrmq.Publish{
		Topic:             m.Topic,
		QoS:               mqttrmq.QoS(m.QoS),
		Retain:            m.Retain,
		ClientID:          c.ID(), // from the connection: a device cannot forge it
		PersistentSession: c.Persistent(),
		Payload:           m.Payload,
	}
	withProperties(&p, m)
	msg, code, err := g.uplinkMessage(p)
	var more []*primitive.Message
	if err == nil {
		m.ID = msg.GetProperty(primitive.PropertyUniqueClientMessageIdKeyIndex)
		g.recent.put(m.ID, m.Created)
		more = g.dispatchTo(msg, p)
	}
	if err != nil {
		g.stats.uplinkRefused.Add(1)
		what := "publish refused"
		if ack == nil {
			what = "will refused"
		}
		g.event(what, "client", c.ID(), "remote", c.RemoteAddr().String(), "topic", m.Topic, "qos", p.QoS, "code", code, "error", err)
		if ack != nil {
			ack(code)
		}
		return
	}
	g.sendStarted() // ended by the last outcome, see Drain
	r := &retry{g: g, c: c, m: m, msg: msg, p: p, more: more, ack: ack}
	if ack == nil || p.QoS == mqttrmq.AtMostOnce {
		// Nobody waits for a will or a QoS 0 message: one attempt.
		g.sender.sendAndForget(c.ID(), msg, more, nil, r.stored(), func(err error) {
			g.countSend(c.ID(), err)
			g.sendEnded()
		})
		if ack != nil {
			ack(broker.Success)
		}
		return
	}
	budget := g.cfg.SendRetryFor
	if ka := time.Duration(c.KeepAlive()) * time.Second; ka > 0 && budget > ka/2 {
		// The device gives up on a silent server after its keep-alive;
		// it should hear back within half of it.
		budget = ka / 2
	}
	r.giveUp, r.backoff = time.Now().Add(budget), 20*time.Millisecond
	r.send()
}

// retry sends one QoS 1 or 2 message until RocketMQ takes it or its
// client's budget is spent, backing off between attempts.
type retry struct {
	g       *Gateway
	c       *broker.Client
	m       *broker.Message
	msg     *primitive.Message
	p       mqttrmq.Publish      // what msg says
	more    []*primitive.Message // its routed copies
	ack     func(broker.ReasonCode)
	giveUp  time.Time
	backoff time.Duration
	again   bool // a send was tried before
	first   sendRequest
}

func (r *retry) send() {
	if r.again {
		// A later send is born later: it carries what is left of the
		// expiry interval, and this instance counts from now too.
		if now := time.Now(); r.g.rewriteExpiry(r.m, r.msg, now) {
			r.g.recent.put(r.m.ID, now)
		}
		// Its copies carry the message as it is now, to whoever wants
		// it now.
		r.more = r.g.dispatchTo(r.msg, r.p)
	}
	// The first attempt's request is the retry's own, which saves an
	// allocation a message; a later one's is new, since the one before
	// was answered from within the sender, which may still hold it.
	req := &r.first
	if r.again {
		req = new(sendRequest)
	}
	r.again = true
	*req = sendRequest{msg: r.msg, more: r.more, acks: r.c, stored: r.stored(), to: r}
	r.g.sender.queue(r.c.ID(), req)
}

// stored is what the sender calls once RocketMQ took the message: retain
// for a retained message, nothing otherwise.
func (r *retry) stored() func() {
	if !r.m.Retain {
		return nil
	}
	return r.retain
}

// retain keeps a retained message as its topic's here once RocketMQ took
// it — a retained message is this instance's at once — and before its
// routed copies are sent, so that whoever has a copy finds it retained
// here too.
func (r *retry) retain() { r.g.broker.Retain(r.m) }

func (r *retry) report(err error) {
	if r.g.countSend(r.c.ID(), err) {
		r.ack(broker.Success)
		r.g.metrics.uplinkAcked(r.m.QoS, r.m.Created)
		r.g.sendEnded()
		return
	}
	if errors.Is(err, errSenderClosed) || r.c.IsClosed() || time.Now().Add(r.backoff).After(r.giveUp) {
		r.g.stats.uplinkGaveUp.Add(1)
		r.ack(broker.Unacknowledged)
		r.g.sendEnded()
		return
	}
	time.AfterFunc(r.backoff, r.send)
	r.backoff = min(2*r.backoff, time.Second)
}

// countSend records the outcome of one send and reports whether RocketMQ took it.
func (g *Gateway) countSend(clientID string, err error) bool {
	g.ready.sendOutcome(err)
	if err == nil {
		g.stats.uplinkSent.Add(1)
		return true
	}
	g.stats.uplinkSendFailures.Add(1)
	g.log.Warn("RocketMQ send failed", "client", clientID, "error", err)
	return false
}

// uplinkMessage builds the RocketMQ message for a device publish, or says
// why it is refused, with the MQTT 5 reason code that says so.
func (g *Gateway) uplinkMessage(p mqttrmq.Publish) (*primitive.Message, broker.ReasonCode, error) {
	if len(p.Payload) > g.cfg.MaxPayload {
		return nil, broker.QuotaExceeded, fmt.Errorf("payload of %d bytes is over the %d-byte limit", len(p.Payload), g.cfg.MaxPayload)
	}
	if p.PayloadUTF8 && !utf8.Valid(p.Payload) {
		// The core refuses such a PUBLISH itself; a will gets here.
		return nil, broker.PayloadFormatInvalid, errors.New("the payload is declared UTF-8 and is not [MQTT-3.3.2-4]")
	}
	parent, second, err := mqttrmq.SplitTopic(p.Topic)
	if err != nil {
		return nil, broker.TopicNameInvalid, err
	}
	if !g.parents[parent] {
		return nil, broker.TopicNameInvalid, fmt.Errorf("parent topic %q is not served", parent)
	}
	if mqttrmq.IsP2PSubtopic(second) {
		if _, _, ok := mqttrmq.ParseP2PTopic(p.Topic); !ok {
			return nil, broker.TopicNameInvalid, fmt.Errorf("a P2P topic is exactly {parent}/p2p/{clientID}")
		}
	}
	msg := &primitive.Message{Body: p.Payload}
	if msg.Topic, err = g.cfg.Dialect.ToRocketMQ(p, msg); err != nil {
		if errors.Is(err, mqttrmq.ErrInvalidTopic) {
			return nil, broker.TopicNameInvalid, err
		}
		return nil, broker.ImplementationSpecificError, err
	}
	if t, ok := g.topics[msg.Topic]; ok {
		msg.Topic = t // {Namespace}%{parent}
	}
	if msg.GetTags() == "" { // the Apache dialect tags its messages itself
		msg.WithTag(g.cfg.UplinkTag)
	}
	// The client sets a message's unique key only outside a batch; the
	// gateway sets it always, so that the message has the same ID here
	// and when it comes back from RocketMQ.
	msg.WithProperty(primitive.PropertyUniqueClientMessageIdKeyIndex, g.lanes.NewMessageID())
	return msg, broker.Success, nil
}
