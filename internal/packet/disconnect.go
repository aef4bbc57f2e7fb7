package packet

// Disconnect is a DISCONNECT packet [MQTT-3.14]; MQTT 3.1.1's has no body.
type Disconnect struct {
	Code       byte
	Properties Properties
}

// DecodeDisconnect decodes a DISCONNECT body. In MQTT 5 a body of zero
// bytes is a normal disconnection [MQTT-3.14.2.1].
func DecodeDisconnect(version byte, h Header, body []byte) (Disconnect, error) {
	var d Disconnect
	if err := checkFlags(h); err != nil {
		return d, err
	}
	r := reader{t: DISCONNECT, b: body}
	if version == V5 && len(r.b) > 0 {
		d.Code = r.byte("reason code")
		if len(r.b) > 0 {
			r.properties(DISCONNECT, &d.Properties)
		}
	}
	return d, r.done()
}

// AppendDisconnect appends an MQTT 5 DISCONNECT with a reason code, and
// optionally a reason string and a server reference.
func AppendDisconnect(b []byte, code byte, reason, serverReference string) []byte {
	var p Properties
	if reason != "" {
		p.ReasonString = Some(reason)
	}
	if serverReference != "" {
		p.ServerReference = Some(serverReference)
	}
	n := p.size()
	b = appendHeader(b, DISCONNECT, 0, 1+varintLen(n)+n)
	b = append(b, code)
	return p.appendTo(appendVarint(b, n))
}

// AppendPingresp appends a PINGRESP [MQTT-3.13].
func AppendPingresp(b []byte) []byte { return append(b, byte(PINGRESP)<<4, 0) }

// AppendPingreq appends a PINGREQ [MQTT-3.12]; a client's encoder.
func AppendPingreq(b []byte) []byte { return append(b, byte(PINGREQ)<<4, 0) }

// CheckEmpty checks a PINGREQ: fixed flags and no body [MQTT-3.12].
func CheckEmpty(h Header, body []byte) error {
	if err := checkFlags(h); err != nil {
		return err
	}
	if len(body) != 0 {
		return malformed(h.Type, "a body where none belongs")
	}
	return nil
}

// Auth is an AUTH packet [MQTT-3.15], MQTT 5 only.
type Auth struct {
	Code       byte
	Properties Properties
}

// DecodeAuth decodes an AUTH body.
func DecodeAuth(h Header, body []byte) (Auth, error) {
	var a Auth
	if err := checkFlags(h); err != nil {
		return a, err
	}
	r := reader{t: AUTH, b: body}
	if len(r.b) > 0 {
		a.Code = r.byte("reason code")
		if len(r.b) > 0 {
			r.properties(AUTH, &a.Properties)
		}
	}
	return a, r.done()
}
