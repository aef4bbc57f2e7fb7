package packet

import "fmt"

// UnsupportedProtocolVersion is the reason code of a CONNECT whose protocol
// level the server does not speak [MQTT-3.1.2-2]: the server answers it
// with a CONNACK (0x01 in MQTT 3.1.1, 0x84 in MQTT 5) and closes.
const UnsupportedProtocolVersion byte = 0x84

// Connect is a CONNECT packet [MQTT-3.1].
type Connect struct {
	Version    byte // V311 or V5
	CleanStart bool // clean session in MQTT 3.1.1
	KeepAlive  uint16
	ClientID   string
	Will       *Will // nil without the will flag
	Username   Opt[string]
	Password   Opt[[]byte] // aliases the packet
	Properties Properties
}

// Will is a CONNECT's will message [MQTT-3.1.2.5].
type Will struct {
	Topic      string
	Payload    []byte // aliases the packet
	QoS        byte
	Retain     bool
	Properties Properties
}

// DecodeConnect decodes the body (what follows the fixed header) of a
// CONNECT. A protocol level other than 4 or 5 is an *Error with code
// UnsupportedProtocolVersion and a Connect whose Version says which level
// was asked for, so that the server can answer in kind; every other fault
// is malformed or a protocol error, after which the server closes the
// connection without a CONNACK [MQTT-3.1.4-1].
func DecodeConnect(h Header, body []byte) (*Connect, error) {
	if err := checkFlags(h); err != nil {
		return nil, err
	}
	r := reader{t: CONNECT, b: body}
	c := &Connect{}
	name := r.string("protocol name")
	c.Version = r.byte("protocol level")
	if r.err != nil {
		return nil, r.err
	}
	switch {
	case name == "MQTT" && (c.Version == V311 || c.Version == V5):
	case name == "MQTT" || name == "MQIsdp":
		// A protocol the server does not speak: it answers 0x01 / 0x84
		// [MQTT-3.1.2-2].
		return c, &Error{CONNECT, UnsupportedProtocolVersion, fmt.Sprintf("protocol %s level %d is not MQTT 3.1.1 or 5.0 [MQTT-3.1.2-2]", name, c.Version)}
	default:
		return nil, protocol(CONNECT, fmt.Sprintf("protocol name %q is not MQTT [MQTT-3.1.2-1]", name))
	}
	flags := r.byte("connect flags")
	c.KeepAlive = r.uint16("keep alive")
	if r.err != nil {
		return nil, r.err
	}
	if flags&0x01 != 0 {
		return nil, malformed(CONNECT, "reserved connect flag set [MQTT-3.1.2-3]")
	}
	c.CleanStart = flags&0x02 != 0
	willFlag, willQoS, willRetain := flags&0x04 != 0, (flags>>3)&0x03, flags&0x20 != 0
	userFlag, passFlag := flags&0x80 != 0, flags&0x40 != 0
	switch {
	case !willFlag && (willQoS != 0 || willRetain):
		return nil, malformed(CONNECT, "will QoS or retain without the will flag [MQTT-3.1.2-11] [MQTT-3.1.2-13]")
	case willQoS == 3:
		return nil, malformed(CONNECT, "will QoS 3 [MQTT-3.1.2-12]")
	case c.Version == V311 && passFlag && !userFlag:
		return nil, malformed(CONNECT, "password without a user name [MQTT-3.1.2-22]")
	}
	if c.Version == V5 {
		r.properties(CONNECT, &c.Properties)
	}
	c.ClientID = r.string("client identifier") // [MQTT-3.1.3-4]
	if willFlag {
		w := &Will{QoS: willQoS, Retain: willRetain}
		if c.Version == V5 {
			r.properties(willProps, &w.Properties)
		}
		w.Topic = r.string("will topic")
		w.Payload = r.binary("will payload")
		c.Will = w
	}
	if userFlag {
		c.Username = Some(r.string("user name")) // [MQTT-3.1.3-11]
	}
	if passFlag {
		c.Password = Some(r.binary("password"))
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	if c.Properties.AuthData.Set && !c.Properties.AuthMethod.Set {
		return nil, protocol(CONNECT, "authentication data without a method [MQTT-3.1.2-28]")
	}
	return c, nil
}

// AppendConnect appends a CONNECT packet; a client's encoder, for tests.
func AppendConnect(b []byte, c *Connect) []byte {
	var body []byte
	body = appendString(body, "MQTT")
	body = append(body, c.Version)
	var flags byte
	if c.CleanStart {
		flags |= 0x02
	}
	if c.Will != nil {
		flags |= 0x04 | c.Will.QoS<<3
		if c.Will.Retain {
			flags |= 0x20
		}
	}
	if c.Username.Set {
		flags |= 0x80
	}
	if c.Password.Set {
		flags |= 0x40
	}
	body = append(body, flags)
	body = appendUint16(body, c.KeepAlive)
	if c.Version == V5 {
		body = appendProperties(body, &c.Properties)
	}
	body = appendString(body, c.ClientID)
	if c.Will != nil {
		if c.Version == V5 {
			body = appendProperties(body, &c.Will.Properties)
		}
		body = appendString(body, c.Will.Topic)
		body = appendBinary(body, c.Will.Payload)
	}
	if c.Username.Set {
		body = appendString(body, c.Username.V)
	}
	if c.Password.Set {
		body = appendBinary(body, c.Password.V)
	}
	return append(appendHeader(b, CONNECT, 0, len(body)), body...)
}

// AppendConnack appends a CONNACK [MQTT-3.2]: code is the MQTT 5 reason
// code, or for version V311 the 3.1.1 return code; props are written for
// MQTT 5 only.
func AppendConnack(b []byte, version byte, sessionPresent bool, code byte, props *Properties) []byte {
	var ack byte
	if sessionPresent {
		ack = 1
	}
	if version != V5 {
		return append(b, byte(CONNACK)<<4, 2, ack, code)
	}
	var p Properties
	if props != nil {
		p = *props
	}
	n := p.size()
	b = appendHeader(b, CONNACK, 0, 2+varintLen(n)+n)
	b = append(b, ack, code)
	b = appendVarint(b, n)
	return p.appendTo(b)
}

// DecodeConnack decodes a CONNACK body; a client's decoder, for tests.
func DecodeConnack(version byte, h Header, body []byte) (sessionPresent bool, code byte, props Properties, err error) {
	r := reader{t: CONNACK, b: body}
	sessionPresent = r.byte("acknowledge flags")&1 != 0
	code = r.byte("return code")
	if version == V5 {
		r.properties(CONNACK, &props)
	}
	return sessionPresent, code, props, r.done()
}
