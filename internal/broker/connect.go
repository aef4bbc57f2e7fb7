package broker

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/mqttrmq/mqttrmq/internal/packet"
)

// onConnect handles the first packet of a connection.
func (c *Client) onConnect(h packet.Header, body []byte) error {
	s := c.srv
	start := time.Now()
	cp, err := packet.DecodeConnect(h, body)
	if err != nil {
		var pe *packet.Error
		if errors.As(err, &pe) && pe.Code == packet.UnsupportedProtocolVersion {
			// [MQTT-3.1.2-2]: answered in MQTT 3.1.1's form, which every
			// version reads, then closed.
			s.stats.refuse(refConnack, UnsupportedProtocolVersion)
			s.event("connection refused", "client", "", "remote", c.RemoteAddr().String(), "transport", c.kind.String(), "code", UnsupportedProtocolVersion, "reason", pe.Reason)
			s.opts.Observer.ConnectHandled(c.kind, UnsupportedProtocolVersion, time.Since(start))
			c.write(packet.AppendConnack(nil, packet.V311, false, v3BadProtocolVersion, nil))
			return errClose
		}
		// [MQTT-3.1.4-1]: a malformed CONNECT closes the connection
		// without a CONNACK.
		return c.protocolFault(err)
	}
	c.version = cp.Version
	// refuse answers with a refusal; reason is "" for a hook's, which
	// the hook logs itself, knowing why.
	refuse := func(code ReasonCode, reason string) error {
		s.stats.refuse(refConnack, code)
		// Observed before the CONNACK is queued: a client that has read
		// its CONNACK finds it counted.
		s.opts.Observer.ConnectHandled(c.kind, code, time.Since(start))
		if reason != "" {
			s.event("connection refused", "client", cp.ClientID, "remote", c.RemoteAddr().String(), "transport", c.kind.String(), "code", code, "reason", reason)
		}
		if c.version == packet.V5 {
			var p packet.Properties
			if reason != "" && !(cp.Properties.RequestProblemInfo.Set && cp.Properties.RequestProblemInfo.V == 0) {
				p.ReasonString = packet.Some(reason)
			}
			if ref := s.drainRef.Load(); ref != nil && (code == UseAnotherServer || code == ServerMoved) {
				p.ServerReference = packet.Some(*ref) // [MQTT-4.11]
			}
			c.write(packet.AppendConnack(nil, packet.V5, false, byte(code), &p)) // [MQTT-3.2.2-6]
		} else {
			c.write(packet.AppendConnack(nil, packet.V311, false, v3ConnackCode(code), nil)) // [MQTT-3.2.2-5]
		}
		return errClose
	}
	if s.closing.Load() {
		code := ServerUnavailable
		if c.version == packet.V5 && s.drainRef.Load() != nil {
			code = s.drainCode // go there instead [MQTT-4.11]
		}
		return refuse(code, "the server is shutting down")
	}
	props := &cp.Properties
	if props.AuthMethod.Set {
		// Enhanced authentication is not offered [MQTT-4.12.0-1].
		return refuse(BadAuthenticationMethod, "no authentication method is supported")
	}

	// The client ID: one the client chose, or one the server assigns to a
	// client that has no session to keep [MQTT-3.1.3-6] [MQTT-3.1.3-8].
	id, assigned := cp.ClientID, false
	if id == "" {
		if c.version == packet.V311 && !cp.CleanStart {
			return refuse(ClientIdentifierNotValid, "an empty client ID needs clean session 1 [MQTT-3.1.3-8]")
		}
		id, assigned = s.assignClientID(), true
	}

	// The will must be a publishable topic [MQTT-3.1.2-9].
	if w := cp.Will; w != nil {
		if code := checkTopicName(w.Topic); code != Success {
			return refuse(code, "will topic: "+code.String())
		}
		if rt := w.Properties.ResponseTopic; rt.Set && checkTopicName(rt.V) != Success {
			return c.protocolFault(fmt.Errorf("will response topic %q is not a topic name [MQTT-3.1.3-11]", rt.V))
		}
	}

	c.id = id
	c.username = cp.Username.V
	c.keepAlive = cp.KeepAlive
	if c.version == packet.V5 {
		if props.ReceiveMaximum.Set {
			c.recvMax = props.ReceiveMaximum.V
		}
		if props.MaximumPacketSize.Set {
			c.maxPacket = props.MaximumPacketSize.V
		}
		c.aliasMax = props.TopicAliasMaximum.V
		c.noProblem = props.RequestProblemInfo.Set && props.RequestProblemInfo.V == 0
		if ska := s.opts.ServerKeepAlive; ska > 0 && (c.keepAlive == 0 || c.keepAlive > ska) {
			c.keepAlive = ska // [MQTT-3.2.2-21]
		}
	}
	if code := s.hooks.Authenticate(c, cp.Username.V, cp.Password.V); code != Success {
		return refuse(code, "")
	}

	// How long the session outlives the connection.
	var expiry time.Duration
	switch {
	case c.version == packet.V311 && !cp.CleanStart:
		expiry = s.opts.MaxSessionExpiry
	case c.version == packet.V5 && props.SessionExpiry.Set:
		expiry = time.Duration(props.SessionExpiry.V) * time.Second
		if props.SessionExpiry.V == math.MaxUint32 || expiry > s.opts.MaxSessionExpiry {
			expiry = s.opts.MaxSessionExpiry
		}
	}
	c.persistent = expiry > 0
	c.expiry = expiry
	if w := cp.Will; w != nil {
		c.will = willMessage(c, w)
		c.willDelay = w.Properties.WillDelay.V
	}

	var ack packet.Properties
	if c.version == packet.V5 {
		ack.ReceiveMaximum = packet.Some(s.opts.ReceiveMaximum)
		ack.MaximumPacketSize = packet.Some(s.opts.MaxPacketSize)
		ack.TopicAliasMaximum = packet.Some(s.opts.TopicAliasMaximum)
		ack.RetainAvailable = packet.Some[byte](1)
		ack.WildcardSubs = packet.Some[byte](1)
		ack.SubIDs = packet.Some[byte](1)
		ack.SharedSubs = packet.Some[byte](1)
		if assigned {
			ack.AssignedClientID = packet.Some(id) // [MQTT-3.2.2-16]
		}
		if ska := s.opts.ServerKeepAlive; ska > 0 && c.keepAlive == ska && cp.KeepAlive != ska {
			ack.ServerKeepAlive = packet.Some(ska) // [MQTT-3.2.2.3.14]
		}
		if props.SessionExpiry.Set && time.Duration(props.SessionExpiry.V)*time.Second != expiry && props.SessionExpiry.V != math.MaxUint32 {
			ack.SessionExpiry = packet.Some(uint32(expiry / time.Second)) // [MQTT-3.2.2.3.2]
		}
	}

	c.connected = true
	old, err := s.attach(c, cp.CleanStart, expiry, &ack, start)
	if err != nil {
		return err
	}
	if old != nil {
		// [MQTT-3.1.4-2] [MQTT-3.1.4-3]: the connection holding this
		// client ID closes; its will goes as its own Closed decides.
		s.stats.takeovers.Add(1)
		go old.disconnect(SessionTakenOver, "another connection took over this client ID")
	}
	s.stats.connects.Add(1)
	s.stats.connected.Add(1)
	if c.keepAlive > 0 {
		s.deadlines.watch(c, time.Duration(c.keepAlive)*1500*time.Millisecond) // in place of the connect timeout
	}
	s.event("client connected", "client", id, "remote", c.RemoteAddr().String(), "transport", c.kind.String(), "version", c.version, "persistent", c.persistent, "keepalive", c.keepAlive)
	s.hooks.Connected(c)
	return nil
}

// maxQoS is the highest QoS the broker serves.
const maxQoS = 2

// checkTopicName checks a topic a client publishes to, as MQTT does
// [MQTT-4.7.3-1] [MQTT-3.3.2-2]: not empty, no wildcard. The hooks check
// what the program they serve adds.
func checkTopicName(topic string) ReasonCode {
	if topic == "" || strings.ContainsAny(topic, "+#") {
		return TopicNameInvalid
	}
	return Success
}

// willMessage is the message a will publishes.
func willMessage(c *Client, w *packet.Will) *Message {
	return &Message{
		Topic:      w.Topic,
		Payload:    append([]byte(nil), w.Payload...),
		QoS:        w.QoS,
		Retain:     w.Retain,
		Origin:     c.id,
		Properties: messageProperties(&w.Properties),
	}
}

// messageProperties carries a PUBLISH's (or will's) message properties
// onto a Message.
func messageProperties(p *packet.Properties) Properties {
	mp := Properties{
		PayloadFormat: p.PayloadFormat.V,
		MessageExpiry: p.MessageExpiry.V,
		HasExpiry:     p.MessageExpiry.Set,
		ContentType:   p.ContentType.V,
		ResponseTopic: p.ResponseTopic.V,
	}
	if p.CorrelationData.Set {
		mp.CorrelationData = append([]byte{}, p.CorrelationData.V...)
	}
	if len(p.User) > 0 {
		mp.User = make([]UserProperty, len(p.User))
		for i, u := range p.User {
			mp.User[i] = UserProperty{u.Key, u.Value}
		}
	}
	return mp
}
