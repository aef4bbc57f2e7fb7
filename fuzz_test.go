package mqttrmq_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mqttrmq/mqttrmq"
)

// The fuzz targets hold the package's promises for any input: no panic, a
// refusal wraps the right sentinel, and what is accepted round-trips. Seeds
// live in testdata/fuzz; run one with, for example,
//
//	go test -run '^$' -fuzz FuzzSplitJoin -fuzztime 60s .

func FuzzSplitJoin(f *testing.F) {
	for _, c := range []string{"ACE/live/100", "p", "p//a/", "/a", "p/\x01", "p/+", "\xff/a"} {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, topic string) {
		parent, second, err := mqttrmq.SplitTopic(topic)
		if err != nil {
			if !errors.Is(err, mqttrmq.ErrInvalidTopic) {
				t.Fatalf("SplitTopic(%q) = %v; want ErrInvalidTopic", topic, err)
			}
			_ = err.Error()
			return
		}
		if second != "" && second[0] != '/' {
			t.Fatalf("SplitTopic(%q) second = %q; want a leading '/'", topic, second)
		}
		if err := mqttrmq.ValidateParentTopic(parent); err != nil {
			t.Fatalf("SplitTopic(%q) parent %q: %v", topic, parent, err)
		}
		joined, err := mqttrmq.JoinTopic(parent, second)
		if err != nil || joined != topic {
			t.Fatalf("JoinTopic(SplitTopic(%q)) = %q, %v", topic, joined, err)
		}
		if err := mqttrmq.ValidateTopicName(topic); err != nil {
			t.Fatalf("SplitTopic accepted %q, ValidateTopicName refused: %v", topic, err)
		}
		if strings.ContainsAny(topic, "\x00\x01\x02+#") {
			t.Fatalf("SplitTopic accepted %q", topic)
		}
	})
}

// naiveMatch is MQTT 3.1.1 §4.7 written the obvious way, as a second opinion
// for MatchTopic. It assumes a valid, unshared filter and a valid topic.
func naiveMatch(filter, topic string) bool {
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	f, t := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, level := range f {
		if level == "#" {
			return true
		}
		if i >= len(t) || (level != "+" && level != t[i]) {
			return false
		}
	}
	return len(f) == len(t)
}

func FuzzFilterMatch(f *testing.F) {
	for _, c := range matchTests {
		f.Add(c.filter, c.topic)
	}
	f.Fuzz(func(t *testing.T, filter, topic string) {
		got := mqttrmq.MatchTopic(filter, topic)
		ferr := mqttrmq.ValidateTopicFilter(filter)
		terr := mqttrmq.ValidateTopicName(topic)
		if ferr != nil && !errors.Is(ferr, mqttrmq.ErrInvalidFilter) {
			t.Fatalf("ValidateTopicFilter(%q) = %v; want ErrInvalidFilter", filter, ferr)
		}
		if ferr != nil || terr != nil {
			if got {
				t.Fatalf("MatchTopic(%q, %q) = true with invalid input (%v, %v)", filter, topic, ferr, terr)
			}
			return
		}
		inner := filter
		if rest, ok := strings.CutPrefix(filter, "$share/"); ok {
			_, inner, _ = strings.Cut(rest, "/")
		}
		if want := naiveMatch(inner, topic); got != want {
			t.Fatalf("MatchTopic(%q, %q) = %v; the naive matcher says %v", filter, topic, got, want)
		}
		// A topic name is a filter that matches itself, unless it reads as a
		// shared subscription.
		if !strings.HasPrefix(topic, "$share/") && !mqttrmq.MatchTopic(topic, topic) {
			t.Fatalf("MatchTopic(%q, itself) = false", topic)
		}
	})
}

func FuzzParseClientID(f *testing.F) {
	for _, c := range clientIDTests {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := mqttrmq.ParseClientID(s)
		if err != nil {
			if !errors.Is(err, mqttrmq.ErrInvalidClientID) || id != (mqttrmq.ClientID{}) {
				t.Fatalf("ParseClientID(%q) = %+v, %v", s, id, err)
			}
			_ = err.Error()
			return
		}
		if id.String() != s || len(s) > 64 || id.Validate() != nil {
			t.Fatalf("ParseClientID(%q) = %+v", s, id)
		}
		// A valid client ID is always a valid P2P target.
		if _, err := mqttrmq.P2PTopic("p", s); err != nil {
			t.Fatalf("P2PTopic(p, %q) = %v", s, err)
		}
	})
}

// FuzzPropertiesWire maps any publish onto a message, sends the properties
// through rocketmq-client-go's wire form, and maps them back.
func FuzzPropertiesWire(f *testing.F) {
	f.Add("ACE/live/100", "GID_ace@@@dev1", byte(1), true, false, uint32(0), byte(0), "", "", []byte(nil))
	f.Add("ACE/a\x02TAGS\x01evil", "c", byte(1), true, false, uint32(0), byte(0), "", "", []byte(nil))
	f.Add("p", "c\x01", byte(0), false, true, uint32(0), byte(0), "", "", []byte(nil))
	f.Add("vehicles/p2p/GID_car@@@v2", "", byte(2), false, false, uint32(0), byte(0), "", "", []byte(nil))
	f.Add("vehicles/cmd", "GID_car@@@app", byte(1), true, false, uint32(30), byte(3), "application/json", "vehicles/replies/app", []byte{0, 0xff, 0xfb})
	f.Add("vehicles/cmd", "", byte(1), true, false, uint32(0), byte(5), "text\x01", "vehicles/+", []byte{})
	m := mapper{"", mqttrmq.ToRocketMQ, mqttrmq.FromRocketMQ}
	f.Fuzz(func(t *testing.T, topic, clientID string, qos byte, clean, retain bool, expiry uint32, flags byte, contentType, responseTopic string, correlation []byte) {
		p := mqttrmq.Publish{Topic: topic, QoS: mqttrmq.QoS(qos), ClientID: clientID, PersistentSession: !clean, Retain: retain}
		withMQTT5(&p, expiry, flags, contentType, responseTopic, correlation)
		mapOverTheWire(t, m, p, mqttrmq.ErrInvalidTopic, mqttrmq.ErrInvalidProperty)
		// No message at all, typed or not, is refused whatever the rest.
		for _, n := range nilMessages {
			checkNilRefused(t, n.name, n.m, topic, clientID, mqttrmq.QoS(qos))
		}
	})
}

// withMQTT5 gives p the MQTT 5 message properties a fuzz target drew:
// flags bit 0 sets the interval expiry, bit 1 declares the payload UTF-8,
// bit 2 makes the payload one that is not. Empty correlation data is none,
// as RocketMQ carries it.
func withMQTT5(p *mqttrmq.Publish, expiry uint32, flags byte, contentType, responseTopic string, correlation []byte) {
	if flags&1 != 0 {
		p.MessageExpiry = mqttrmq.ExpiresAfter(expiry)
	}
	p.PayloadUTF8 = flags&2 != 0
	if flags&4 != 0 {
		p.Payload = []byte("\xff")
	}
	p.ContentType, p.ResponseTopic = contentType, responseTopic
	if len(correlation) > 0 {
		p.CorrelationData = correlation
	}
}

// mapOverTheWire maps p onto a message with m and, when that is accepted,
// sends the message through rocketmq-client-go's wire form and maps it
// back. A refusal must wrap one of the sentinels and write nothing; what is
// accepted must cross the wire unchanged, nothing injected and nothing
// dropped, and come back as p. It returns the RocketMQ topic and the
// message as received, or ok false for a refusal.
func mapOverTheWire(t *testing.T, m mapper, p mqttrmq.Publish, sentinels ...error) (topic string, received *primitive.MessageExt, ok bool) {
	t.Helper()
	msg := primitive.NewMessage("", p.Payload)
	topic, err := m.to(p, msg)
	if err != nil {
		if !slices.ContainsFunc(sentinels, func(s error) bool { return errors.Is(err, s) }) {
			t.Fatalf("%sToRocketMQ(%+v) = %v; want an error wrapping one of %v", m.name, p, err, sentinels)
		}
		if len(msg.GetProperties()) != 0 {
			t.Fatalf("%sToRocketMQ(%+v) refused, yet wrote %v", m.name, p, msg.GetProperties())
		}
		_ = err.Error()
		return "", nil, false
	}
	received = overTheWire(msg)
	if diff := cmp.Diff(msg.GetProperties(), received.GetProperties()); diff != "" {
		t.Fatalf("%sToRocketMQ(%+v) properties changed on the wire (-sent +received):\n%s", m.name, p, diff)
	}
	back, err := m.from(topic, received, p.Payload)
	if err != nil {
		t.Fatalf("%sFromRocketMQ after ToRocketMQ(%+v) = %v", m.name, p, err)
	}
	if diff := cmp.Diff(p, back); diff != "" {
		t.Fatalf("%s round trip of %+v (-want +got):\n%s", m.name, p, diff)
	}
	return topic, received, true
}

// checkDelivered holds what FromRocketMQ promises whatever a message
// holds: a refusal wraps ErrInvalidTopic or ErrInvalidProperty, and what
// is accepted can be delivered over MQTT, with a valid topic name, a valid
// QoS and user properties free of the bytes RocketMQ's encoding uses.
func checkDelivered(t *testing.T, call string, p mqttrmq.Publish, err error) (ok bool) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, mqttrmq.ErrInvalidTopic) && !errors.Is(err, mqttrmq.ErrInvalidProperty) {
			t.Fatalf("%s = %v; want a sentinel", call, err)
		}
		_ = err.Error()
		return false
	}
	if err := mqttrmq.ValidateTopicName(p.Topic); err != nil {
		t.Fatalf("%s delivered topic %q: %v", call, p.Topic, err)
	}
	if !p.QoS.Valid() {
		t.Fatalf("%s delivered QoS %v", call, p.QoS)
	}
	for _, up := range p.UserProperties {
		if strings.ContainsAny(up.Key+up.Value, "\x00\x01\x02") {
			t.Fatalf("%s delivered user property %q", call, up)
		}
	}
	// The MQTT 5 message properties are what a PUBLISH can carry.
	if !utf8.ValidString(p.ContentType) || strings.ContainsAny(p.ContentType, "\x00\x01\x02") || len(p.ContentType) > 65535 {
		t.Fatalf("%s delivered Content Type %q", call, p.ContentType)
	}
	if p.ResponseTopic != "" && mqttrmq.ValidateTopicName(p.ResponseTopic) != nil {
		t.Fatalf("%s delivered Response Topic %q", call, p.ResponseTopic)
	}
	if len(p.CorrelationData) > 65535 || p.CorrelationData != nil && len(p.CorrelationData) == 0 {
		t.Fatalf("%s delivered %d bytes of Correlation Data (nil %v)", call, len(p.CorrelationData), p.CorrelationData == nil)
	}
	if p.PayloadUTF8 && !utf8.Valid(p.Payload) {
		t.Fatalf("%s delivered a payload declared UTF-8 that is not: %q", call, p.Payload)
	}
	return true
}

// checkOneReading holds that a message has one reading: both dialects read
// it alike, and when it is accepted P2PTargetOf names the client its address
// is the P2P topic of, the topic it is delivered on but for mqttRealTopic.
func checkOneReading(t *testing.T, topic string, msg *primitive.Message) {
	t.Helper()
	received := overTheWire(msg)
	p, err := mqttrmq.FromRocketMQ(topic, received, nil)
	for _, d := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
		dp, derr := d.FromRocketMQ(topic, received, nil)
		if (err == nil) != (derr == nil) || !cmp.Equal(p, dp, cmpopts.EquateEmpty()) {
			t.Fatalf("FromRocketMQ(%q) = %+v, %v; %v.FromRocketMQ = %+v, %v: two readings", msg.GetProperties(), p, err, d, dp, derr)
		}
		id, ok := d.P2PTargetOf(received)
		if pid, pok := mqttrmq.P2PTargetOf(received); id != pid || ok != pok {
			t.Fatalf("%v.P2PTargetOf(%q) = %q, %v; the package-level one says %q, %v", d, msg.GetProperties(), id, ok, pid, pok)
		}
	}
	if err != nil {
		return
	}
	// The address: the same message without mqttRealTopic, in either place
	// (removing extData removes no disagreement, so it is read too).
	bare := primitive.NewMessage(topic, nil)
	for k, v := range msg.GetProperties() {
		bare.WithProperty(k, v)
	}
	bare.RemoveProperty(mqttrmq.PropRealTopic)
	bare.RemoveProperty(mqttrmq.PropExtData)
	addr, err := mqttrmq.FromRocketMQ(topic, overTheWire(bare), nil)
	if err != nil {
		t.Fatalf("FromRocketMQ(%q) accepted, without mqttRealTopic refused: %v", msg.GetProperties(), err)
	}
	_, want, wantOK := mqttrmq.ParseP2PTopic(addr.Topic)
	if got, ok := mqttrmq.P2PTargetOf(received); got != want || ok != wantOK {
		t.Fatalf("message %q is addressed to %q, yet P2PTargetOf = %q, %v", msg.GetProperties(), addr.Topic, got, ok)
	}
}

// FuzzFromRocketMQ reads any properties a backend could send.
func FuzzFromRocketMQ(f *testing.F) {
	f.Add("ACE", "/live/100", "", "1", "true", "", "", "", "", "", "")
	f.Add("vehicles", "/p2p/GID_car@@@v1", "vehicles/cmd", "0", "false", "", "", "", "", "", "")
	f.Add("ACE", "a/b", "", "3", "yes", "c\x03", "", "", "", "", "")
	f.Add("vehicles", "/p2p/GID_car@@@v1", "", "1", "", "", "60", "1", "text/plain", "vehicles/replies/b", "cmVxdWVzdA==")
	f.Add("vehicles", "", "", "", "", "", "007", "2", "a\x01", "v/#", "AB==")
	f.Fuzz(func(t *testing.T, topic, second, real, qos, clean, clientID, expiry, format, contentType, responseTopic, correlation string) {
		msg := primitive.NewMessage(topic, nil)
		msg.WithProperty(mqttrmq.PropSecondTopic, second)
		msg.WithProperty(mqttrmq.PropRealTopic, real)
		msg.WithProperty(mqttrmq.PropQoS, qos)
		msg.WithProperty(mqttrmq.PropCleanSession, clean)
		msg.WithProperty(mqttrmq.PropClientID, clientID)
		msg.WithProperty(mqttrmq.PropMessageExpiry, expiry)
		msg.WithProperty(mqttrmq.PropPayloadFormat, format)
		msg.WithProperty(mqttrmq.PropContentType, contentType)
		msg.WithProperty(mqttrmq.PropResponseTopic, responseTopic)
		msg.WithProperty(mqttrmq.PropCorrelationData, correlation)
		p, err := mqttrmq.FromRocketMQ(topic, overTheWire(msg), nil)
		if err == nil {
			// Each reader reads what FromRocketMQ read.
			checkMQTT5Readers(t, overTheWire(msg), p)
		}
		checkDelivered(t, "FromRocketMQ", p, err)
		checkOneReading(t, topic, msg)
		for _, n := range nilMessages {
			checkNilRefused(t, n.name, n.m, topic+second, second, mqttrmq.AtMostOnce)
		}
	})
}

// FuzzSetters readdresses a message with any sequence of setters of either
// dialect (each byte of ops picks one and its argument), starting from what
// either dialect's ToRocketMQ writes or from nothing. A refusal wraps a
// sentinel and writes nothing; after every setter accepted, the message has
// one reading, which says what was set, within what RocketMQ carries.
func FuzzSetters(f *testing.F) {
	f.Add(byte(0), "vehicles/v1/gps", "GID_car@@@v1", "\x00\x02\x04\x06\x08\x0a\x0c\x0e")
	f.Add(byte(1), "vehicles/v1/gps", "GID_car@@@v1", "\x01\x03\x05\x07\x09\x0b\x0d\x0f")
	f.Add(byte(2), "t/a/b", "/p2p/x", "\x0e\x0f\x04\x05\x02")
	f.Add(byte(1), "t/a", "t/a/", "\x04\x05\x08\x09")
	f.Add(byte(0), "t", "k", "\x1c\x1d\x0c\x0d\x3c")
	f.Add(byte(1), "vehicles/replies/b1", "text/plain", "\x10\x13\x34\x15\x36\x17\x38\x19")
	f.Add(byte(0), "vehicles/+", "\x00\xff", "\x11\x12\x14\x34\x16\x39\x18")
	dialects := [...]*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT}
	f.Fuzz(func(t *testing.T, start byte, topic, s string, ops string) {
		msg := primitive.NewMessage("p", []byte("x"))
		if start < 2 {
			p := mqttrmq.Publish{Topic: topic, QoS: 1, ClientID: "GID_car@@@v1", UserProperties: []mqttrmq.UserProperty{{Key: "k", Value: "v"}}}
			rmq, err := dialects[start].ToRocketMQ(p, msg)
			if err != nil {
				return
			}
			msg.Topic = rmq
		}
		if len(ops) > 8 {
			ops = ops[:8]
		}
		for _, op := range []byte(ops) {
			d := dialects[op&1]
			flag := op&0x10 != 0
			arg := s
			if op&0x20 != 0 {
				arg = topic
			}
			before := msg.GetProperties()
			var call string
			var err error
			var check func(p mqttrmq.Publish, m mqttrmq.Properties) bool
			switch (op >> 1) % 13 {
			case 0:
				q := mqttrmq.QoS(op>>4) % 4
				call, err = "SetQoS", d.SetQoS(msg, q)
				check = func(p mqttrmq.Publish, _ mqttrmq.Properties) bool { return p.QoS == q }
			case 1:
				call, err = "SetCleanSession", d.SetCleanSession(msg, flag)
				check = func(p mqttrmq.Publish, _ mqttrmq.Properties) bool { return p.PersistentSession == !flag }
			case 2:
				var rmq string
				call = "SetTopic"
				if rmq, err = d.SetTopic(msg, arg); err == nil {
					msg.Topic = rmq
				}
				_, id, isP2P := mqttrmq.ParseP2PTopic(arg)
				check = func(_ mqttrmq.Publish, m mqttrmq.Properties) bool {
					got, ok := mqttrmq.P2PTargetOf(m)
					return got == id && ok == isP2P
				}
			case 3:
				call, err = "SetP2P", d.SetP2P(msg, arg)
				check = func(_ mqttrmq.Publish, m mqttrmq.Properties) bool {
					got, ok := mqttrmq.P2PTargetOf(m)
					return ok && got == arg
				}
			case 4:
				if !flag {
					arg = ""
				}
				call, err = "SetRealTopic", d.SetRealTopic(msg, arg)
				check = func(p mqttrmq.Publish, _ mqttrmq.Properties) bool { return arg == "" || p.Topic == arg }
			case 5:
				call, err = "SetRetain", d.SetRetain(msg, flag)
				check = func(p mqttrmq.Publish, _ mqttrmq.Properties) bool { return p.Retain == flag }
			case 6:
				var props []mqttrmq.UserProperty
				if flag {
					props = []mqttrmq.UserProperty{{Key: s, Value: topic}, {Key: "k", Value: s}}
				}
				call, err = "SetUserProperties", d.SetUserProperties(msg, props)
				check = func(p mqttrmq.Publish, _ mqttrmq.Properties) bool {
					return cmp.Equal(p.UserProperties, props, cmpopts.EquateEmpty())
				}
			case 7:
				call, err = "SetSecondTopic", mqttrmq.SetSecondTopic(msg, arg)
				check = func(_ mqttrmq.Publish, m mqttrmq.Properties) bool {
					got, ok := mqttrmq.P2PTargetOf(m)
					want, wantOK := "", false
					if rest, isP2P := strings.CutPrefix(arg, "/p2p/"); isP2P {
						want, wantOK = rest, true
					}
					return got == want && ok == wantOK
				}
			case 8:
				var e mqttrmq.Expiry
				if flag {
					e = mqttrmq.ExpiresAfter(uint32(len(arg)) * uint32(op))
				}
				call, err = "SetMessageExpiry", d.SetMessageExpiry(msg, e)
				check = func(p mqttrmq.Publish, _ mqttrmq.Properties) bool { return p.MessageExpiry == e }
			case 9:
				// The body "x" is UTF-8, so either is what it says.
				call, err = "SetPayloadUTF8", d.SetPayloadUTF8(msg, flag)
				check = func(p mqttrmq.Publish, _ mqttrmq.Properties) bool { return p.PayloadUTF8 == flag }
			case 10:
				if !flag {
					arg = ""
				}
				call, err = "SetContentType", d.SetContentType(msg, arg)
				check = func(p mqttrmq.Publish, _ mqttrmq.Properties) bool { return p.ContentType == arg }
			case 11:
				if !flag {
					arg = ""
				}
				call, err = "SetResponseTopic", d.SetResponseTopic(msg, arg)
				check = func(p mqttrmq.Publish, _ mqttrmq.Properties) bool { return p.ResponseTopic == arg }
			case 12:
				data := []byte(arg)
				if !flag {
					data = nil
				}
				call, err = "SetCorrelationData", d.SetCorrelationData(msg, data)
				check = func(p mqttrmq.Publish, _ mqttrmq.Properties) bool {
					return string(p.CorrelationData) == string(data) && (p.CorrelationData == nil) == (len(data) == 0)
				}
			}
			call = d.String() + "." + call
			if err != nil {
				if !errors.Is(err, mqttrmq.ErrInvalidTopic) && !errors.Is(err, mqttrmq.ErrInvalidProperty) && !errors.Is(err, mqttrmq.ErrInvalidClientID) {
					t.Fatalf("%s = %v; want a sentinel", call, err)
				}
				if diff := cmp.Diff(before, msg.GetProperties()); diff != "" {
					t.Fatalf("%s refused (%v), yet wrote (-before +after):\n%s", call, err, diff)
				}
				_ = err.Error()
				continue
			}
			if n := len(msg.MarshallProperties()); n > 32767-1024 {
				t.Fatalf("after %s the properties take %d bytes; the mapping keeps to %d", call, n, 32767-1024)
			}
			received := overTheWire(msg)
			p, err := mqttrmq.FromRocketMQ(msg.Topic, received, msg.Body)
			if err != nil {
				t.Fatalf("after %s: FromRocketMQ(%q, %q) = %v; a setter must leave a message with one reading", call, msg.Topic, msg.GetProperties(), err)
			}
			checkMQTT5Readers(t, received, p)
			if !check(p, received) {
				t.Fatalf("after %s: FromRocketMQ(%q, %q) = %+v, P2PTargetOf %v: not what was set", call, msg.Topic, msg.GetProperties(), p, fmt.Sprint(mqttrmq.P2PTargetOf(received)))
			}
			checkOneReading(t, msg.Topic, msg)
		}
	})
}
