package gateway_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	paho5 "github.com/eclipse/paho.golang/paho"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/gateway"
)

// TestMQTT5Properties: the MQTT 5 message properties of a device's publish
// reach RocketMQ, where a backend reads them, and reach MQTT 5 subscribers
// on another instance unaltered, the expiry less the time the message
// waited [MQTT-3.3.2-6] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17]
// [MQTT-3.3.2-20] [MQTT-3.3.2-4]. A backend's request reaches its target
// with the properties its setters wrote, and the device's answer on the
// response topic carries the correlation data back: request/response
// through RocketMQ, in both dialects.
func TestMQTT5Properties(t *testing.T) {
	onBoth(t, func(t *testing.T, s rocketMQ) {
		for _, d := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
			t.Run(d.String(), func(t *testing.T) { mqtt5Properties(t, s, d) })
		}
	})
}

func mqtt5Properties(t *testing.T, s rocketMQ, d *mqttrmq.Dialect) {
	a := startGateway(t, s, func(c *gateway.Config) { c.Dialect = d })
	b := startGateway(t, s, func(c *gateway.Config) { c.Dialect = d })
	tag := gateway.UplinkTag
	if d.Is(mqttrmq.ApacheRocketMQMQTT) {
		tag = mqttrmq.TagMQTTCommon
	}
	reader := collect(t, s, "vehicles", tag)
	be := newBackend(t, s)

	sub := connect5(t, b, &paho5.Connect{ClientID: "GID_car@@@sub", CleanStart: true})
	sub.subscribe(t, "vehicles/req/#", 1)
	old := connect(t, b, "GID_car@@@old") // MQTT 3.1.1: no properties to get
	old.mustSubscribe(t, "vehicles/req/#", 1)
	knows(t, a, "vehicles/req/v1", "", 1) // b's inbox: the directory has the subscriptions

	// A device's request: every property there is.
	correlation := []byte{0x00, 0xff, 'i', 'd', 0xfb}
	user := paho5.UserProperties{{Key: "a", Value: "1"}, {Key: "a", Value: "2"}, {Key: "ünï", Value: ""}}
	if d.Is(mqttrmq.ApacheRocketMQMQTT) {
		user = user[1:] // extData, a JSON object, holds one value per key
	}
	wantUser := make([]mqttrmq.UserProperty, len(user))
	for i, u := range user {
		wantUser[i] = mqttrmq.UserProperty{Key: u.Key, Value: u.Value}
	}
	pub := connect5(t, a, &paho5.Connect{ClientID: "GID_car@@@app", CleanStart: true})
	if code := pub.publish(t, &paho5.Publish{Topic: "vehicles/req/v1", QoS: 1, Payload: []byte(`{"op":"ping","✓":1}`),
		Properties: &paho5.PublishProperties{PayloadFormat: ptr(byte(1)), MessageExpiry: ptr(uint32(120)),
			ContentType: "application/json", ResponseTopic: "vehicles/replies/GID_car@@@app", CorrelationData: correlation, User: user}}); code != 0 {
		t.Fatalf("PUBACK %#x", code)
	}

	// RocketMQ holds them, in the dialect's places.
	m := reader.wait(t, 1)[0]
	p, err := d.FromRocketMQ(m.Topic, m, m.Body)
	if err != nil {
		t.Fatalf("FromRocketMQ(%q) = %v", m.GetProperties(), err)
	}
	want := mqttrmq.Publish{Topic: "vehicles/req/v1", QoS: 1, ClientID: "GID_car@@@app", Payload: m.Body, UserProperties: wantUser,
		MessageExpiry: mqttrmq.ExpiresAfter(120), PayloadUTF8: true, ContentType: "application/json",
		ResponseTopic: "vehicles/replies/GID_car@@@app", CorrelationData: correlation, Born: p.Born}
	if !equalPublish(p, want) {
		t.Errorf("backend read %+v; want %+v", p, want)
	}
	if d.Is(mqttrmq.AlibabaCloud) {
		if got := m.GetProperty(mqttrmq.PropCorrelationData); got != "AP9pZPs=" {
			t.Errorf("mqtt5CorrelationData = %q", got)
		}
	} else if ext := m.GetProperty(mqttrmq.PropExtData); !strings.Contains(ext, `"mqtt5ResponseTopic":"vehicles/replies/GID_car@@@app"`) {
		t.Errorf("extData = %s; want the response topic in it", ext)
	}
	if !p.Born.After(time.Now().Add(-time.Minute)) || p.Born.After(time.Now()) {
		t.Errorf("Born = %v; want when the gateway sent it", p.Born)
	}

	// The MQTT 5 subscriber on the other instance gets them unaltered.
	got := sub.next(t)
	gp := props(got)
	if got.Topic != "vehicles/req/v1" || gp.PayloadFormat == nil || *gp.PayloadFormat != 1 || gp.ContentType != "application/json" ||
		gp.ResponseTopic != "vehicles/replies/GID_car@@@app" || !bytes.Equal(gp.CorrelationData, correlation) {
		t.Errorf("subscriber got %s with %+v", got.Topic, gp)
	}
	if gp.MessageExpiry == nil || *gp.MessageExpiry == 0 || *gp.MessageExpiry > 120 {
		t.Errorf("subscriber got Message Expiry Interval %v; want 1 to 120", gp.MessageExpiry)
	}
	if !slices.Equal(gp.User, user) {
		t.Errorf("subscriber got user properties %v; want %v", gp.User, user)
	}
	if got := old.next(t); got.Topic != "vehicles/req/v1" || got.Payload != `{"op":"ping","✓":1}` {
		t.Errorf("the MQTT 3.1.1 subscriber got %+v", got)
	}

	// A backend's request to sub, which answers on the response topic.
	req := primitive.NewMessage("vehicles", []byte("status?"))
	req.WithTag(d.DownlinkTag())
	for _, err := range []error{
		d.SetP2P(req, "GID_car@@@sub"),
		d.SetResponseTopic(req, "vehicles/replies/backend-1"),
		d.SetCorrelationData(req, []byte("req-7")),
		d.SetMessageExpiry(req, mqttrmq.ExpiresAfter(60)),
		d.SetContentType(req, "text/plain"),
		d.SetPayloadUTF8(req, true),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	be.send(t, req)
	in := sub.next(t)
	ip := props(in)
	if in.Topic != "vehicles/p2p/GID_car@@@sub" || ip.ResponseTopic != "vehicles/replies/backend-1" || string(ip.CorrelationData) != "req-7" ||
		ip.ContentType != "text/plain" || ip.PayloadFormat == nil || *ip.PayloadFormat != 1 || ip.MessageExpiry == nil || *ip.MessageExpiry > 60 || *ip.MessageExpiry == 0 {
		t.Fatalf("the device got %s %q with %+v; want the request with its properties", in.Topic, in.Payload, ip)
	}
	sub.publish(t, &paho5.Publish{Topic: ip.ResponseTopic, QoS: 1, Payload: []byte("ok"),
		Properties: &paho5.PublishProperties{CorrelationData: ip.CorrelationData}})
	var answer mqttrmq.Publish
	eventually(t, "the backend read the answer", func() bool {
		for _, m := range reader.wait(t, 1) {
			if p, err := d.FromRocketMQ(m.Topic, m, m.Body); err == nil && p.Topic == "vehicles/replies/backend-1" {
				answer = p
				return true
			}
		}
		return false
	})
	if string(answer.CorrelationData) != "req-7" || answer.ClientID != "GID_car@@@sub" || string(answer.Payload) != "ok" {
		t.Errorf("the backend read the answer %+v; want ok from GID_car@@@sub with Correlation Data req-7", answer)
	}
}

// equalPublish compares what the mapping read, the payload by value.
func equalPublish(a, b mqttrmq.Publish) bool {
	return a.Topic == b.Topic && a.QoS == b.QoS && a.ClientID == b.ClientID && bytes.Equal(a.Payload, b.Payload) &&
		slices.Equal(a.UserProperties, b.UserProperties) && a.MessageExpiry == b.MessageExpiry && a.PayloadUTF8 == b.PayloadUTF8 &&
		a.ContentType == b.ContentType && a.ResponseTopic == b.ResponseTopic && bytes.Equal(a.CorrelationData, b.CorrelationData) &&
		a.Born.Equal(b.Born)
}
