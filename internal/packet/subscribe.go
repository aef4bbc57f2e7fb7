package packet

import "fmt"

// Subscribe is a SUBSCRIBE packet [MQTT-3.8].
type Subscribe struct {
	PacketID   uint16
	Filters    []Subscription
	Properties Properties // MQTT 5: a subscription identifier, user properties
}

// Subscription is one filter of a SUBSCRIBE with its options
// [MQTT-3.8.3.1].
type Subscription struct {
	Filter            string
	QoS               byte
	NoLocal           bool // MQTT 5
	RetainAsPublished bool // MQTT 5
	RetainHandling    byte // MQTT 5: 0 send retained, 1 only for a new subscription, 2 never
}

// DecodeSubscribe decodes a SUBSCRIBE body. It refuses a packet without
// filters [MQTT-3.8.3-3], a QoS over 2 [MQTT-3.8.3-4], reserved option
// bits set [MQTT-3.8.3-5], and retain handling 3 [MQTT-3.8.3.1].
func DecodeSubscribe(version byte, h Header, body []byte) (*Subscribe, error) {
	if err := checkFlags(h); err != nil {
		return nil, err
	}
	r := reader{t: SUBSCRIBE, b: body}
	s := &Subscribe{PacketID: r.uint16("packet identifier")}
	if r.err == nil && s.PacketID == 0 {
		return nil, protocol(SUBSCRIBE, "packet identifier 0 [MQTT-2.2.1-3]")
	}
	if version == V5 {
		r.properties(SUBSCRIBE, &s.Properties)
	}
	for r.err == nil && len(r.b) > 0 {
		sub := Subscription{Filter: r.string("topic filter")}
		opts := r.byte("subscription options")
		if r.err != nil {
			break
		}
		sub.QoS = opts & 0x03
		if sub.QoS == 3 {
			return nil, malformed(SUBSCRIBE, "QoS 3 [MQTT-3.8.3-4]")
		}
		if version == V5 {
			sub.NoLocal = opts&0x04 != 0
			sub.RetainAsPublished = opts&0x08 != 0
			sub.RetainHandling = (opts >> 4) & 0x03
			if sub.RetainHandling == 3 {
				return nil, protocol(SUBSCRIBE, "retain handling 3 [MQTT-3.8.3.1]")
			}
			if opts&0xC0 != 0 {
				return nil, malformed(SUBSCRIBE, "reserved subscription option bits set [MQTT-3.8.3-5]")
			}
		} else if opts&0xFC != 0 {
			return nil, malformed(SUBSCRIBE, fmt.Sprintf("requested QoS byte 0x%02X has reserved bits set [MQTT-3-8.3-4]", opts))
		}
		s.Filters = append(s.Filters, sub)
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	if len(s.Filters) == 0 {
		return nil, protocol(SUBSCRIBE, "no topic filter [MQTT-3.8.3-3]")
	}
	return s, nil
}

// AppendSubscribe appends a SUBSCRIBE; a client's encoder, for tests.
func AppendSubscribe(b []byte, version byte, s *Subscribe) []byte {
	var body []byte
	body = appendUint16(body, s.PacketID)
	if version == V5 {
		body = appendProperties(body, &s.Properties)
	}
	for _, f := range s.Filters {
		body = appendString(body, f.Filter)
		opts := f.QoS
		if f.NoLocal {
			opts |= 0x04
		}
		if f.RetainAsPublished {
			opts |= 0x08
		}
		opts |= f.RetainHandling << 4
		body = append(body, opts)
	}
	return append(appendHeader(b, SUBSCRIBE, 0x02, len(body)), body...)
}

// Unsubscribe is an UNSUBSCRIBE packet [MQTT-3.10].
type Unsubscribe struct {
	PacketID   uint16
	Filters    []string
	Properties Properties
}

// DecodeUnsubscribe decodes an UNSUBSCRIBE body; it refuses one without
// filters [MQTT-3.10.3-2].
func DecodeUnsubscribe(version byte, h Header, body []byte) (*Unsubscribe, error) {
	if err := checkFlags(h); err != nil {
		return nil, err
	}
	r := reader{t: UNSUBSCRIBE, b: body}
	u := &Unsubscribe{PacketID: r.uint16("packet identifier")}
	if r.err == nil && u.PacketID == 0 {
		return nil, protocol(UNSUBSCRIBE, "packet identifier 0 [MQTT-2.2.1-3]")
	}
	if version == V5 {
		r.properties(UNSUBSCRIBE, &u.Properties)
	}
	for r.err == nil && len(r.b) > 0 {
		u.Filters = append(u.Filters, r.string("topic filter"))
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	if len(u.Filters) == 0 {
		return nil, protocol(UNSUBSCRIBE, "no topic filter [MQTT-3.10.3-2]")
	}
	return u, nil
}

// AppendSuback appends a SUBACK carrying one code per filter [MQTT-3.9].
func AppendSuback(b []byte, version byte, id uint16, codes []byte, reason string) []byte {
	return appendCodesAck(b, version, SUBACK, id, codes, reason)
}

// AppendUnsuback appends an UNSUBACK [MQTT-3.11]: MQTT 5 carries one code
// per filter, MQTT 3.1.1 none.
func AppendUnsuback(b []byte, version byte, id uint16, codes []byte) []byte {
	if version != V5 {
		return appendUint16(appendHeader(b, UNSUBACK, 0, 2), id)
	}
	return appendCodesAck(b, version, UNSUBACK, id, codes, "")
}

func appendCodesAck(b []byte, version byte, t Type, id uint16, codes []byte, reason string) []byte {
	var p Properties
	if reason != "" {
		p.ReasonString = Some(reason)
	}
	n := 2 + len(codes)
	pn := 0
	if version == V5 {
		pn = p.size()
		n += varintLen(pn) + pn
	}
	b = appendUint16(appendHeader(b, t, 0, n), id)
	if version == V5 {
		b = p.appendTo(appendVarint(b, pn))
	}
	return append(b, codes...)
}

// DecodeSuback decodes a SUBACK or UNSUBACK body; a client's decoder, for
// tests.
func DecodeSuback(version byte, h Header, body []byte) (id uint16, codes []byte, props Properties, err error) {
	r := reader{t: h.Type, b: body}
	id = r.uint16("packet identifier")
	if version == V5 {
		r.properties(h.Type, &props)
	}
	codes = r.rest()
	return id, codes, props, r.err
}
