package gateway_test

import (
	"fmt"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq"
)

// TestTwoInstancesExactlyOnce runs two gateways on one RocketMQ, as a
// horizontally scaled deployment does: whichever instance a device is on,
// every subscriber gets every message exactly once, and a P2P message
// reaches its target on whichever instance it is connected, and no other.
func TestTwoInstancesExactlyOnce(t *testing.T) {
	onBoth(t, twoInstancesExactlyOnce)
}

func twoInstancesExactlyOnce(t *testing.T, s rocketMQ) {
	a := startGateway(t, s, nil)
	b := startGateway(t, s, nil)
	be := newBackend(t, s)

	pub := connect(t, a, "GID_chat@@@alice") // publishes on instance A
	subA := connect(t, a, "GID_chat@@@carol")
	subB := connect(t, b, "GID_chat@@@bob")
	subA.mustSubscribe(t, "chat/room/+", 1)
	subB.mustSubscribe(t, "chat/room/+", 1)
	knows(t, a, "chat/room/1", "", 2) // the inboxes of A and B

	const n = 50
	for i := range n {
		pub.publish(t, "chat/room/1", 1, fmt.Sprint(i))
	}
	for _, d := range []*device{subA, subB} {
		for i := range n {
			if got := d.next(t); got.Payload != fmt.Sprint(i) || got.Topic != "chat/room/1" {
				t.Fatalf("%s message %d = %+v; want payload %d, in order", d.id, i, got, i)
			}
		}
	}

	// P2P from a backend to bob, on B, and from alice on A to bob on B.
	be.send(t, command(t, "from backend", func(m *primitive.Message) error { return mqttrmq.SetP2P(m, "GID_chat@@@bob") }))
	topic, err := mqttrmq.P2PTopic("chat", "GID_chat@@@bob")
	if err != nil {
		t.Fatal(err)
	}
	pub.publish(t, topic, 1, "from alice")
	got := map[string]int{}
	for range 2 {
		got[subB.next(t).Payload]++
	}
	if got["from backend"] != 1 || got["from alice"] != 1 {
		t.Errorf("bob got %v; want each P2P message once", got)
	}

	// A barrier through each instance, after everything else from alice:
	// if any duplicate were coming, it would be here by now.
	pub.publish(t, "chat/room/2", 1, "barrier")
	for _, d := range []*device{subA, subB} {
		if m := d.next(t); m.Payload != "barrier" {
			t.Errorf("%s got %+v; want the barrier and no duplicates", d.id, m)
		}
		d.none(t)
	}
	// A P2P message reaches only the instance its target is on.
	if sa, sb := a.Stats(), b.Stats(); sa.DownlinkP2P != 0 || sa.DownlinkNotHere != 0 || sb.DownlinkP2P != 2 {
		t.Errorf("stats A %+v, B %+v; want both P2P messages delivered by B, and A never to see them", sa, sb)
	}
}
