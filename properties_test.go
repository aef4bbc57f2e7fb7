package mqttrmq_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/google/go-cmp/cmp"

	"github.com/mqttrmq/mqttrmq"
)

func TestQoSProperty(t *testing.T) {
	for _, q := range []mqttrmq.QoS{mqttrmq.AtMostOnce, mqttrmq.AtLeastOnce, mqttrmq.ExactlyOnce} {
		msg := primitive.NewMessage("a", nil)
		if err := mqttrmq.SetQoS(msg, q); err != nil {
			t.Fatalf("SetQoS(%v) = %v", q, err)
		}
		if got, err := mqttrmq.QoSOf(overTheWire(msg)); got != q || err != nil {
			t.Errorf("QoSOf(SetQoS(%v)) = %v, %v", q, got, err)
		}
	}
	msg := primitive.NewMessage("a", nil)
	if err := mqttrmq.SetQoS(msg, 3); !errors.Is(err, mqttrmq.ErrInvalidProperty) || msg.GetProperty(mqttrmq.PropQoS) != "" {
		t.Errorf("SetQoS(3) = %v, wrote %q; want ErrInvalidProperty, nothing written", err, msg.GetProperty(mqttrmq.PropQoS))
	}
	if got, err := mqttrmq.QoSOf(msg); got != mqttrmq.AtLeastOnce || err != nil {
		t.Errorf("QoSOf(absent) = %v, %v; want 1, nil (SPEC §3)", got, err)
	}
	if got := mqttrmq.QoS(7).String(); got != "QoS(7)" {
		t.Errorf("QoS(7).String() = %q", got)
	}
	if got := mqttrmq.ExactlyOnce.Downgrade(mqttrmq.AtMostOnce); got != mqttrmq.AtMostOnce {
		t.Errorf("QoS 2 to a QoS 0 subscription = %v; want 0 (SPEC §6)", got)
	}
	if got := mqttrmq.AtMostOnce.Downgrade(mqttrmq.ExactlyOnce); got != mqttrmq.AtMostOnce {
		t.Errorf("QoS 0 to a QoS 2 subscription = %v; want 0 (SPEC §6)", got)
	}
}

func TestCleanSessionProperty(t *testing.T) {
	for _, clean := range []bool{true, false} {
		msg := primitive.NewMessage("a", nil)
		mqttrmq.SetCleanSession(msg, clean)
		if got, err := mqttrmq.CleanSessionOf(overTheWire(msg)); got != clean || err != nil {
			t.Errorf("CleanSessionOf(SetCleanSession(%v)) = %v, %v", clean, got, err)
		}
	}
	if got, err := mqttrmq.CleanSessionOf(primitive.NewMessage("a", nil)); !got || err != nil {
		t.Errorf("CleanSessionOf(absent) = %v, %v; want true (SPEC §3)", got, err)
	}
}

func TestSecondTopicProperty(t *testing.T) {
	msg := primitive.NewMessage("ACE", nil)
	if err := mqttrmq.SetSecondTopic(msg, ""); err != nil || len(msg.GetProperties()) != 0 {
		t.Errorf("SetSecondTopic(\"\") on a fresh message = %v, wrote %v; want nil, nothing", err, msg.GetProperties())
	}
	if err := mqttrmq.SetSecondTopic(msg, "/live/100"); err != nil {
		t.Fatal(err)
	}
	if got := mqttrmq.SecondTopicOf(overTheWire(msg)); got != "/live/100" {
		t.Errorf("SecondTopicOf = %q", got)
	}
	for _, bad := range []string{"live", "/+", "/#", "/a\x01", "/\xff", "/p2p", "/p2p/a/b"} {
		m := primitive.NewMessage("ACE", nil)
		if err := mqttrmq.SetSecondTopic(m, bad); !errors.Is(err, mqttrmq.ErrInvalidTopic) || len(m.GetProperties()) != 0 {
			t.Errorf("SetSecondTopic(%q) = %v, wrote %v; want ErrInvalidTopic, nothing", bad, err, m.GetProperties())
		}
	}
}

func TestRealTopicProperty(t *testing.T) {
	msg := primitive.NewMessage("ACE", nil)
	if err := mqttrmq.SetRealTopic(msg, "ACE/shown"); err != nil {
		t.Fatal(err)
	}
	if got := mqttrmq.RealTopicOf(overTheWire(msg)); got != "ACE/shown" {
		t.Errorf("RealTopicOf = %q", got)
	}
	for _, bad := range []string{"a/+", "a\x02"} {
		if err := mqttrmq.SetRealTopic(primitive.NewMessage("ACE", nil), bad); !errors.Is(err, mqttrmq.ErrInvalidTopic) {
			t.Errorf("SetRealTopic(%q) = %v; want ErrInvalidTopic", bad, err)
		}
	}
	// An empty topic removes it.
	if err := mqttrmq.SetRealTopic(msg, ""); err != nil || mqttrmq.RealTopicOf(msg) != "" {
		t.Errorf("SetRealTopic(\"\") = %v, left %q; want it removed", err, mqttrmq.RealTopicOf(msg))
	}
}

// onlyProperties is a message that cannot remove a property: the
// Properties interface alone, over a map.
type onlyProperties map[string]string

func (m onlyProperties) GetProperty(k string) string { return m[k] }
func (m onlyProperties) WithProperty(k, v string) {
	if k != "" && v != "" {
		m[k] = v
	}
}

// TestSetSecondTopicEmptyRemovesIt: SetSecondTopic(m, "") refused ("cannot
// be removed") although *primitive.Message has RemoveProperty. It removes
// mqttSecondTopic now, addressing the RocketMQ topic itself, and refuses only
// a message whose type cannot remove a property.
func TestSetSecondTopicEmptyRemovesIt(t *testing.T) {
	msg := primitive.NewMessage("ACE", nil)
	if err := mqttrmq.SetSecondTopic(msg, "/live/100"); err != nil {
		t.Fatal(err)
	}
	if err := mqttrmq.SetSecondTopic(msg, ""); err != nil {
		t.Fatalf("SetSecondTopic(\"\") over /live/100 = %v; want it removed", err)
	}
	if p, err := mqttrmq.FromRocketMQ("ACE", overTheWire(msg), nil); err != nil || p.Topic != "ACE" || len(msg.GetProperties()) != 0 {
		t.Errorf("after SetSecondTopic(\"\"): FromRocketMQ = %q, %v, properties %q; want ACE and no property", p.Topic, err, msg.GetProperties())
	}
	// A P2P address goes the same way.
	if err := mqttrmq.SetP2P(msg, "GID_car@@@v1"); err != nil {
		t.Fatal(err)
	}
	if err := mqttrmq.SetSecondTopic(msg, ""); err != nil {
		t.Fatal(err)
	}
	if id, ok := mqttrmq.P2PTargetOf(msg); ok {
		t.Errorf("P2PTargetOf after SetSecondTopic(\"\") = %q; want no target", id)
	}

	// A message type without RemoveProperty cannot forget a subtopic: the
	// request is refused, not ignored.
	m := onlyProperties{}
	if err := mqttrmq.SetSecondTopic(m, ""); err != nil {
		t.Errorf("SetSecondTopic(\"\") with nothing to remove = %v", err)
	}
	if err := mqttrmq.SetSecondTopic(m, "/a"); err != nil {
		t.Fatal(err)
	}
	if err := mqttrmq.SetSecondTopic(m, ""); !errors.Is(err, mqttrmq.ErrInvalidProperty) || m[mqttrmq.PropSecondTopic] != "/a" {
		t.Errorf("SetSecondTopic(\"\") on a message that cannot remove = %v, left %q; want ErrInvalidProperty, /a", err, m[mqttrmq.PropSecondTopic])
	}
}

// TestSettersCountTheWholeMessage: a setter keeps the whole message within
// what RocketMQ carries, counting the properties already on it, so that a
// value that would fit an empty message is refused on a full one, and
// nothing is written.
func TestSettersCountTheWholeMessage(t *testing.T) {
	for name, set := range map[string]func(m mqttrmq.Properties) error{
		"SetP2P":          func(m mqttrmq.Properties) error { return mqttrmq.SetP2P(m, strings.Repeat("c", 1000)) },
		"SetSecondTopic":  func(m mqttrmq.Properties) error { return mqttrmq.SetSecondTopic(m, "/"+strings.Repeat("s", 1000)) },
		"SetRealTopic":    func(m mqttrmq.Properties) error { return mqttrmq.SetRealTopic(m, "ACE/"+strings.Repeat("r", 1000)) },
		"SetQoS":          func(m mqttrmq.Properties) error { return mqttrmq.SetQoS(m, 1) },
		"SetCleanSession": func(m mqttrmq.Properties) error { return mqttrmq.SetCleanSession(m, false) },
	} {
		if err := set(primitive.NewMessage("ACE", nil)); err != nil {
			t.Errorf("%s on an empty message = %v", name, err)
		}
		full := primitive.NewMessage("ACE", nil)
		full.WithProperty("KEYS", strings.Repeat("k", 31743-len("KEYS")-2)) // all the mapping may use
		before := full.GetProperties()
		if err := set(full); !errors.Is(err, mqttrmq.ErrInvalidProperty) {
			t.Errorf("%s on a full message = %v; want ErrInvalidProperty", name, err)
		}
		if diff := cmp.Diff(before, full.GetProperties()); diff != "" {
			t.Errorf("%s refused, yet wrote (-before +after):\n%s", name, diff)
		}
	}
	// Replacing a value counts the new one, not both.
	m := primitive.NewMessage("ACE", nil)
	m.WithProperty("KEYS", strings.Repeat("k", 31743-len("KEYS")-2-len("mqttSecondTopic")-2-1001))
	for range 3 {
		if err := mqttrmq.SetSecondTopic(m, "/"+strings.Repeat("s", 1000)); err != nil {
			t.Fatalf("SetSecondTopic over its own value = %v; want it replaced", err)
		}
	}
}
