package mqttrmq_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/google/go-cmp/cmp"

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
	f.Add("ACE/live/100", "GID_ace@@@dev1", byte(1), true, false)
	f.Add("ACE/a\x02TAGS\x01evil", "c", byte(1), true, false)
	f.Add("p", "c\x01", byte(0), false, true)
	f.Add("vehicles/p2p/GID_car@@@v2", "", byte(2), false, false)
	f.Fuzz(func(t *testing.T, topic, clientID string, qos byte, clean, retain bool) {
		p := mqttrmq.Publish{Topic: topic, QoS: mqttrmq.QoS(qos), ClientID: clientID, CleanSession: clean, Retain: retain}
		msg := primitive.NewMessage("", nil)
		rmqTopic, err := mqttrmq.ToRocketMQ(p, msg)
		if err != nil {
			if !errors.Is(err, mqttrmq.ErrInvalidTopic) && !errors.Is(err, mqttrmq.ErrInvalidProperty) {
				t.Fatalf("ToRocketMQ(%+v) = %v; want a sentinel", p, err)
			}
			if len(msg.GetProperties()) != 0 {
				t.Fatalf("ToRocketMQ(%+v) refused, yet wrote %v", p, msg.GetProperties())
			}
			return
		}
		sent := msg.GetProperties()
		received := overTheWire(msg)
		// Nothing injected, nothing dropped.
		if diff := cmp.Diff(sent, received.GetProperties()); diff != "" {
			t.Fatalf("ToRocketMQ(%+v) properties changed on the wire (-sent +received):\n%s", p, diff)
		}
		back, err := mqttrmq.FromRocketMQ(rmqTopic, received, nil)
		if err != nil {
			t.Fatalf("FromRocketMQ after ToRocketMQ(%+v) = %v", p, err)
		}
		if diff := cmp.Diff(p, back); diff != "" {
			t.Fatalf("round trip of %+v (-want +got):\n%s", p, diff)
		}
	})
}

// FuzzFromRocketMQ reads any properties a backend could send.
func FuzzFromRocketMQ(f *testing.F) {
	f.Add("ACE", "/live/100", "", "1", "true", "")
	f.Add("vehicles", "/p2p/GID_car@@@v1", "vehicles/cmd", "0", "false", "")
	f.Add("ACE", "a/b", "", "3", "yes", "c\x03")
	f.Fuzz(func(t *testing.T, topic, second, real, qos, clean, clientID string) {
		msg := primitive.NewMessage(topic, nil)
		msg.WithProperty(mqttrmq.PropSecondTopic, second)
		msg.WithProperty(mqttrmq.PropRealTopic, real)
		msg.WithProperty(mqttrmq.PropQoS, qos)
		msg.WithProperty(mqttrmq.PropCleanSession, clean)
		msg.WithProperty(mqttrmq.PropClientID, clientID)
		p, err := mqttrmq.FromRocketMQ(topic, overTheWire(msg), nil)
		if err != nil {
			if !errors.Is(err, mqttrmq.ErrInvalidTopic) && !errors.Is(err, mqttrmq.ErrInvalidProperty) {
				t.Fatalf("FromRocketMQ = %v; want a sentinel", err)
			}
			_ = err.Error()
			return
		}
		if err := mqttrmq.ValidateTopicName(p.Topic); err != nil {
			t.Fatalf("FromRocketMQ delivered topic %q: %v", p.Topic, err)
		}
		if !p.QoS.Valid() {
			t.Fatalf("FromRocketMQ QoS %v", p.QoS)
		}
	})
}
