package packet

// Publish is a PUBLISH packet [MQTT-3.3].
type Publish struct {
	Topic      string // may be "" in MQTT 5 when Properties.TopicAlias is set
	PacketID   uint16 // 0 for QoS 0
	QoS        byte
	Dup        bool
	Retain     bool
	Properties Properties
	Payload    []byte // aliases the packet when decoded
}

// DecodePublish decodes a PUBLISH of the given protocol version into p.
// It refuses QoS 3 [MQTT-3.3.1-4], DUP on QoS 0 [MQTT-3.3.1-2], a QoS 1
// or 2 publish without a packet identifier [MQTT-2.2.1-3], and a topic
// that is not a UTF-8 string; what the topic may hold beyond that (no
// wildcards [MQTT-3.3.2-2]) and what its topic alias means are the
// server's to check.
//
// A topic equal to the one p holds already is kept, not copied again: a
// server decoding each client's publishes into a Publish of the client's
// own, as a device publishes to the same topic time after time, makes
// one topic string for all of them.
func DecodePublish(version byte, h Header, body []byte, p *Publish) error {
	p.QoS = (h.Flags >> 1) & 0x03
	p.Dup = h.Flags&0x08 != 0
	p.Retain = h.Flags&0x01 != 0
	if p.QoS == 3 {
		return malformed(PUBLISH, "QoS 3 [MQTT-3.3.1-4]")
	}
	if p.QoS == 0 && p.Dup {
		return malformed(PUBLISH, "DUP set on a QoS 0 publish [MQTT-3.3.1-2]")
	}
	r := reader{t: PUBLISH, b: body}
	p.Topic = r.stringLike(p.Topic, "topic name")
	if p.QoS > 0 {
		p.PacketID = r.uint16("packet identifier")
		if r.err == nil && p.PacketID == 0 {
			return protocol(PUBLISH, "packet identifier 0 [MQTT-2.2.1-3]")
		}
	} else {
		p.PacketID = 0
	}
	p.Properties = Properties{}
	if version == V5 {
		r.properties(PUBLISH, &p.Properties)
	}
	p.Payload = r.rest()
	if r.err != nil {
		return r.err
	}
	return nil
}

// PublishSize is the length of the PUBLISH AppendPublish would write.
func PublishSize(version byte, p *Publish) int {
	n := p.remaining(version)
	return 1 + varintLen(n) + n
}

func (p *Publish) remaining(version byte) int {
	n := 2 + len(p.Topic) + len(p.Payload)
	if p.QoS > 0 {
		n += 2
	}
	if version == V5 {
		pn := p.Properties.size()
		n += varintLen(pn) + pn
	}
	return n
}

// AppendPublish appends p as a PUBLISH of the given protocol version.
func AppendPublish(b []byte, version byte, p *Publish) []byte {
	flags := p.QoS << 1
	if p.Dup {
		flags |= 0x08
	}
	if p.Retain {
		flags |= 0x01
	}
	b = appendHeader(b, PUBLISH, flags, p.remaining(version))
	b = appendString(b, p.Topic)
	if p.QoS > 0 {
		b = appendUint16(b, p.PacketID)
	}
	if version == V5 {
		b = appendProperties(b, &p.Properties)
	}
	return append(b, p.Payload...)
}
