package mqttrmq_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq"
)

var p2pTopicTests = []struct {
	parent, clientID string
	want             string
	err              error
}{
	{"vehicles", "GID_car@@@v1", "vehicles/p2p/GID_car@@@v1", nil}, // SPEC §5
	{"chat", "any-client.id", "chat/p2p/any-client.id", nil},       // SPEC §5: any client ID that is one level
	{"chat", "设备", "chat/p2p/设备", nil},
	{"", "c", "", mqttrmq.ErrInvalidTopic},          // SPEC §2: no parent
	{"a/b", "c", "", mqttrmq.ErrInvalidTopic},       // SPEC §2: a parent is one level
	{"chat", "", "", mqttrmq.ErrInvalidClientID},    // SPEC §5: a target is needed
	{"chat", "a/b", "", mqttrmq.ErrInvalidClientID}, // one level only
	{"chat", "a+", "", mqttrmq.ErrInvalidClientID},  // MQTT-3.3.2-2
	{"chat", "#", "", mqttrmq.ErrInvalidClientID},   // MQTT-3.3.2-2
	{"chat", "a\x01", "", mqttrmq.ErrInvalidClientID},
	{"chat", strings.Repeat("c", 65527), "", mqttrmq.ErrInvalidTopic}, // 65536 bytes in all
}

func TestP2PTopic(t *testing.T) {
	for _, tt := range p2pTopicTests {
		got, err := mqttrmq.P2PTopic(tt.parent, tt.clientID)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("P2PTopic(%q, %s) = %s, %v; want %q, %v", tt.parent, quoteShort(tt.clientID), quoteShort(got), err, tt.want, tt.err)
		}
		if err != nil {
			continue
		}
		parent, id, ok := mqttrmq.ParseP2PTopic(got)
		if !ok || parent != tt.parent || id != tt.clientID {
			t.Errorf("ParseP2PTopic(%q) = %q, %q, %v; want %q, %q, true", got, parent, id, ok, tt.parent, tt.clientID)
		}
	}
}

var parseP2PTests = []struct {
	topic          string
	parent, client string
	ok             bool
}{
	{"vehicles/p2p/GID_car@@@v1", "vehicles", "GID_car@@@v1", true},
	{"vehicles/p2p/", "", "", false},      // no target
	{"vehicles/p2p", "", "", false},       // no target
	{"vehicles/p2p/a/b", "", "", false},   // the target is the whole last level
	{"vehicles/P2P/a", "", "", false},     // levels are case-sensitive
	{"vehicles/x/p2p/a", "", "", false},   // p2p is the second level
	{"/p2p/a", "", "", false},             // no parent
	{"TBW102/p2p/a", "", "", false},       // system topic
	{"vehicles/p2p/a\x01", "", "", false}, // control character
	{"vehicles/p2p/+", "", "", false},     // a wildcard is no client ID
	{"vehicles", "", "", false},
}

func TestParseP2PTopic(t *testing.T) {
	for _, tt := range parseP2PTests {
		parent, client, ok := mqttrmq.ParseP2PTopic(tt.topic)
		if parent != tt.parent || client != tt.client || ok != tt.ok {
			t.Errorf("ParseP2PTopic(%q) = %q, %q, %v; want %q, %q, %v", tt.topic, parent, client, ok, tt.parent, tt.client, tt.ok)
		}
	}
}

func TestSetP2P(t *testing.T) {
	msg := primitive.NewMessage("vehicles", []byte("unlock"))
	msg.WithTag(mqttrmq.TagToMQTT)
	for _, id := range []string{"GID_car@@@v1", "GID_car@@@v2"} { // one message readdressed and resent
		if err := mqttrmq.SetP2P(msg, id); err != nil {
			t.Fatalf("SetP2P(%q) = %v", id, err)
		}
		received := overTheWire(msg)
		if got := mqttrmq.SecondTopicOf(received); got != "/p2p/"+id {
			t.Errorf("after SetP2P(%q), mqttSecondTopic = %q; want %q", id, got, "/p2p/"+id)
		}
		if got, ok := mqttrmq.P2PTargetOf(received); !ok || got != id {
			t.Errorf("P2PTargetOf after SetP2P(%q) = %q, %v", id, got, ok)
		}
		p, err := mqttrmq.FromRocketMQ("vehicles", received, nil)
		if err != nil || p.Topic != "vehicles/p2p/"+id {
			t.Errorf("FromRocketMQ after SetP2P(%q) = %q, %v; want topic vehicles/p2p/%s", id, p.Topic, err, id)
		}
	}
	// mqttRealTopic changes what the target is shown, not whom it reaches.
	if err := mqttrmq.SetRealTopic(msg, "vehicles/commands"); err != nil {
		t.Fatal(err)
	}
	if got, ok := mqttrmq.P2PTargetOf(msg); !ok || got != "GID_car@@@v2" {
		t.Errorf("P2PTargetOf with mqttRealTopic = %q, %v; want GID_car@@@v2", got, ok)
	}
	for _, bad := range []string{"", "a/b", "+", "a\x02"} {
		m := primitive.NewMessage("vehicles", nil)
		if err := mqttrmq.SetP2P(m, bad); !errors.Is(err, mqttrmq.ErrInvalidClientID) {
			t.Errorf("SetP2P(%q) = %v; want ErrInvalidClientID", bad, err)
		}
		if len(m.GetProperties()) != 0 {
			t.Errorf("SetP2P(%q) refused, yet wrote %v", bad, m.GetProperties())
		}
	}
	if _, ok := mqttrmq.P2PTargetOf(primitive.NewMessage("a", nil)); ok {
		t.Errorf("P2PTargetOf(no subtopic) = ok; want not P2P")
	}
}

func TestIsP2PSubtopic(t *testing.T) {
	for second, want := range map[string]bool{
		"/p2p/x": true, "/p2p": true, "/p2p/": true, "/p2p/a/b": true,
		"/p2px": false, "/x/p2p/a": false, "": false, "/P2P/x": false,
	} {
		if got := mqttrmq.IsP2PSubtopic(second); got != want {
			t.Errorf("IsP2PSubtopic(%q) = %v; want %v", second, got, want)
		}
	}
}
