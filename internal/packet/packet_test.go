package packet

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"unsafe"
)

// frame splits an encoded packet into its header and body.
func frame(t testing.TB, b []byte) (Header, []byte) {
	t.Helper()
	h, ok, err := ReadHeader(b)
	if err != nil || !ok {
		t.Fatalf("ReadHeader(% x) = %v, %v", b, ok, err)
	}
	if len(b) != h.Size+h.Remaining {
		t.Fatalf("packet of %d bytes; header says %d", len(b), h.Size+h.Remaining)
	}
	return h, b[h.Size:]
}

func TestConnectRoundTrip(t *testing.T) {
	for _, c := range []*Connect{
		{Version: V311, CleanStart: true, KeepAlive: 90, ClientID: "GID_car@@@v1"},
		{Version: V311, ClientID: "c", Username: Some("u"), Password: Some([]byte("p")),
			Will: &Will{Topic: "w/t", Payload: []byte("gone"), QoS: 1, Retain: true}},
		{Version: V5, CleanStart: true, ClientID: "", Password: Some([]byte{}),
			Properties: Properties{SessionExpiry: Some[uint32](60), ReceiveMaximum: Some[uint16](10), MaximumPacketSize: Some[uint32](1024),
				TopicAliasMaximum: Some[uint16](5), RequestProblemInfo: Some[byte](0), User: []UserProperty{{"a", "1"}, {"a", "2"}}},
			Will: &Will{Topic: "w", Payload: []byte{}, Properties: Properties{WillDelay: Some[uint32](5), MessageExpiry: Some[uint32](0),
				CorrelationData: Some([]byte{}), ContentType: Some("text/plain")}}},
	} {
		h, body := frame(t, AppendConnect(nil, c))
		got, err := DecodeConnect(h, body)
		if err != nil {
			t.Fatalf("DecodeConnect(%+v) = %v", c, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, c)
		}
	}
}

func TestPublishRoundTrip(t *testing.T) {
	for _, v := range []byte{V311, V5} {
		for _, p := range []Publish{
			{Topic: "a/b", Payload: []byte("x")},
			{Topic: "a", QoS: 1, PacketID: 7, Dup: true, Retain: true, Payload: []byte{}},
			{Topic: "a", QoS: 2, PacketID: 65535, Payload: make([]byte, 300)},
		} {
			if v == V5 {
				p.Properties = Properties{PayloadFormat: Some[byte](1), MessageExpiry: Some[uint32](0), ContentType: Some("c"),
					ResponseTopic: Some("r/t"), CorrelationData: Some([]byte{0, 1}), TopicAlias: Some[uint16](3),
					User: []UserProperty{{"k", "v"}}, SubscriptionIDs: []int{1, 268435455}}
			}
			b := AppendPublish(nil, v, &p)
			if len(b) != PublishSize(v, &p) {
				t.Errorf("PublishSize = %d; AppendPublish wrote %d", PublishSize(v, &p), len(b))
			}
			h, body := frame(t, b)
			var got Publish
			if err := DecodePublish(v, h, body, &got); err != nil {
				t.Fatalf("v%d DecodePublish(%+v) = %v", v, p, err)
			}
			if !reflect.DeepEqual(got, p) {
				t.Errorf("v%d round trip:\n got %+v\nwant %+v", v, got, p)
			}
		}
	}
}

func TestSubscribeRoundTrip(t *testing.T) {
	s := &Subscribe{PacketID: 9, Filters: []Subscription{
		{Filter: "a/+", QoS: 1},
		{Filter: "$share/g/b/#", QoS: 2, RetainHandling: 2},
		{Filter: "c", NoLocal: true, RetainAsPublished: true, RetainHandling: 1},
	}, Properties: Properties{SubscriptionIDs: []int{42}}}
	h, body := frame(t, AppendSubscribe(nil, V5, s))
	got, err := DecodeSubscribe(V5, h, body)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, s)
	}
}

func TestAckAndDisconnectEncoding(t *testing.T) {
	for _, c := range []struct {
		name string
		got  []byte
		want []byte
	}{
		{"3.1.1 PUBACK", AppendAck(nil, V311, PUBACK, 5, 0x87, "ignored"), []byte{0x40, 2, 0, 5}},
		{"5 PUBACK success", AppendAck(nil, V5, PUBACK, 5, 0, ""), []byte{0x40, 2, 0, 5}},                  // [MQTT-3.4.2.1]
		{"5 PUBACK refused", AppendAck(nil, V5, PUBACK, 5, 0x87, ""), []byte{0x40, 4, 0, 5, 0x87, 0}},      //
		{"PUBREL flags", AppendAck(nil, V311, PUBREL, 1, 0, ""), []byte{0x62, 2, 0, 1}},                    // [MQTT-3.6.1-1]
		{"3.1.1 CONNACK", AppendConnack(nil, V311, true, 0, nil), []byte{0x20, 2, 1, 0}},                   //
		{"5 CONNACK", AppendConnack(nil, V5, false, 0x86, nil), []byte{0x20, 3, 0, 0x86, 0}},               //
		{"3.1.1 SUBACK", AppendSuback(nil, V311, 3, []byte{1, 0x80}, "x"), []byte{0x90, 4, 0, 3, 1, 0x80}}, //
		{"5 UNSUBACK", AppendUnsuback(nil, V5, 3, []byte{0, 0x11}), []byte{0xB0, 5, 0, 3, 0, 0, 0x11}},     //
		{"3.1.1 UNSUBACK", AppendUnsuback(nil, V311, 3, []byte{0}), []byte{0xB0, 2, 0, 3}},                 //
		{"DISCONNECT", AppendDisconnect(nil, 0x8E, "", ""), []byte{0xE0, 2, 0x8E, 0}},                      //
		{"PINGRESP", AppendPingresp(nil), []byte{0xD0, 0}},                                                 //
	} {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s = % x; want % x", c.name, c.got, c.want)
		}
	}
}

// TestRefusals: every fault decodes to an error with MQTT's reason code,
// never a panic and never a packet.
func TestRefusals(t *testing.T) {
	connect := func(version byte, flags byte, rest ...byte) []byte {
		return append([]byte{0, 4, 'M', 'Q', 'T', 'T', version, flags, 0, 0}, rest...)
	}
	for _, c := range []struct {
		name  string // the rule broken
		typ   Type
		flags byte
		body  []byte
		code  byte
	}{
		{"[MQTT-3.1.2-1] protocol name", CONNECT, 0, append([]byte{0, 4, 'M', 'Q', 'T', 'X', 4, 2, 0, 0}, 0, 0), ProtocolError},
		{"[MQTT-3.1.2-2] protocol level 3", CONNECT, 0, append([]byte{0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 3, 2, 0, 0}, 0, 0), UnsupportedProtocolVersion},
		{"[MQTT-3.1.2-2] protocol level 6", CONNECT, 0, connect(6, 2, 0, 0), UnsupportedProtocolVersion},
		{"[MQTT-3.1.2-3] reserved flag", CONNECT, 0, connect(4, 3, 0, 0), MalformedPacket},
		{"[MQTT-3.1.2-11] will QoS without will", CONNECT, 0, connect(4, 0x0A, 0, 0), MalformedPacket},
		{"[MQTT-3.1.2-12] will QoS 3", CONNECT, 0, connect(4, 0x1E, 0, 0, 0, 1, 'w', 0, 0), MalformedPacket},
		{"[MQTT-3.1.2-22] password without user name", CONNECT, 0, connect(4, 0x42, 0, 0, 0, 0), MalformedPacket},
		{"[MQTT-1.5.4-2] U+0000 in client ID", CONNECT, 0, connect(4, 2, 0, 1, 0), MalformedPacket},
		{"[MQTT-1.5.4-1] invalid UTF-8 in client ID", CONNECT, 0, connect(4, 2, 0, 1, 0xFF), MalformedPacket},
		{"[MQTT-2.1.3-1] CONNECT flags", CONNECT, 1, connect(4, 2, 0, 0), MalformedPacket},
		{"truncated CONNECT", CONNECT, 0, connect(4, 2, 0, 5, 'a'), MalformedPacket},
		{"[MQTT-2.2.2-1] property given twice", CONNECT, 0, connect(5, 2, 6, 0x21, 0, 1, 0x21, 0, 1, 0, 0), ProtocolError},
		{"[MQTT-2.2.2-2] property not allowed in CONNECT", CONNECT, 0, connect(5, 2, 2, 0x23, 0, 0, 0), ProtocolError},
		{"[MQTT-3.1.2.11.3] receive maximum 0", CONNECT, 0, connect(5, 2, 3, 0x21, 0, 0, 0, 0), ProtocolError},
		{"[MQTT-3.3.1-4] QoS 3", PUBLISH, 6, []byte{0, 1, 'a', 0, 1}, MalformedPacket},
		{"[MQTT-3.3.1-2] DUP on QoS 0", PUBLISH, 8, []byte{0, 1, 'a'}, MalformedPacket},
		{"[MQTT-2.2.1-3] packet ID 0", PUBLISH, 2, []byte{0, 1, 'a', 0, 0}, ProtocolError},
		{"truncated topic", PUBLISH, 0, []byte{0, 5, 'a'}, MalformedPacket},
		{"[MQTT-3.8.1-1] SUBSCRIBE flags", SUBSCRIBE, 0, []byte{0, 1, 0, 1, 'a', 0}, MalformedPacket},
		{"[MQTT-3.8.3-3] SUBSCRIBE without filters", SUBSCRIBE, 2, []byte{0, 1}, ProtocolError},
		{"[MQTT-3.8.3-4] SUBSCRIBE QoS 3", SUBSCRIBE, 2, []byte{0, 1, 0, 1, 'a', 3}, MalformedPacket},
		{"[MQTT-3-8.3-4] 3.1.1 reserved option bits", SUBSCRIBE, 2, []byte{0, 1, 0, 1, 'a', 4}, MalformedPacket},
		{"[MQTT-3.10.3-2] UNSUBSCRIBE without filters", UNSUBSCRIBE, 2, []byte{0, 1}, ProtocolError},
		{"[MQTT-3.12] PINGREQ with a body", PINGREQ, 0, []byte{0}, MalformedPacket},
	} {
		h := Header{Type: c.typ, Flags: c.flags, Remaining: len(c.body)}
		var err error
		switch c.typ {
		case CONNECT:
			_, err = DecodeConnect(h, c.body)
		case PUBLISH:
			err = DecodePublish(V311, h, c.body, new(Publish))
		case SUBSCRIBE:
			_, err = DecodeSubscribe(V311, h, c.body)
		case UNSUBSCRIBE:
			_, err = DecodeUnsubscribe(V311, h, c.body)
		case PINGREQ:
			err = CheckEmpty(h, c.body)
		}
		var pe *Error
		if !errors.As(err, &pe) || pe.Code != c.code {
			t.Errorf("%s: err = %v; want code 0x%02X", c.name, err, c.code)
		}
	}
	// A five-byte remaining length [MQTT-1.5.5].
	if _, _, err := ReadHeader([]byte{0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}); !errors.Is(err, ErrMalformed) {
		t.Errorf("ReadHeader with a five-byte length = %v", err)
	}
	// The six-byte MQTT 5 SUBSCRIBE that panics mochi-mqtt's decoder.
	h := Header{Type: SUBSCRIBE, Flags: 2, Remaining: 6}
	if _, err := DecodeSubscribe(V5, h, []byte{0, 1, 0, 0, 1, 'a'}); !errors.Is(err, ErrMalformed) {
		t.Errorf("truncated MQTT 5 SUBSCRIBE = %v; want malformed", err)
	}
}

// TestAbsentIsNotZero: MQTT tells an absent expiry from 0, and absent
// correlation data from empty; so do the decoded properties.
func TestAbsentIsNotZero(t *testing.T) {
	decode := func(props ...byte) Properties {
		body := append([]byte{0, 1, 'a', byte(len(props))}, props...)
		var p Publish
		if err := DecodePublish(V5, Header{Type: PUBLISH, Remaining: len(body)}, body, &p); err != nil {
			t.Fatal(err)
		}
		return p.Properties
	}
	none, zero := decode(), decode(0x02, 0, 0, 0, 0, 0x09, 0, 0)
	if none.MessageExpiry.Set || none.CorrelationData.Set {
		t.Errorf("no properties read as %+v", none)
	}
	if !zero.MessageExpiry.Set || zero.MessageExpiry.V != 0 || !zero.CorrelationData.Set || zero.CorrelationData.V == nil {
		t.Errorf("expiry 0 and empty correlation data read as %+v", zero)
	}
}

// TestDecodePublishKeepsTopic: a Publish holding the topic already keeps
// its string, so that a client publishing to one topic makes it once; a
// different topic, or an invalid one, is read as without it.
func TestDecodePublishKeepsTopic(t *testing.T) {
	decode := func(p *Publish, topic string) error {
		body := append([]byte{0, byte(len(topic))}, topic...)
		return DecodePublish(V311, Header{Type: PUBLISH, Remaining: len(body)}, body, p)
	}
	var p Publish
	if err := decode(&p, "a/b"); err != nil {
		t.Fatal(err)
	}
	first := unsafe.StringData(p.Topic)
	if err := decode(&p, "a/b"); err != nil || unsafe.StringData(p.Topic) != first {
		t.Errorf("the same topic again: %q at %p, %v; want the first string, %p", p.Topic, unsafe.StringData(p.Topic), err, first)
	}
	if err := decode(&p, "a/c"); err != nil || p.Topic != "a/c" {
		t.Errorf("another topic: %q, %v; want a/c", p.Topic, err)
	}
	if err := decode(&p, "a\x00"); !errors.Is(err, ErrMalformed) {
		t.Errorf("a topic holding U+0000 after a valid one: %v; want malformed [MQTT-1.5.4-2]", err)
	}
}
