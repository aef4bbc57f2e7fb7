package packet

// Ack is a PUBACK, PUBREC, PUBREL or PUBCOMP [MQTT-3.4] - [MQTT-3.7].
type Ack struct {
	Type       Type
	PacketID   uint16
	Code       byte // the MQTT 5 reason code; 0 in MQTT 3.1.1
	Properties Properties
}

// DecodeAck decodes the body of a PUBACK, PUBREC, PUBREL or PUBCOMP. In
// MQTT 5 the reason code and properties may be left off, meaning success
// [MQTT-3.4.2.1].
func DecodeAck(version byte, h Header, body []byte) (Ack, error) {
	a := Ack{Type: h.Type}
	if err := checkFlags(h); err != nil {
		return a, err
	}
	r := reader{t: h.Type, b: body}
	a.PacketID = r.uint16("packet identifier")
	if r.err == nil && a.PacketID == 0 {
		return a, protocol(h.Type, "packet identifier 0 [MQTT-2.2.1-3]")
	}
	if version == V5 && len(r.b) > 0 {
		a.Code = r.byte("reason code")
		if len(r.b) > 0 {
			r.properties(h.Type, &a.Properties)
		}
	}
	return a, r.done()
}

// AppendAck appends a PUBACK, PUBREC, PUBREL or PUBCOMP. For MQTT 5 a
// reason code other than success, or a reason string, is written; for
// MQTT 3.1.1 neither is.
func AppendAck(b []byte, version byte, t Type, id uint16, code byte, reason string) []byte {
	flags := byte(0)
	if t == PUBREL {
		flags = 0x02 // [MQTT-3.6.1-1]
	}
	if version != V5 || (code == 0 && reason == "") {
		return appendUint16(appendHeader(b, t, flags, 2), id)
	}
	var p Properties
	if reason != "" {
		p.ReasonString = Some(reason)
	}
	n := p.size()
	b = appendHeader(b, t, flags, 3+varintLen(n)+n)
	b = append(appendUint16(b, id), code)
	b = appendVarint(b, n)
	return p.appendTo(b)
}
