package mqttload

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Packet types, the high nibble of a packet's first byte [MQTT 3.1.1 §2.2.1].
const (
	TypeConnect    byte = 1
	TypeConnack    byte = 2
	TypePublish    byte = 3
	TypePuback     byte = 4
	TypeSubscribe  byte = 8
	TypeSuback     byte = 9
	TypePingreq    byte = 12
	TypePingresp   byte = 13
	TypeDisconnect byte = 14
)

// QoS is an MQTT quality of service level. This package sends and
// receives 0 and 1.
type QoS byte

// The levels this package speaks.
const (
	AtMostOnce  QoS = 0
	AtLeastOnce QoS = 1
)

// maxRemainingLength is the largest remaining length the four-byte
// variable-length encoding can carry [MQTT 3.1.1 §2.2.3].
const maxRemainingLength = 268_435_455

// ErrMalformed is what every decoding refusal unwraps to.
var ErrMalformed = errors.New("mqttload: malformed packet")

// Packet is one packet as read: its first byte and the bytes after the
// remaining length. Body aliases the reader's buffer and is valid only until
// the next read on the same connection.
type Packet struct {
	Header byte
	Body   []byte
}

// Type returns the packet type, such as TypePublish.
func (p Packet) Type() byte { return p.Header >> 4 }

// Publish is a decoded PUBLISH. Topic and Payload alias the packet's body.
type Publish struct {
	Topic   []byte
	QoS     QoS
	ID      uint16 // 0 at QoS 0
	Payload []byte
}

// ParsePublish decodes a PUBLISH packet [MQTT 3.1.1 §3.3]. It refuses, with
// an error wrapping ErrMalformed, a packet of another type, QoS 3, a topic
// length running past the body, and a QoS 1 or 2 publish without room for
// its packet identifier.
func ParsePublish(p Packet) (Publish, error) {
	if p.Type() != TypePublish {
		return Publish{}, fmt.Errorf("%w: packet type %d is not PUBLISH", ErrMalformed, p.Type())
	}
	qos := QoS(p.Header>>1) & 3
	if qos == 3 {
		return Publish{}, fmt.Errorf("%w: PUBLISH with QoS 3", ErrMalformed)
	}
	b := p.Body
	if len(b) < 2 {
		return Publish{}, fmt.Errorf("%w: PUBLISH of %d bytes has no topic length", ErrMalformed, len(b))
	}
	n := int(binary.BigEndian.Uint16(b))
	if len(b) < 2+n {
		return Publish{}, fmt.Errorf("%w: PUBLISH topic of %d bytes in a body of %d", ErrMalformed, n, len(b))
	}
	pub := Publish{Topic: b[2 : 2+n], QoS: qos}
	b = b[2+n:]
	if qos > 0 {
		if len(b) < 2 {
			return Publish{}, fmt.Errorf("%w: QoS %d PUBLISH without a packet identifier", ErrMalformed, qos)
		}
		pub.ID = binary.BigEndian.Uint16(b)
		b = b[2:]
	}
	pub.Payload = b
	return pub, nil
}

// ParseAckID returns the packet identifier of a PUBACK or SUBACK, the first
// two bytes of its body. It refuses a shorter body, wrapping ErrMalformed.
func ParseAckID(p Packet) (uint16, error) {
	if len(p.Body) < 2 {
		return 0, fmt.Errorf("%w: packet type %d of %d bytes has no packet identifier", ErrMalformed, p.Type(), len(p.Body))
	}
	return binary.BigEndian.Uint16(p.Body), nil
}

// ReadPacket reads one packet from r, keeping its body in *buf (grown as
// needed, reused across calls). It refuses, wrapping ErrMalformed, a
// remaining length longer than four bytes or larger than limit; it returns
// io.ErrUnexpectedEOF for a packet cut short and io.EOF for a stream that
// ends between packets.
func ReadPacket(r *bufio.Reader, buf *[]byte, limit int) (Packet, error) {
	h, err := r.ReadByte()
	if err != nil {
		return Packet{}, err
	}
	n, err := readRemainingLength(r)
	if err != nil {
		return Packet{}, err
	}
	if n > limit {
		return Packet{}, fmt.Errorf("%w: packet type %d of %d bytes is over the limit of %d", ErrMalformed, h>>4, n, limit)
	}
	if cap(*buf) < n {
		*buf = make([]byte, n, max(n, 2*cap(*buf)))
	}
	body := (*buf)[:n]
	if _, err := io.ReadFull(r, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Packet{}, err
	}
	return Packet{Header: h, Body: body}, nil
}

func readRemainingLength(r *bufio.Reader) (int, error) {
	n, shift := 0, 0
	for i := 0; ; i++ {
		if i == 4 {
			return 0, fmt.Errorf("%w: remaining length longer than 4 bytes", ErrMalformed)
		}
		b, err := r.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		n |= int(b&0x7f) << shift
		if b&0x80 == 0 {
			return n, nil
		}
		shift += 7
	}
}

// appendRemainingLength appends n in MQTT's variable-length encoding.
func appendRemainingLength(b []byte, n int) []byte {
	for {
		d := byte(n & 0x7f)
		n >>= 7
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// Connect is what a CONNECT says [MQTT 3.1.1 §3.1].
type Connect struct {
	ClientID string
	// KeepAlive is the keep-alive interval in seconds; 0 turns it off
	// (some servers refuse that).
	KeepAlive uint16
	// Persistent asks for a persistent session (clean session 0); the
	// zero value asks for a clean one.
	Persistent bool
	Username   string // sent when not empty
	Password   string // sent when not empty, and only with a username [MQTT-3.1.2-22]
}

// errString refuses a string MQTT cannot frame (over 65,535 bytes).
func errString(what, s string) error {
	if len(s) > 0xffff {
		return fmt.Errorf("mqttload: %s of %d bytes is over MQTT's 65535", what, len(s))
	}
	return nil
}

// AppendConnect appends a CONNECT packet for c. It refuses a client ID,
// username or password over 65,535 bytes, and a password without a
// username.
func AppendConnect(b []byte, c Connect) ([]byte, error) {
	for _, f := range []struct{ what, s string }{{"client ID", c.ClientID}, {"username", c.Username}, {"password", c.Password}} {
		if err := errString(f.what, f.s); err != nil {
			return b, err
		}
	}
	if c.Password != "" && c.Username == "" {
		return b, errors.New("mqttload: a password needs a username in MQTT 3.1.1 [MQTT-3.1.2-22]")
	}
	var flags byte
	if !c.Persistent {
		flags |= 0x02
	}
	n := 10 + 2 + len(c.ClientID)
	if c.Username != "" {
		flags |= 0x80
		n += 2 + len(c.Username)
	}
	if c.Password != "" {
		flags |= 0x40
		n += 2 + len(c.Password)
	}
	b = append(b, TypeConnect<<4)
	b = appendRemainingLength(b, n)
	b = appendString(b, "MQTT")
	b = append(b, 4, flags) // protocol level 4: MQTT 3.1.1
	b = binary.BigEndian.AppendUint16(b, c.KeepAlive)
	b = appendString(b, c.ClientID)
	if c.Username != "" {
		b = appendString(b, c.Username)
	}
	if c.Password != "" {
		b = appendString(b, c.Password)
	}
	return b, nil
}

// AppendSubscribe appends a SUBSCRIBE of one filter [MQTT 3.1.1 §3.8].
// It refuses an empty filter, one over 65,535 bytes, a QoS above 1 and
// packet identifier 0 [MQTT-2.3.1-1].
func AppendSubscribe(b []byte, id uint16, filter string, qos QoS) ([]byte, error) {
	switch {
	case filter == "":
		return b, errors.New("mqttload: empty topic filter [MQTT-4.7.3-1]")
	case qos > AtLeastOnce:
		return b, fmt.Errorf("mqttload: subscription QoS %d: this client speaks 0 and 1", qos)
	case id == 0:
		return b, errors.New("mqttload: packet identifier 0 [MQTT-2.3.1-1]")
	}
	if err := errString("topic filter", filter); err != nil {
		return b, err
	}
	b = append(b, TypeSubscribe<<4|0x02) // [MQTT-3.8.1-1]
	b = appendRemainingLength(b, 2+2+len(filter)+1)
	b = binary.BigEndian.AppendUint16(b, id)
	b = appendString(b, filter)
	return append(b, byte(qos)), nil
}

// AppendPublish appends a PUBLISH [MQTT 3.1.1 §3.3]; id is sent at QoS 1
// only. It refuses an empty topic, one over 65,535 bytes, a QoS above 1,
// packet identifier 0 at QoS 1, and a packet too large for MQTT.
func AppendPublish(b []byte, topic string, qos QoS, id uint16, payload []byte) ([]byte, error) {
	switch {
	case topic == "":
		return b, errors.New("mqttload: empty topic name [MQTT-4.7.3-1]")
	case qos > AtLeastOnce:
		return b, fmt.Errorf("mqttload: publish QoS %d: this client speaks 0 and 1", qos)
	case qos > 0 && id == 0:
		return b, errors.New("mqttload: packet identifier 0 [MQTT-2.3.1-1]")
	}
	if err := errString("topic name", topic); err != nil {
		return b, err
	}
	n := 2 + len(topic) + len(payload)
	if qos > 0 {
		n += 2
	}
	if n > maxRemainingLength {
		return b, fmt.Errorf("mqttload: PUBLISH of %d bytes is over MQTT's %d", n, maxRemainingLength)
	}
	b = append(b, TypePublish<<4|byte(qos)<<1)
	b = appendRemainingLength(b, n)
	b = appendString(b, topic)
	if qos > 0 {
		b = binary.BigEndian.AppendUint16(b, id)
	}
	return append(b, payload...), nil
}

// AppendPuback appends a PUBACK for packet identifier id [MQTT 3.1.1 §3.4].
func AppendPuback(b []byte, id uint16) []byte {
	return append(b, TypePuback<<4, 2, byte(id>>8), byte(id))
}

// AppendPingreq appends a PINGREQ [MQTT 3.1.1 §3.12].
func AppendPingreq(b []byte) []byte { return append(b, TypePingreq<<4, 0) }

// AppendDisconnect appends a DISCONNECT [MQTT 3.1.1 §3.14].
func AppendDisconnect(b []byte) []byte { return append(b, TypeDisconnect<<4, 0) }
