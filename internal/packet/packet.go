package packet

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Type is a control packet type [MQTT-2.1.2].
type Type byte

// The control packet types.
const (
	CONNECT     Type = 1
	CONNACK     Type = 2
	PUBLISH     Type = 3
	PUBACK      Type = 4
	PUBREC      Type = 5
	PUBREL      Type = 6
	PUBCOMP     Type = 7
	SUBSCRIBE   Type = 8
	SUBACK      Type = 9
	UNSUBSCRIBE Type = 10
	UNSUBACK    Type = 11
	PINGREQ     Type = 12
	PINGRESP    Type = 13
	DISCONNECT  Type = 14
	AUTH        Type = 15
)

var typeNames = [...]string{"reserved", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
	"SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", byte(t))
}

// Protocol versions [MQTT-3.1.2.2].
const (
	V311 byte = 4
	V5   byte = 5
)

// MaxRemainingLength is the largest remaining length a fixed header can
// hold [MQTT-2.2.3].
const MaxRemainingLength = 268_435_455

// Reason codes this package reports faults with [MQTT-2.4].
const (
	MalformedPacket byte = 0x81
	ProtocolError   byte = 0x82
)

// Error is a fault in a packet: what was being decoded, why, and the reason
// code MQTT 5 gives it (MalformedPacket or ProtocolError). It unwraps to
// ErrMalformed or ErrProtocol.
type Error struct {
	Packet Type   // the packet being decoded
	Code   byte   // MalformedPacket or ProtocolError
	Reason string // what is wrong, citing the rule
}

func (e *Error) Error() string {
	return fmt.Sprintf("mqtt %s: %s", e.Packet, e.Reason)
}

// Unwrap returns ErrMalformed or ErrProtocol.
func (e *Error) Unwrap() error {
	if e.Code == ProtocolError {
		return ErrProtocol
	}
	return ErrMalformed
}

// The sentinels every *Error unwraps to.
var (
	ErrMalformed = errors.New("malformed packet")
	ErrProtocol  = errors.New("protocol error")
)

func malformed(t Type, reason string) *Error { return &Error{t, MalformedPacket, reason} }
func protocol(t Type, reason string) *Error  { return &Error{t, ProtocolError, reason} }

// Header is a packet's fixed header [MQTT-2.1].
type Header struct {
	Type      Type
	Flags     byte // the low four bits of the first byte
	Remaining int  // the length of the rest of the packet
	Size      int  // the length of the fixed header itself
}

// ReadHeader reads the fixed header at the start of b. It returns ok false
// when b does not hold a whole header yet, and an error for a remaining
// length longer than four bytes [MQTT-1.5.5] or a packet type 0. The
// flags are checked by the decoder of each packet.
func ReadHeader(b []byte) (h Header, ok bool, err error) {
	if len(b) < 2 {
		return h, false, nil
	}
	h.Type = Type(b[0] >> 4)
	h.Flags = b[0] & 0x0F
	mult := 1
	for i := 1; i < 5; i++ {
		if i >= len(b) {
			return h, false, nil
		}
		h.Remaining += int(b[i]&0x7F) * mult
		if b[i]&0x80 == 0 {
			h.Size = i + 1
			if h.Type == 0 {
				return h, false, malformed(h.Type, "packet type 0 is reserved [MQTT-2.1.2]")
			}
			return h, true, nil
		}
		mult *= 128
	}
	return h, false, malformed(h.Type, "remaining length longer than four bytes [MQTT-1.5.5]")
}

// checkFlags checks the fixed header's flags of every packet but PUBLISH,
// which are fixed [MQTT-2.1.3-1].
func checkFlags(h Header) error {
	want := byte(0)
	switch h.Type {
	case PUBREL, SUBSCRIBE, UNSUBSCRIBE:
		want = 0x02 // [MQTT-3.6.1-1] [MQTT-3.8.1-1] [MQTT-3.10.1-1]
	case PUBLISH:
		return nil
	}
	if h.Flags != want {
		return malformed(h.Type, fmt.Sprintf("fixed header flags 0x%X, want 0x%X [MQTT-2.1.3-1]", h.Flags, want))
	}
	return nil
}

// reader reads the fields of one packet's variable header and payload,
// remembering the first fault: after one, every read returns zero values.
type reader struct {
	t   Type
	b   []byte
	err *Error
}

func (r *reader) fail(e *Error) {
	if r.err == nil {
		r.err = e
	}
	r.b = nil
}

func (r *reader) short(what string) {
	r.fail(malformed(r.t, what+" runs past the end of the packet"))
}

func (r *reader) byte(what string) byte {
	if len(r.b) < 1 {
		r.short(what)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) uint16(what string) uint16 {
	if len(r.b) < 2 {
		r.short(what)
		return 0
	}
	v := uint16(r.b[0])<<8 | uint16(r.b[1])
	r.b = r.b[2:]
	return v
}

func (r *reader) uint32(what string) uint32 {
	if len(r.b) < 4 {
		r.short(what)
		return 0
	}
	v := uint32(r.b[0])<<24 | uint32(r.b[1])<<16 | uint32(r.b[2])<<8 | uint32(r.b[3])
	r.b = r.b[4:]
	return v
}

// varint reads a variable byte integer [MQTT-1.5.5].
func (r *reader) varint(what string) int {
	v, mult := 0, 1
	for i := 0; i < 4; i++ {
		if len(r.b) < 1 {
			r.short(what)
			return 0
		}
		c := r.b[0]
		r.b = r.b[1:]
		v += int(c&0x7F) * mult
		if c&0x80 == 0 {
			return v
		}
		mult *= 128
	}
	r.fail(malformed(r.t, what+": variable byte integer longer than four bytes [MQTT-1.5.5]"))
	return 0
}

// binary reads two-byte-length-prefixed binary data [MQTT-1.5.6]; the
// result aliases the packet.
func (r *reader) binary(what string) []byte {
	n := int(r.uint16(what))
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.short(what)
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// string reads a UTF-8 string [MQTT-1.5.4], copied: valid UTF-8 with no
// U+0000 [MQTT-1.5.4-1] [MQTT-1.5.4-2].
func (r *reader) string(what string) string {
	b := r.binary(what)
	if r.err != nil {
		return ""
	}
	if !validString(b) {
		r.fail(malformed(r.t, what+" is not a valid UTF-8 string [MQTT-1.5.4-1] [MQTT-1.5.4-2]"))
		return ""
	}
	return string(b)
}

// stringLike is string, returning prev itself when the string read
// equals it (prev was read and checked before).
func (r *reader) stringLike(prev, what string) string {
	b := r.binary(what)
	if r.err != nil {
		return ""
	}
	if prev != "" && string(b) == prev {
		return prev
	}
	if !validString(b) {
		r.fail(malformed(r.t, what+" is not a valid UTF-8 string [MQTT-1.5.4-1] [MQTT-1.5.4-2]"))
		return ""
	}
	return string(b)
}

// validString reports whether b is a well-formed MQTT UTF-8 string: valid
// UTF-8 (which excludes surrogates) without U+0000.
func validString(b []byte) bool {
	for _, c := range b {
		if c == 0 {
			return false
		}
	}
	return utf8.Valid(b)
}

// rest returns what is left, aliased.
func (r *reader) rest() []byte {
	v := r.b
	r.b = nil
	return v
}

// done checks that nothing is left over.
func (r *reader) done() error {
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return malformed(r.t, fmt.Sprintf("%d bytes after the last field", len(r.b)))
	}
	return nil
}

// The writers below append one field to b.

func appendUint16(b []byte, v uint16) []byte { return append(b, byte(v>>8), byte(v)) }

func appendUint32(b []byte, v uint32) []byte {
	return append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func appendVarint(b []byte, v int) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if v > 0 {
			c |= 0x80
		}
		b = append(b, c)
		if v == 0 {
			return b
		}
	}
}

func appendString(b []byte, s string) []byte {
	b = appendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func appendBinary(b []byte, v []byte) []byte {
	b = appendUint16(b, uint16(len(v)))
	return append(b, v...)
}

// varintLen is the length of v as a variable byte integer.
func varintLen(v int) int {
	switch {
	case v < 128:
		return 1
	case v < 16384:
		return 2
	case v < 2097152:
		return 3
	default:
		return 4
	}
}

// appendHeader appends a fixed header for a packet of the given type,
// flags and remaining length.
func appendHeader(b []byte, t Type, flags byte, remaining int) []byte {
	return appendVarint(append(b, byte(t)<<4|flags), remaining)
}
