package gateway_test

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/gateway"
	"github.com/mqttrmq/mqttrmq/internal/gatewaytest"
)

// TestRestartLosesNothing restarts the gateway under a steady downlink.
// A device with a persistent session (clean session false) subscribed at
// QoS 1 and is the target of P2P messages; a backend keeps sending it QoS 1
// messages while the gateway stops and a new one, with the same instance
// ID, starts on the same address. Every message arrives: the session's
// record is in the directory, its messages in its session queue, from
// what it acknowledged on; and what backends sent while no gateway ran
// waits for the router from its group's committed offsets.
func TestRestartLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a gateway under load")
	}
	onBoth(t, restartLosesNothing)
}

func restartLosesNothing(t *testing.T, s rocketMQ) {
	be := newBackend(t, s)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	id := uniq(t, "gw")
	sameInstance := func(c *gateway.Config) { c.InstanceID, c.Listen = id, addr }

	old := startGateway(t, s, sameInstance)
	dev := connect(t, old, "GID_car@@@v1", persistent, autoReconnect)
	dev.mustSubscribe(t, "vehicles/cmd", 1)

	const n = 200
	var wg sync.WaitGroup
	var hold sync.Mutex // held while the old gateway shuts down; see drain
	wg.Add(1)
	go func() { // the steady downlink
		defer wg.Done()
		for i := range n {
			hold.Lock()
			hold.Unlock()
			m := primitive.NewMessage("vehicles", []byte(fmt.Sprint(i)))
			m.WithTag(mqttrmq.TagToMQTT)
			err := mqttrmq.SetSecondTopic(m, "/cmd")
			if i%2 == 0 {
				err = mqttrmq.SetP2P(m, "GID_car@@@v1")
			}
			if err == nil {
				err = be.trySend(m)
			}
			if err != nil {
				t.Error(err) // not Fatal: this is not the test's goroutine
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()

	got := map[string]int{}
	for len(got) < n/4 {
		got[dev.next(t).Payload]++
	}
	hold.Lock()
	gatewaytest.Drain(t, s, old)
	if err := old.Close(); err != nil {
		t.Fatalf("closing the old gateway: %v", err)
	}
	hold.Unlock() // the downlink goes on while no gateway runs
	g2 := startGateway(t, s, sameInstance)

	giveUp := time.After(deadline)
	for len(got) < n {
		select {
		case m := <-dev.got:
			got[m.Payload]++
		case <-giveUp:
			var missing []int
			for i := range n {
				if got[fmt.Sprint(i)] == 0 {
					missing = append(missing, i)
				}
			}
			t.Fatalf("after the restart, %d of %d messages never arrived: %v; gateway stats %+v", len(missing), n, missing, g2.Stats())
		}
	}
	wg.Wait()
	dups := 0
	for i := range n {
		dups += got[fmt.Sprint(i)] - 1
	}
	t.Logf("%d QoS 1 messages across a restart: all arrived, %d duplicates", n, dups)
}

// TestCloseDuringDelivery closes a gateway while its router is still
// routing a backlog of P2P messages to an offline persistent session: what
// the router dispatched is in the session's queue, and what it had not is
// routed by the next gateway from the router's committed offsets, so the
// device, connecting to that other gateway, gets every message.
func TestCloseDuringDelivery(t *testing.T) {
	onBoth(t, closeDuringDelivery)
}

func closeDuringDelivery(t *testing.T, s rocketMQ) {
	g := startGateway(t, s, nil)
	be := newBackend(t, s)
	connect(t, g, "GID_car@@@away", persistent).Disconnect(0)
	// Offline in the directory, not only here: the session's record is
	// what makes the router write to its queue. (A P2P message routed in
	// the moment between a persistent client's connect record and its
	// session's record goes to its instance's inbox alone.)
	eventually(t, "the session is offline in the directory", func() bool {
		st := g.Stats()
		return st.Connected == 0 && st.ClusterClients == 0 && st.ClusterSessions == 1
	})

	const n = 256
	for i := range n {
		be.send(t, command(t, fmt.Sprint(i), func(m *primitive.Message) error { return mqttrmq.SetP2P(m, "GID_car@@@away") }))
	}
	eventually(t, "the router is routing", func() bool { return g.Stats().Routed > 0 })
	gatewaytest.Drain(t, s, g)
	if err := g.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	routed := g.Stats().Routed

	dev := connect(t, startGateway(t, s, nil), "GID_car@@@away", persistent)
	got := map[string]bool{}
	for len(got) < n {
		got[dev.next(t).Payload] = true
	}
	t.Logf("%d of %d P2P messages routed before Close; all %d arrived through the next gateway", routed, n, n)
}
