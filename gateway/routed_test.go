package gateway

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq"
)

// A routed copy carries the original whole: its properties and body come
// back as they were, and its dispatch list is spread over copies that
// each fit RocketMQ's property limit.
func TestRoutedCopies(t *testing.T) {
	orig := primitive.NewMessage("vehicles", []byte("\x00binary\xffbody"))
	if _, err := mqttrmq.ToRocketMQ(mqttrmq.Publish{Topic: "vehicles/v1/gps", QoS: 1, ClientID: "GID_x@@@v1",
		UserProperties: []mqttrmq.UserProperty{{Key: "k", Value: strings.Repeat("ü", 1000)}}}, orig); err != nil {
		t.Fatal(err)
	}
	props := orig.MarshallProperties()
	var queues []string
	for i := range 3000 {
		queues = append(queues, testNamesQueue(i))
	}
	born := time.UnixMilli(1796123971827)
	copies := routedCopies("c_route", "vehicles", "MSGID", born, props, orig.Body, queues)
	if len(copies) < 2 {
		t.Fatalf("%d queues on %d copies: want them spread", len(queues), len(copies))
	}
	var listed []string
	for i, c := range copies {
		if n := len(c.MarshallProperties()); n > maxProperties {
			t.Errorf("copy %d: %d bytes of properties, over %d", i, n, maxProperties)
		}
		if n := len(c.MarshallProperties()) + dispatchCost(strings.Split(c.GetProperty(propDispatch), ",")) - len(c.GetProperty(propDispatch)); n > maxProperties {
			t.Errorf("copy %d: %d bytes once the broker writes the offsets", i, n)
		}
		listed = append(listed, strings.Split(c.GetProperty(propDispatch), ",")...)
		if c.GetProperty(propRoutedTopic) != "vehicles" || c.GetProperty(propRoutedID) != "MSGID" || c.GetProperty(propRoutedBorn) != "1796123971827" {
			t.Errorf("copy %d: %v", i, c.GetProperties())
		}
		back, err := openEnvelope(c.Body)
		if err != nil {
			t.Fatalf("copy %d: %v", i, err)
		}
		if !bytes.Equal(back.Body, orig.Body) || fmt.Sprint(back.GetProperties()) != fmt.Sprint(orig.GetProperties()) {
			t.Errorf("copy %d opens to %q %v, want %q %v", i, back.Body, back.GetProperties(), orig.Body, orig.GetProperties())
		}
	}
	if strings.Join(listed, ",") != strings.Join(queues, ",") {
		t.Errorf("the copies list %d queues, want the %d given, in order", len(listed), len(queues))
	}
}

func testNamesQueue(i int) string { return fmt.Sprintf("%%LMQ%%mqttrmq-s-%040d", i) }

// FuzzOpenEnvelope: no body makes openEnvelope panic, and what an
// envelope holds comes back out.
func FuzzOpenEnvelope(f *testing.F) {
	f.Add([]byte{}, "", []byte("body"))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "k\x01v\x02", []byte{})
	f.Fuzz(func(t *testing.T, raw []byte, props string, body []byte) {
		openEnvelope(raw)
		m, err := openEnvelope(envelope(props, body))
		if err != nil {
			t.Fatalf("an envelope of %q and %q: %v", props, body, err)
		}
		if !bytes.Equal(m.Body, body) {
			t.Fatalf("body %q, want %q", m.Body, body)
		}
	})
}
