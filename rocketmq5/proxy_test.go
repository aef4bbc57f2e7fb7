package rocketmq5_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/apache/rocketmq-clients/golang/v5/credentials"
	"github.com/google/go-cmp/cmp"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/internal/realrocketmq"
	"github.com/mqttrmq/mqttrmq/rocketmq5"
)

// TestThroughProxy sends publishes mapped by NewMessage, in both dialects,
// with the gRPC client through a real RocketMQ 5 proxy; reads them back with
// the gRPC client's simple consumer and FromRocketMQ; and reads the same
// messages from the broker as rocketmq-client-go's consumers (the gateway,
// backends on the remoting protocol) see them.
func TestThroughProxy(t *testing.T) {
	endpoint := realrocketmq.Proxy(t)
	b := realrocketmq.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const topic = "rocketmq5_vehicles"
	if err := b.ResetTopic(ctx, topic, 4); err != nil {
		t.Fatal(err)
	}

	var subs mqttrmq.FilterSet
	if err := subs.Add(topic + "/+/gps"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		dialect *mqttrmq.Dialect
		tag     string // set by the sender, for the default dialect
		p       mqttrmq.Publish
	}{
		{nil, "MQTT2MQ", mqttrmq.Publish{Topic: topic + "/telemetry/v1", QoS: 1, ClientID: "GID_car@@@v1", Payload: []byte("\x00\x01 binary \xff")}},
		{mqttrmq.AlibabaCloud, "MQ2MQTT", mqttrmq.Publish{Topic: topic + "/p2p/GID_car@@@v2", QoS: 2, PersistentSession: true, Payload: []byte("unlock"),
			UserProperties: []mqttrmq.UserProperty{{Key: "k", Value: "ü"}, {Key: "k", Value: "2"}}}},
		{mqttrmq.ApacheRocketMQMQTT.WithFilters(&subs), "", mqttrmq.Publish{Topic: topic + "/v3/gps", QoS: 1, ClientID: "GID_car@@@v3", Payload: []byte("31.2,121.5")}},
		// MQTT 5's message properties: properties in one dialect, members
		// of extData in the other.
		{nil, "MQTT2MQ", mqttrmq.Publish{Topic: topic + "/req/v4", QoS: 1, ClientID: "GID_car@@@v4", Payload: []byte(`{"q":"status ✓"}`),
			MessageExpiry: mqttrmq.ExpiresAfter(300), PayloadUTF8: true, ContentType: "application/json",
			ResponseTopic: topic + "/replies/v4", CorrelationData: []byte{0, 0xfb, 0xff}}},
		{mqttrmq.ApacheRocketMQMQTT, "", mqttrmq.Publish{Topic: topic + "/req/v5", QoS: 1, ClientID: "GID_car@@@v5", Payload: []byte("status?"),
			MessageExpiry: mqttrmq.ExpiresAfter(0), ContentType: "text/plain", ResponseTopic: topic + "/replies/v5", CorrelationData: []byte("req-5")}},
	}

	producer, err := rmq.NewProducer(&rmq.Config{Endpoint: endpoint, Credentials: &credentials.SessionCredentials{}}, rmq.WithTopics(topic))
	if err != nil {
		t.Fatal(err)
	}
	if err := producer.Start(); err != nil {
		t.Fatalf("start a producer on the proxy at %s: %v", endpoint, err)
	}
	defer producer.GracefulStop()
	want := map[string]int{} // payload → case
	for i, c := range cases {
		msg, err := rocketmq5.NewMessage(c.dialect, c.p)
		if err != nil {
			t.Fatal(err)
		}
		if c.tag != "" {
			msg.SetTag(c.tag)
		}
		if _, err := producer.Send(ctx, msg); err != nil {
			t.Fatalf("case %d: send through the proxy: %v", i, err)
		}
		want[string(c.p.Payload)] = i
	}

	sc, err := rmq.NewSimpleConsumer(&rmq.Config{Endpoint: endpoint, ConsumerGroup: fmt.Sprintf("rocketmq5_%d", time.Now().UnixNano()),
		Credentials: &credentials.SessionCredentials{}},
		rmq.WithAwaitDuration(5*time.Second),
		rmq.WithSubscriptionExpressions(map[string]*rmq.FilterExpression{topic: rmq.SUB_ALL}))
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Start(); err != nil {
		t.Fatal(err)
	}
	defer sc.GracefulStop()
	got := map[int]bool{}
	for len(got) < len(cases) && ctx.Err() == nil {
		views, err := sc.Receive(ctx, 16, 20*time.Second)
		if err != nil {
			continue // no message yet
		}
		for _, v := range views {
			i, ok := want[string(v.GetBody())]
			if !ok {
				t.Errorf("received a message no case sent: %q", v.GetBody())
				continue
			}
			c := cases[i]
			back, err := rocketmq5.FromRocketMQ(c.dialect, v)
			if err == nil {
				if back.Born.IsZero() || back.Born.After(time.Now()) || time.Since(back.Born) > time.Hour {
					t.Errorf("case %d: Born %v; want the view's born timestamp", i, back.Born)
				}
				back.Born = time.Time{}
			}
			if err != nil {
				t.Errorf("case %d: FromRocketMQ on the gRPC client's message: %v", i, err)
			} else if diff := cmp.Diff(c.p, back); diff != "" {
				t.Errorf("case %d: FromRocketMQ on the gRPC client's message (-sent +read):\n%s", i, diff)
			}
			if tag := (rocketmq5.View{V: v}).GetProperty("TAGS"); tag != cmpOr(c.tag, mqttrmq.TagMQTTCommon) {
				t.Errorf("case %d: tag %q", i, tag)
			}
			got[i] = true
			if err := sc.Ack(ctx, v); err != nil {
				t.Errorf("ack: %v", err)
			}
		}
	}
	if len(got) != len(cases) {
		t.Fatalf("the simple consumer received %d of %d messages", len(got), len(cases))
	}

	// The same messages as the remoting protocol's clients read them.
	stored, err := b.Messages(ctx, topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(cases) {
		t.Fatalf("the broker holds %d messages; want %d", len(stored), len(cases))
	}
	for _, m := range stored {
		c := cases[want[string(m.Body)]]
		back, err := c.dialect.FromRocketMQ(m.Topic, m, m.Body)
		if err == nil {
			if !back.Born.Equal(time.UnixMilli(m.BornTimestamp)) {
				t.Errorf("FromRocketMQ on the broker's copy of %q: Born %v; want its BornTimestamp %d", m.Body, back.Born, m.BornTimestamp)
			}
			back.Born = time.Time{}
		}
		if err != nil {
			t.Errorf("FromRocketMQ on the broker's copy of %q: %v", m.Body, err)
		} else if diff := cmp.Diff(c.p, back); diff != "" {
			t.Errorf("FromRocketMQ on the broker's copy (-sent +read):\n%s", diff)
		}
		if m.GetTags() != cmpOr(c.tag, mqttrmq.TagMQTTCommon) {
			t.Errorf("the broker's copy of %q has tag %q", m.Body, m.GetTags())
		}
		t.Logf("stored by the proxy: tag %q, properties %v", m.GetTags(), m.GetProperties())
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
