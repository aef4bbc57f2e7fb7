package mqttload

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

// mochiDecode decodes one packet with mochi-mqtt's codec, as an MQTT 3.1.1
// server would.
func mochiDecode(t *testing.T, wire []byte) packets.Packet {
	t.Helper()
	var fh packets.FixedHeader
	if err := fh.Decode(wire[0]); err != nil {
		t.Fatalf("fixed header %#x: %v", wire[0], err)
	}
	body := readOne(t, wire)
	fh.Remaining = len(body.Body)
	pk := packets.Packet{FixedHeader: fh, ProtocolVersion: 4}
	var err error
	switch fh.Type {
	case packets.Connect:
		err = pk.ConnectDecode(body.Body)
	case packets.Subscribe:
		err = pk.SubscribeDecode(body.Body)
	case packets.Publish:
		err = pk.PublishDecode(body.Body)
	case packets.Puback:
		err = pk.PubackDecode(body.Body)
	case packets.Pingreq, packets.Disconnect:
	default:
		t.Fatalf("unexpected type %d", fh.Type)
	}
	if err != nil {
		t.Fatalf("mochi decoding type %d: %v", fh.Type, err)
	}
	return pk
}

// readOne reads wire as exactly one packet.
func readOne(t *testing.T, wire []byte) Packet {
	t.Helper()
	r := bufio.NewReader(bytes.NewReader(wire))
	var buf []byte
	p, err := ReadPacket(r, &buf, DefaultMaxPacket)
	if err != nil {
		t.Fatalf("ReadPacket(% x): %v", wire, err)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("bytes left after one packet in % x", wire)
	}
	return p
}

func TestEncodingAgreesWithMochi(t *testing.T) {
	t.Run("CONNECT", func(t *testing.T) {
		for _, c := range []Connect{
			{ClientID: "GID_car@@@v1", KeepAlive: 90},
			{ClientID: "", Persistent: true},
			{ClientID: "d", Username: "Signature|AK|inst", Password: "c2ln", KeepAlive: 600},
		} {
			b, err := AppendConnect(nil, c)
			if err != nil {
				t.Fatal(err)
			}
			pk := mochiDecode(t, b)
			if pk.ProtocolVersion != 4 || pk.Connect.ProtocolName == nil || string(pk.Connect.ProtocolName) != "MQTT" {
				t.Errorf("%+v: protocol %q level %d; want MQTT 4", c, pk.Connect.ProtocolName, pk.ProtocolVersion)
			}
			got := Connect{ClientID: pk.Connect.ClientIdentifier, KeepAlive: pk.Connect.Keepalive, Persistent: !pk.Connect.Clean,
				Username: string(pk.Connect.Username), Password: string(pk.Connect.Password)}
			if got != c {
				t.Errorf("mochi read %+v; want %+v", got, c)
			}
			if code := pk.ConnectValidate(); code != packets.CodeSuccess {
				t.Errorf("%+v: mochi validation %v", c, code)
			}
		}
	})
	t.Run("SUBSCRIBE", func(t *testing.T) {
		b, err := AppendSubscribe(nil, 7, "vehicles/+/cmd", AtLeastOnce)
		if err != nil {
			t.Fatal(err)
		}
		pk := mochiDecode(t, b)
		if pk.PacketID != 7 || len(pk.Filters) != 1 || pk.Filters[0].Filter != "vehicles/+/cmd" || pk.Filters[0].Qos != 1 {
			t.Errorf("mochi read id %d filters %+v", pk.PacketID, pk.Filters)
		}
	})
	t.Run("PUBLISH", func(t *testing.T) {
		big := bytes.Repeat([]byte{0xa5}, 20000) // a three-byte remaining length
		for _, tc := range []struct {
			qos     QoS
			id      uint16
			payload []byte
		}{{AtMostOnce, 0, []byte("x")}, {AtLeastOnce, 65535, nil}, {AtLeastOnce, 1, big}} {
			b, err := AppendPublish(nil, "vehicles/telemetry", tc.qos, tc.id, tc.payload)
			if err != nil {
				t.Fatal(err)
			}
			pk := mochiDecode(t, b)
			if pk.TopicName != "vehicles/telemetry" || QoS(pk.FixedHeader.Qos) != tc.qos || pk.PacketID != tc.id || !bytes.Equal(pk.Payload, tc.payload) {
				t.Errorf("qos %d: mochi read topic %q qos %d id %d payload %d bytes", tc.qos, pk.TopicName, pk.FixedHeader.Qos, pk.PacketID, len(pk.Payload))
			}
		}
	})
	t.Run("PUBACK", func(t *testing.T) {
		if pk := mochiDecode(t, AppendPuback(nil, 258)); pk.PacketID != 258 {
			t.Errorf("mochi read PUBACK %d; want 258", pk.PacketID)
		}
	})
	t.Run("PINGREQ and DISCONNECT", func(t *testing.T) {
		if pk := mochiDecode(t, AppendPingreq(nil)); pk.FixedHeader.Type != packets.Pingreq {
			t.Errorf("type %d", pk.FixedHeader.Type)
		}
		if pk := mochiDecode(t, AppendDisconnect(nil)); pk.FixedHeader.Type != packets.Disconnect {
			t.Errorf("type %d", pk.FixedHeader.Type)
		}
	})
}

// TestDecodingAgreesWithMochi reads what mochi-mqtt's codec writes as a
// server.
func TestDecodingAgreesWithMochi(t *testing.T) {
	for _, tc := range []struct {
		qos     byte
		id      uint16
		payload []byte
	}{{0, 0, []byte("hello")}, {1, 9, bytes.Repeat([]byte("z"), 200)}, {1, 3, nil}} {
		pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: tc.qos}, ProtocolVersion: 4,
			TopicName: "a/b", PacketID: tc.id, Payload: tc.payload}
		var buf bytes.Buffer
		if err := pk.PublishEncode(&buf); err != nil {
			t.Fatal(err)
		}
		pub, err := ParsePublish(readOne(t, buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if string(pub.Topic) != "a/b" || pub.QoS != QoS(tc.qos) || pub.ID != tc.id || !bytes.Equal(pub.Payload, tc.payload) {
			t.Errorf("read %+v from mochi's %+v", pub, tc)
		}
	}
	ack := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, ProtocolVersion: 4, PacketID: 513}
	var buf bytes.Buffer
	if err := ack.PubackEncode(&buf); err != nil {
		t.Fatal(err)
	}
	if id, err := ParseAckID(readOne(t, buf.Bytes())); err != nil || id != 513 {
		t.Errorf("PUBACK id %d, %v; want 513", id, err)
	}
	for _, code := range []packets.Code{packets.CodeSuccess, packets.ErrBadUsernameOrPassword} {
		ca := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}, ProtocolVersion: 4, ReasonCode: code.Code}
		buf.Reset()
		if err := ca.ConnackEncode(&buf); err != nil {
			t.Fatal(err)
		}
		p := readOne(t, buf.Bytes())
		if p.Type() != TypeConnack || len(p.Body) != 2 || p.Body[1] != code.Code {
			t.Errorf("CONNACK %v read as type %d body % x", code, p.Type(), p.Body)
		}
	}
}

func TestRefusals(t *testing.T) {
	long := strings.Repeat("a", 65536)
	for name, err := range map[string]error{
		"connect long client ID":      second(AppendConnect(nil, Connect{ClientID: long})),
		"connect password only":       second(AppendConnect(nil, Connect{ClientID: "c", Password: "p"})),
		"subscribe empty filter":      second(AppendSubscribe(nil, 1, "", 0)),
		"subscribe QoS 2":             second(AppendSubscribe(nil, 1, "a", 2)),
		"subscribe packet ID 0":       second(AppendSubscribe(nil, 0, "a", 0)),
		"publish empty topic":         second(AppendPublish(nil, "", 0, 0, nil)),
		"publish long topic":          second(AppendPublish(nil, long, 0, 0, nil)),
		"publish QoS 2":               second(AppendPublish(nil, "a", 2, 1, nil)),
		"publish QoS 1 packet ID 0":   second(AppendPublish(nil, "a", 1, 0, nil)),
		"parse publish of other type": second(ParsePublish(Packet{Header: TypePuback << 4, Body: []byte{0, 1}})),
		"parse publish QoS 3":         second(ParsePublish(Packet{Header: TypePublish<<4 | 6, Body: []byte{0, 1, 'a', 0, 1}})),
		"parse publish short topic":   second(ParsePublish(Packet{Header: TypePublish << 4, Body: []byte{0, 5, 'a'}})),
		"parse publish no ID":         second(ParsePublish(Packet{Header: TypePublish<<4 | 2, Body: []byte{0, 1, 'a', 0}})),
		"parse ack short":             second(ParseAckID(Packet{Header: TypePuback << 4, Body: []byte{1}})),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}

	var buf []byte
	for name, tc := range map[string]struct {
		wire []byte
		want error
	}{
		"five-byte length": {[]byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}, ErrMalformed},
		"over the limit":   {[]byte{0x30, 0x80, 0x80, 0x01}, ErrMalformed},
		"cut length":       {[]byte{0x30, 0x80}, io.ErrUnexpectedEOF},
		"cut body":         {[]byte{0x30, 0x05, 0, 1}, io.ErrUnexpectedEOF},
		"nothing":          {nil, io.EOF},
	} {
		_, err := ReadPacket(bufio.NewReader(bytes.NewReader(tc.wire)), &buf, 1000)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v; want %v", name, err, tc.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// FuzzReadPacket feeds arbitrary bytes to the reader and the publish
// parser: they return errors, never panic, and never hand out a body
// longer than the limit.
func FuzzReadPacket(f *testing.F) {
	for _, seed := range [][]byte{
		{0x30, 0x05, 0, 1, 'a', 'x', 'y'},
		{0x32, 0x07, 0, 1, 'a', 0, 9, 'x', 'y'},
		{0x40, 0x02, 0, 1},
		{0x30, 0xff, 0xff, 0xff, 0x7f},
		{0x36, 0x03, 0, 0, 0},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, wire []byte) {
		r := bufio.NewReader(bytes.NewReader(wire))
		var buf []byte
		for {
			p, err := ReadPacket(r, &buf, 4096)
			if err != nil {
				return
			}
			if len(p.Body) > 4096 {
				t.Fatalf("body of %d bytes over the limit", len(p.Body))
			}
			if pub, err := ParsePublish(p); err == nil && len(pub.Topic)+len(pub.Payload) > len(p.Body) {
				t.Fatalf("publish %+v larger than its body", pub)
			}
			_, _ = ParseAckID(p)
		}
	})
}
