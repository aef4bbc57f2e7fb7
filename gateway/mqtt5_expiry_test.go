package gateway_test

import (
	"bytes"
	"fmt"
	"net"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	paho5 "github.com/eclipse/paho.golang/paho"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/gateway"
	"github.com/mqttrmq/mqttrmq/internal/packet"
)

// arrival is what an MQTT 5 client got: a payload and its Message Expiry
// Interval, 0 for none.
type arrival struct {
	payload string
	expiry  uint32
	has     bool
}

// leftOf reports whether e is what MQTT leaves of an interval of seconds
// after a wait of at least waited, less the part of a second the wait
// before the test's clock started may add: whole seconds only, never 0.
func leftOf(e, seconds uint32, waited time.Duration) bool {
	return e >= 1 && e <= seconds-uint32(waited/time.Second)+1
}

func arrivalOf(p *paho5.Publish) arrival {
	a := arrival{payload: string(p.Payload)}
	if e := props(p).MessageExpiry; e != nil {
		a.expiry, a.has = *e, true
	}
	return a
}

// TestMQTT5Expiry: a message waiting for a persistent session that is
// offline, from a device on another instance or from a backend point to
// point, is not delivered once its Message Expiry Interval has passed,
// counted from when it was sent to RocketMQ; one that is delivered carries
// what is left [MQTT-3.3.2-5] [MQTT-3.3.2-6]. A retained message expires
// the same way, on the instance that took it and on the others.
func TestMQTT5Expiry(t *testing.T) {
	onBoth(t, mqtt5Expiry)
}

func mqtt5Expiry(t *testing.T, s rocketMQ) {
	a := startGateway(t, s, nil)
	b := startGateway(t, s, nil)
	be := newBackend(t, s)

	// A persistent session on b, offline.
	const id = "GID_car@@@away"
	keep := &paho5.ConnectProperties{SessionExpiryInterval: ptr(uint32(300))}
	away := connect5(t, b, &paho5.Connect{ClientID: id, CleanStart: true, Properties: keep})
	away.subscribe(t, "vehicles/exp/#", 1)
	away.disconnect()
	knows(t, a, "vehicles/exp/a", "", 1) // its session queue

	pub := connect5(t, a, &paho5.Connect{ClientID: "GID_car@@@pub", CleanStart: true})
	sent := time.Now()
	for _, m := range []struct {
		payload string
		expiry  *uint32
	}{{"short", ptr(uint32(1))}, {"long", ptr(uint32(60))}, {"forever", nil}} {
		if code := pub.publish(t, &paho5.Publish{Topic: "vehicles/exp/a", QoS: 1, Payload: []byte(m.payload),
			Properties: &paho5.PublishProperties{MessageExpiry: m.expiry}}); code != 0 {
			t.Fatalf("PUBACK %#x", code)
		}
	}
	for _, c := range []struct {
		payload string
		expiry  uint32
	}{{"p2p-short", 1}, {"p2p-long", 60}} {
		cmd := primitive.NewMessage("vehicles", []byte(c.payload))
		cmd.WithTag(mqttrmq.TagToMQTT)
		if err := mqttrmq.SetP2P(cmd, id); err != nil {
			t.Fatal(err)
		}
		if err := mqttrmq.SetCleanSession(cmd, false); err != nil {
			t.Fatal(err)
		}
		if err := mqttrmq.SetMessageExpiry(cmd, mqttrmq.ExpiresAfter(c.expiry)); err != nil {
			t.Fatal(err)
		}
		be.send(t, cmd)
	}
	// The session's queue in RocketMQ holds them: the devices' three
	// went there with a's routed copies, the backend's two with the
	// router's (on either instance).
	eventually(t, "everything for the session in its queue", func() bool {
		return a.Stats().UplinkSent >= 3 && a.Stats().Routed+b.Stats().Routed >= 2
	})
	time.Sleep(time.Until(sent.Add(2 * time.Second))) // the short ones expire

	back := connect5(t, b, &paho5.Connect{ClientID: id, CleanStart: false, Properties: keep})
	var got []arrival
	for range 3 {
		got = append(got, arrivalOf(back.next(t)))
	}
	back.none(t, 300*time.Millisecond)
	waited := time.Since(sent)
	sort.Slice(got, func(i, j int) bool { return got[i].payload < got[j].payload })
	if len(got) != 3 || got[0].payload != "forever" || got[1].payload != "long" || got[2].payload != "p2p-long" {
		t.Fatalf("the returning session got %+v; want forever, long and p2p-long, not the expired ones", got)
	}
	if got[0].has {
		t.Errorf("the message without expiry arrived with interval %d; want none", got[0].expiry)
	}
	for _, g := range got[1:] {
		if !g.has || !leftOf(g.expiry, 60, waited) {
			t.Errorf("%s arrived with interval %d (has %v) after %v; want what is left of 60", g.payload, g.expiry, g.has, waited.Truncate(time.Second))
		}
	}
	if n := b.Stats().Expired; n < 2 {
		t.Errorf("b counted %d expired messages; want the 2 short ones", n)
	}

	// Retained: the short one expires on every instance, the long one is
	// sent with what is left. A retained message goes to every instance.
	joined(t, a, b)
	da, db := a.Stats().DownlinkDelivered, b.Stats().DownlinkDelivered
	sent = time.Now()
	for _, m := range []struct {
		topic  string
		expiry uint32
	}{{"vehicles/ret/short", 1}, {"vehicles/ret/long", 60}} {
		if code := pub.publish(t, &paho5.Publish{Topic: m.topic, QoS: 1, Retain: true, Payload: []byte(m.topic),
			Properties: &paho5.PublishProperties{MessageExpiry: ptr(m.expiry)}}); code != 0 {
			t.Fatalf("PUBACK %#x", code)
		}
	}
	eventually(t, "both instances consumed the retained messages", func() bool {
		return a.Stats().DownlinkDelivered >= da+2 && b.Stats().DownlinkDelivered >= db+2
	})
	time.Sleep(time.Until(sent.Add(2 * time.Second)))
	for i, g := range []*gateway.Gateway{a, b} {
		late := connect5(t, g, &paho5.Connect{ClientID: fmt.Sprintf("GID_car@@@late%d", i), CleanStart: true})
		late.subscribe(t, "vehicles/ret/#", 1)
		r := late.next(t)
		w := time.Since(sent)
		if g := arrivalOf(r); r.Topic != "vehicles/ret/long" || !r.Retain || !g.has || !leftOf(g.expiry, 60, w) {
			t.Errorf("instance %d: a late subscriber got %s (retain %v) with interval %d (has %v) after %v; want the long one with what is left", i, r.Topic, r.Retain, g.expiry, g.has, w.Truncate(time.Second))
		}
		late.none(t, 200*time.Millisecond)
	}
}

// TestMQTT5Will: a will's MQTT 5 message properties go through RocketMQ
// like a publish's; a will declared UTF-8 that is not reaches nobody, and
// neither does such a publish, refused with 0x99 [MQTT-3.3.2-4].
//
// paho.golang v0.23.0 does not send a will's message properties (its
// packets.Properties.Pack writes them for PUBLISH only), so the device
// with a will speaks MQTT 5 with the project's own codec: a CONNECT, its
// CONNACK, and a dropped connection.
func TestMQTT5Will(t *testing.T) {
	onBoth(t, mqtt5Will)
}

func mqtt5Will(t *testing.T, s rocketMQ) {
	a := startGateway(t, s, nil)
	b := startGateway(t, s, nil)
	reader := collect(t, s, "vehicles", gateway.UplinkTag)
	watcher := connect5(t, b, &paho5.Connect{ClientID: "GID_car@@@watcher", CleanStart: true})
	watcher.subscribe(t, "vehicles/status/+", 1)
	knows(t, a, "vehicles/status/v1", "", 1)

	user := []packet.UserProperty{{Key: "why", Value: "lost"}}
	dev := dialWill(t, a, "GID_car@@@v1", &packet.Will{Topic: "vehicles/status/v1", QoS: 1, Payload: []byte("offline ✗"),
		Properties: packet.Properties{PayloadFormat: packet.Some(byte(1)), MessageExpiry: packet.Some(uint32(600)),
			ContentType: packet.Some("text/plain"), ResponseTopic: packet.Some("vehicles/status/ask"),
			CorrelationData: packet.Some([]byte{1, 2, 3}), User: user}})
	bad := dialWill(t, a, "GID_car@@@v2", &packet.Will{Topic: "vehicles/status/v2", QoS: 1, Payload: []byte("off\xffline"),
		Properties: packet.Properties{PayloadFormat: packet.Some(byte(1))}})
	refused := a.Stats().UplinkRefused

	// A publish declared UTF-8 that is not: refused, and not sent on.
	pub := connect5(t, a, &paho5.Connect{ClientID: "GID_car@@@v3", CleanStart: true})
	if code := pub.publish(t, &paho5.Publish{Topic: "vehicles/status/v3", QoS: 1, Payload: []byte("\xff"),
		Properties: &paho5.PublishProperties{PayloadFormat: ptr(byte(1))}}); code != 0x99 {
		t.Errorf("PUBACK %#x for a payload declared UTF-8 that is not; want 0x99", code)
	}
	bad.Close()
	eventually(t, "the bad will refused", func() bool { return a.Stats().UplinkRefused == refused+1 })
	dev.Close()

	got := watcher.next(t)
	gp := props(got)
	if got.Topic != "vehicles/status/v1" || string(got.Payload) != "offline ✗" || gp.PayloadFormat == nil || *gp.PayloadFormat != 1 ||
		gp.ContentType != "text/plain" || gp.ResponseTopic != "vehicles/status/ask" || !bytes.Equal(gp.CorrelationData, []byte{1, 2, 3}) ||
		!slices.Equal(gp.User, paho5.UserProperties{{Key: "why", Value: "lost"}}) || gp.MessageExpiry == nil || *gp.MessageExpiry == 0 || *gp.MessageExpiry > 600 {
		t.Errorf("the watcher got %s %q with %+v; want the will with its properties", got.Topic, got.Payload, gp)
	}
	watcher.none(t, 300*time.Millisecond)
	msgs := reader.wait(t, 1)
	if len(msgs) != 1 {
		t.Fatalf("RocketMQ holds %d device messages; want the good will alone", len(msgs))
	}
	p, err := mqttrmq.FromRocketMQ(msgs[0].Topic, msgs[0], msgs[0].Body)
	if err != nil || p.ClientID != "GID_car@@@v1" || p.MessageExpiry != mqttrmq.ExpiresAfter(600) || !p.PayloadUTF8 ||
		p.ContentType != "text/plain" || p.ResponseTopic != "vehicles/status/ask" || !bytes.Equal(p.CorrelationData, []byte{1, 2, 3}) ||
		!slices.Equal(p.UserProperties, []mqttrmq.UserProperty{{Key: "why", Value: "lost"}}) {
		t.Errorf("the backend read the will as %+v, %v", p, err)
	}
}

// dialWill connects an MQTT 5 device with a will to g, with the project's
// codec, and returns its connection once the CONNACK says yes; closing it
// drops the device off the network.
func dialWill(t *testing.T, g *gateway.Gateway, id string, will *packet.Will) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", g.Addr(), deadline)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.Write(packet.AppendConnect(nil, &packet.Connect{Version: packet.V5, CleanStart: true, KeepAlive: 30, ClientID: id, Will: will})); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(deadline))
	buf := make([]byte, 0, 256)
	for {
		h, ok, err := packet.ReadHeader(buf)
		if err != nil {
			t.Fatal(err)
		}
		if ok && len(buf) >= h.Size+h.Remaining {
			if h.Type != packet.CONNACK {
				t.Fatalf("%s: got %v; want CONNACK", id, h.Type)
			}
			_, code, _, err := packet.DecodeConnack(packet.V5, h, buf[h.Size:h.Size+h.Remaining])
			if err != nil || code != 0 {
				t.Fatalf("%s: CONNACK %#x, %v", id, code, err)
			}
			return conn
		}
		n, err := conn.Read(buf[len(buf):cap(buf)])
		if err != nil {
			t.Fatalf("%s: no CONNACK: %v", id, err)
		}
		buf = buf[:len(buf)+n]
	}
}

// TestMQTT5RetriedSend: a publish RocketMQ does not take at once is sent
// again later, with what is left of its expiry interval, so that readers
// counting from the later send's born time count right.
func TestMQTT5RetriedSend(t *testing.T) {
	s := inProcess{newRocketMQ(t)}
	a := startGateway(t, s, nil)
	b := startGateway(t, s, nil)
	reader := collect(t, s, "vehicles", gateway.UplinkTag)
	sub := connect5(t, b, &paho5.Connect{ClientID: "GID_car@@@sub", CleanStart: true})
	sub.subscribe(t, "vehicles/late", 1)
	pub := connect5(t, a, &paho5.Connect{ClientID: "GID_car@@@pub", CleanStart: true})
	knows(t, a, "vehicles/late", "", 1) // the directory's writes are done: the refusals fall on the publish

	s.RefuseSends(30) // the producer's own retries included, more than a second of the gateway's
	start := time.Now()
	if code := pub.publish(t, &paho5.Publish{Topic: "vehicles/late", QoS: 1, Payload: []byte("late"),
		Properties: &paho5.PublishProperties{MessageExpiry: ptr(uint32(30))}}); code != 0 {
		t.Fatalf("PUBACK %#x", code)
	}
	took := time.Since(start)
	if a.Stats().UplinkSendFailures == 0 || took < 1200*time.Millisecond {
		t.Fatalf("the publish took %v and %d failed sends; the test needs a second of retries", took, a.Stats().UplinkSendFailures)
	}
	m := reader.wait(t, 1)[0]
	e, err := mqttrmq.MessageExpiryOf(m)
	left, ok := e.Seconds()
	if err != nil || !ok || left >= 30 || left < 30-uint32(took/time.Second)-1 {
		t.Errorf("after %v of retries RocketMQ holds interval %v, %v; want what was left when the send that worked began", took, e, err)
	}
	got := sub.next(t)
	if ge := props(got).MessageExpiry; ge == nil || *ge > left || *ge == 0 {
		t.Errorf("the subscriber on the other instance got interval %v; want at most %d", ge, left)
	}
}
