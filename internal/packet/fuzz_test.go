package packet

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzDecode: no input panics a decoder, every refusal is an *Error with
// MQTT's reason code, and what decodes encodes back to what decodes the
// same.
func FuzzDecode(f *testing.F) {
	f.Add(byte(5), AppendConnect(nil, &Connect{Version: V5, ClientID: "c", Will: &Will{Topic: "w", Payload: []byte("x")}}))
	f.Add(byte(4), AppendConnect(nil, &Connect{Version: V311, CleanStart: true, ClientID: "c", Username: Some("u")}))
	f.Add(byte(5), AppendPublish(nil, V5, &Publish{Topic: "a/b", QoS: 1, PacketID: 1, Payload: []byte("p"),
		Properties: Properties{MessageExpiry: Some[uint32](9), User: []UserProperty{{"k", "v"}}}}))
	f.Add(byte(5), AppendSubscribe(nil, V5, &Subscribe{PacketID: 1, Filters: []Subscription{{Filter: "a/#", QoS: 2, NoLocal: true}}}))
	f.Add(byte(4), []byte{0x82, 6, 0, 1, 0, 1, 'a', 1})
	f.Add(byte(5), []byte{0x40, 4, 0, 1, 0x87, 0})
	f.Add(byte(5), []byte{0xE0, 2, 0x04, 0})
	f.Add(byte(5), []byte{0xA2, 5, 0, 1, 0, 1, 'a'})
	f.Fuzz(func(t *testing.T, version byte, b []byte) {
		v := V311
		if version%2 == 1 {
			v = V5
		}
		h, ok, err := ReadHeader(b)
		if err != nil || !ok || h.Size+h.Remaining > len(b) {
			return
		}
		body := b[h.Size : h.Size+h.Remaining]
		check := func(err error) bool {
			if err == nil {
				return true
			}
			pe, isErr := err.(*Error)
			if !isErr || (pe.Code != MalformedPacket && pe.Code != ProtocolError && pe.Code != UnsupportedProtocolVersion) {
				t.Fatalf("%s: error %v is not a packet.Error with an MQTT code", h.Type, err)
			}
			return false
		}
		switch h.Type {
		case CONNECT:
			c, err := DecodeConnect(h, body)
			if check(err) {
				h2, body2 := frame(t, AppendConnect(nil, c))
				c2, err := DecodeConnect(h2, body2)
				if err != nil || !reflect.DeepEqual(c, c2) {
					t.Fatalf("CONNECT re-encoded: %+v, %v; want %+v", c2, err, c)
				}
			}
		case PUBLISH:
			var p Publish
			if check(DecodePublish(v, h, body, &p)) {
				h2, body2 := frame(t, AppendPublish(nil, v, &p))
				var p2 Publish
				if err := DecodePublish(v, h2, body2, &p2); err != nil || !reflect.DeepEqual(p, p2) || !bytes.Equal(p.Payload, p2.Payload) {
					t.Fatalf("PUBLISH re-encoded: %+v, %v; want %+v", p2, err, p)
				}
			}
		case PUBACK, PUBREC, PUBREL, PUBCOMP:
			_, err := DecodeAck(v, h, body)
			check(err)
		case SUBSCRIBE:
			s, err := DecodeSubscribe(v, h, body)
			if check(err) {
				h2, body2 := frame(t, AppendSubscribe(nil, v, s))
				s2, err := DecodeSubscribe(v, h2, body2)
				if err != nil || !reflect.DeepEqual(s, s2) {
					t.Fatalf("SUBSCRIBE re-encoded: %+v, %v; want %+v", s2, err, s)
				}
			}
		case UNSUBSCRIBE:
			_, err := DecodeUnsubscribe(v, h, body)
			check(err)
		case DISCONNECT:
			_, err := DecodeDisconnect(v, h, body)
			check(err)
		case AUTH:
			_, err := DecodeAuth(h, body)
			check(err)
		case PINGREQ:
			check(CheckEmpty(h, body))
		}
	})
}
