package gateway_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/gateway"
	"github.com/mqttrmq/mqttrmq/internal/cluster"
	"github.com/mqttrmq/mqttrmq/internal/serverproc"
	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

var clusterSeq atomic.Int64

// newCluster names a cluster of its own for a test: on a real broker,
// which outlives the test, no directory of an earlier test is read.
func newCluster() string {
	return "t" + strconv.FormatInt(time.Now().UnixNano(), 36) + strconv.FormatInt(clusterSeq.Add(1), 10)
}

// startInstances starts n gateways of one cluster on s.
func startInstances(t *testing.T, s rocketMQ, n int, edit func(*gateway.Config)) (string, []*gateway.Gateway) {
	t.Helper()
	name := newCluster()
	var gws []*gateway.Gateway
	for i := range n {
		gws = append(gws, startGateway(t, s, func(c *gateway.Config) {
			c.Cluster = name
			c.InstanceID = instanceID(name, i)
			if edit != nil {
				edit(c)
			}
		}))
	}
	return name, gws
}

// instanceID names the i-th instance of a cluster, from 0.
func instanceID(cluster string, i int) string { return fmt.Sprintf("gw%d-%s", i+1, cluster) }

// reads counts what a cluster's gateways pull from the broker, per
// consumer group, leaving out the directory's reads (routing data, not
// traffic; see the package documentation).
type reads struct {
	s      *rocketmqtest.Server
	groups map[string]string // role → group
	last   map[string]uint64
}

func countReads(s *rocketmqtest.Server, name string, gws []*gateway.Gateway) *reads {
	return countReadsOf(s, name, len(gws))
}

func countReadsOf(s *rocketmqtest.Server, name string, instances int) *reads {
	names := cluster.Names{Cluster: name}
	r := &reads{s: s, groups: map[string]string{"router": names.Group("router"), "sessions": names.Group("sessions")}, last: map[string]uint64{}}
	for i := range instances {
		r.groups[fmt.Sprintf("inbox %d", i+1)] = names.Group("inbox-" + instanceID(name, i))
	}
	r.delta()
	return r
}

// delta returns what each role pulled since the last call.
func (r *reads) delta() map[string]uint64 {
	out := map[string]uint64{}
	for role, g := range r.groups {
		n := r.s.Pulled(g)
		if d := n - r.last[role]; d > 0 {
			out[role] = d
		}
		r.last[role] = n
	}
	return out
}

func total(m map[string]uint64) (n uint64) {
	for _, v := range m {
		n += v
	}
	return n
}

// publishAll publishes n QoS 1 messages from d, pipelined, and waits for
// every PUBACK.
func publishAll(t *testing.T, d *device, topic string, n int) {
	t.Helper()
	toks := make([]paho.Token, 0, n)
	for i := range n {
		toks = append(toks, d.Publish(topic, 1, false, strconv.Itoa(i)))
	}
	for _, tok := range toks {
		if !tok.WaitTimeout(deadline) || tok.Error() != nil {
			t.Fatalf("%s: publish %q: %v", d.id, topic, tok.Error())
		}
	}
}

// TestReadsFollowInterest: with three instances on one RocketMQ, a message
// is pulled by the instances that have a receiver for it and by no other:
// telemetry nobody subscribes to is pulled by no gateway, a subscribed
// message once by each instance with a subscriber, a backend's message
// once more by the router, and a P2P message once by its target's
// instance. Counted exactly, with rocketmqtest's Pulled.
func TestReadsFollowInterest(t *testing.T) {
	s := newRocketMQ(t)
	name, gws := startInstances(t, inProcess{s}, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if err := s.WaitForConsumers(ctx, gws[0].ConsumerGroup(), 3); err != nil {
		t.Fatal(err)
	}
	r := countReads(s, name, gws)

	// 10,000 uplink messages of 10 devices spread over the instances,
	// which no MQTT client subscribes to.
	var devs []*device
	for i := range 10 {
		devs = append(devs, connect(t, gws[i%3], fmt.Sprintf("GID_car@@@t%d", i)))
	}
	done := make(chan struct{})
	for _, d := range devs {
		go func() {
			defer func() { done <- struct{}{} }()
			publishAll(t, d, "vehicles/"+d.id[len("GID_car@@@"):]+"/telemetry", 1000)
		}()
	}
	for range devs {
		<-done
	}
	stored := 0
	for _, m := range s.Messages("vehicles") {
		if m.GetTags() != mqttrmq.TagToMQTT {
			stored++
		}
	}
	if stored < 10000 {
		t.Fatalf("%d uplink messages stored, want 10,000", stored)
	}
	// A barrier: a message to a subscriber on instance 1, published after
	// the telemetry, arrives only once everything before it was routed.
	sub := connect(t, gws[0], "GID_app@@@barrier")
	sub.mustSubscribe(t, "chat/barrier", 1)
	knows(t, gws[1], "chat/barrier", "", 1)
	connect(t, gws[1], "GID_app@@@b2").publish(t, "chat/barrier", 1, "barrier")
	if m := sub.next(t); m.Payload != "barrier" {
		t.Fatalf("barrier: %+v", m)
	}
	d := r.delta()
	t.Logf("10,000 unsubscribed uplink messages (and a barrier): gateways pulled %v", d)
	if d["inbox 1"] != 1 || total(d) != 1 {
		t.Errorf("gateways pulled %v for 10,000 messages nobody subscribes to and one barrier for instance 1; want the barrier alone", d)
	}

	// Subscribed: receivers on instances 2 (two clean sessions) and 3 (a
	// persistent session); the publisher on instance 1 has none.
	s2a, s2b := connect(t, gws[1], "GID_app@@@s2a"), connect(t, gws[1], "GID_app@@@s2b")
	s3 := connect(t, gws[2], "GID_app@@@s3", persistent)
	s2a.mustSubscribe(t, "vehicles/+/gps", 1)
	s2b.mustSubscribe(t, "vehicles/#", 1)
	s3.mustSubscribe(t, "vehicles/+/gps", 1)
	knows(t, gws[0], "vehicles/t0/gps", "", 3) // the inboxes of instances 2 and 3, and s3's session queue
	r.delta()
	const n = 200
	publishAll(t, devs[0], "vehicles/t0/gps", n)
	for _, d := range []*device{s2a, s2b, s3} {
		for i := range n {
			if m := d.next(t); m.Payload != strconv.Itoa(i) {
				t.Fatalf("%s: message %d is %+v", d.id, i, m)
			}
		}
	}
	d = r.delta()
	t.Logf("%d messages to receivers on instances 2 and 3: gateways pulled %v (%.2f a message)", n, d, float64(total(d))/n)
	if got, limit := total(d), uint64(n*(1+2)); got > limit {
		t.Errorf("gateways pulled %d messages for %d with receivers on 2 instances; want at most %d", got, n, limit)
	}
	if d["inbox 1"] != 0 {
		t.Errorf("instance 1, with no receiver, pulled %d", d["inbox 1"])
	}

	// A backend's messages to the subscribers: read once by the router,
	// then once by each instance with a receiver. The persistent session's
	// second catch-up, a directory propagation after it began, reads its
	// queue once more for what its inbox copies might have missed: a cost
	// of its start, not of these messages, so it is let happen first.
	eventually(t, "s3's session settled", func() bool { return gws[2].SessionSettled("GID_app@@@s3") })
	r.delta()
	be := newBackend(t, s)
	for i := range n {
		be.send(t, command(t, "cmd"+strconv.Itoa(i), func(m *primitive.Message) error {
			_, err := mqttrmq.SetTopic(m, "vehicles/all/gps")
			return err
		}))
	}
	for _, d := range []*device{s2a, s2b, s3} {
		for i := range n {
			if m := d.next(t); m.Payload != "cmd"+strconv.Itoa(i) {
				t.Fatalf("%s: command %d is %+v", d.id, i, m)
			}
		}
	}
	d = r.delta()
	t.Logf("%d backend messages to receivers on instances 2 and 3: gateways pulled %v (%.2f a message)", n, d, float64(total(d))/n)
	if got, limit := total(d), uint64(n*(1+2)); got > limit || d["router"] != n {
		t.Errorf("gateways pulled %v for %d backend messages with receivers on 2 instances; want the router's %d and at most %d in all", d, n, n, limit)
	}

	// P2P to a device on instance 3, from a backend and from a device on
	// instance 1: pulled by instance 3, and the backend's by the router.
	target := connect(t, gws[2], "GID_car@@@p3")
	for _, g := range gws { // the router's queues are shared among all three
		knows(t, g, "", target.id, 1)
	}
	r.delta()
	topic, err := mqttrmq.P2PTopic("vehicles", target.id)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		be.send(t, command(t, "p2p"+strconv.Itoa(i), func(m *primitive.Message) error { return mqttrmq.SetP2P(m, target.id) }))
	}
	publishAll(t, devs[0], topic, n)
	got := map[string]int{}
	for range 2 * n {
		got[target.next(t).Payload]++
	}
	for i := range n {
		if got["p2p"+strconv.Itoa(i)] != 1 || got[strconv.Itoa(i)] != 1 {
			t.Fatalf("P2P message %d arrived %d and %d times; want once each", i, got["p2p"+strconv.Itoa(i)], got[strconv.Itoa(i)])
		}
	}
	d = r.delta()
	t.Logf("%d P2P messages from a backend and %d from a device, to a device on instance 3: gateways pulled %v", n, n, d)
	if d["inbox 3"] != 2*n || d["router"] != n || total(d) != 3*n {
		t.Errorf("gateways pulled %v; want instance 3's inbox %d and the router %d, nothing else", d, 2*n, n)
	}
}

// tally keeps what the connections of one client ID received, across
// its connections, and what each connection lost.
type tally struct {
	mu   sync.Mutex
	got  map[string]int
	lost chan string // a connection's client ID when it was closed under it
}

func newTally() *tally { return &tally{got: map[string]int{}, lost: make(chan string, 100)} }

// option makes a device's messages count here and its lost connection
// be told.
func (ty *tally) option(o *paho.ClientOptions) {
	o.SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
		ty.mu.Lock()
		ty.got[string(m.Payload())]++
		ty.mu.Unlock()
	})
	o.SetConnectionLostHandler(func(c paho.Client, _ error) {
		r := c.OptionsReader()
		ty.lost <- r.ClientID()
	})
}

// missing returns the payloads of want that did not arrive, and how many
// arrived more than once.
func (ty *tally) missing(want []string) (missing []string, dups int) {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	for _, w := range want {
		switch n := ty.got[w]; {
		case n == 0:
			missing = append(missing, w)
		case n > 1:
			dups += n - 1
		}
	}
	return missing, dups
}

// waitFor waits until every payload of want arrived, or for the test's
// deadline, and returns what is still missing.
func (ty *tally) waitFor(want []string) (missing []string, dups int) {
	for end := time.Now().Add(deadline); ; time.Sleep(20 * time.Millisecond) {
		missing, dups = ty.missing(want)
		if len(missing) == 0 || time.Now().After(end) {
			return missing, dups
		}
	}
}

// steadyDownlink sends a backend's QoS 1 messages until stop is closed,
// alternately P2P to client and to topic, every interval, counting each
// in count; it returns the payloads it sent once stopped.
func steadyDownlink(t *testing.T, be *backend, client, topic string, interval time.Duration, count *atomic.Int64, stop <-chan struct{}) <-chan []string {
	out := make(chan []string, 1)
	go func() {
		var sent []string
		defer func() { out <- sent }()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(interval):
			}
			payload := fmt.Sprintf("sub-%d", i)
			m := primitive.NewMessage("vehicles", []byte(payload))
			m.WithTag(mqttrmq.TagToMQTT)
			var err error
			if i%2 == 0 {
				payload = fmt.Sprintf("p2p-%d", i)
				m.Body = []byte(payload)
				err = mqttrmq.SetP2P(m, client)
			} else {
				_, err = mqttrmq.SetTopic(m, topic)
			}
			if err == nil {
				mqttrmq.SetQoS(m, 1)
				err = be.trySend(m)
			}
			if err != nil {
				t.Errorf("backend: %v", err)
				return
			}
			sent = append(sent, payload)
			count.Add(1)
		}
	}()
	return out
}

// sentAtLeast waits until count reaches n: a step of a test under a
// steady downlink follows the messages sent, not the clock, which a
// loaded machine stretches.
func sentAtLeast(t *testing.T, count *atomic.Int64, n int64) {
	t.Helper()
	eventually(t, fmt.Sprintf("the backend sends %d messages", n), func() bool { return count.Load() >= n })
}

// TestSessionFollowsClient: a device with a persistent session moves
// between three instances under a steady QoS 1 downlink, P2P and
// subscribed, without resubscribing: each connection elsewhere closes the
// one before [MQTT-3.1.4-2], the subscription works on every instance, and
// no message is lost.
func TestSessionFollowsClient(t *testing.T) {
	onBoth(t, sessionFollowsClient)
}

func sessionFollowsClient(t *testing.T, s rocketMQ) {
	_, gws := startInstances(t, s, 3, nil)
	const id = "GID_car@@@mover"
	ty := newTally()
	first := connect(t, gws[0], id, persistent, ty.option)
	first.mustSubscribe(t, "vehicles/cmd/+", 1)
	for _, g := range gws {
		knows(t, g, "vehicles/cmd/all", "", 2) // the session's queue and instance 1's inbox
	}

	be := newBackend(t, s)
	stop := make(chan struct{})
	var count atomic.Int64
	sent := steadyDownlink(t, be, id, "vehicles/cmd/all", 5*time.Millisecond, &count, stop)
	const perHop = 60
	for i, hop := range []int{1, 2, 0, 2} {
		sentAtLeast(t, &count, int64(i+1)*perHop)
		connect(t, gws[hop], id, persistent, ty.option) // no SUBSCRIBE
		select {
		case <-ty.lost:
		case <-time.After(deadline):
			t.Fatalf("the connection before the one on instance %d was not closed", hop+1)
		}
	}
	sentAtLeast(t, &count, 5*perHop)
	close(stop)
	want := <-sent
	missing, dups := ty.waitFor(want)
	t.Logf("%d QoS 1 messages over 4 moves between 3 instances: %d lost, %d duplicates", len(want), len(missing), dups)
	if len(missing) > 0 {
		t.Errorf("%d of %d messages lost, first %v", len(missing), len(want), missing[:min(5, len(missing))])
	}
}

// TestInstanceKilled: an instance, in a process of its own, is killed
// (SIGKILL: no goodbye, no last commit) while a backend sends QoS 1
// messages to the persistent sessions of its devices, P2P and subscribed;
// the devices reconnect to the other instance, without resubscribing, and
// lose none of them.
func TestInstanceKilled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bins, err := serverproc.Build(ctx, t.TempDir(), "github.com/mqttrmq/mqttrmq/examples/gateway")
	if err != nil {
		t.Fatal(err)
	}
	bin := bins["github.com/mqttrmq/mqttrmq/examples/gateway"]
	onBoth(t, func(t *testing.T, s rocketMQ) { instanceKilled(t, s, bin) })
}

func instanceKilled(t *testing.T, s rocketMQ, bin string) {
	name := newCluster()
	survivor := startGateway(t, s, func(c *gateway.Config) {
		c.Cluster = name
		c.InstanceID = instanceID(name, 0)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	doomed, err := serverproc.Start(ctx, serverproc.Spec{
		Name: "doomed", Path: bin, Addr: addr, LogDir: t.TempDir(),
		Args: []string{"-namesrv", s.Addr(), "-topics", strings.Join(parents, ","), "-auth", "allow-all",
			"-listen", addr, "-instance-id", instanceID(name, 1), "-cluster", name},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(doomed.Kill)

	const devices = 5
	tallies := make([]*tally, devices)
	ids := make([]string, devices)
	for i := range devices {
		tallies[i] = newTally()
		ids[i] = fmt.Sprintf("GID_car@@@k%d", i)
		// The doomed instance first; the survivor when it is gone.
		d, err := dial(addr, ids[i], persistent, autoReconnect, tallies[i].option, func(o *paho.ClientOptions) {
			o.AddBroker("tcp://" + survivor.Addr())
		})
		if err != nil {
			t.Fatalf("device %s: %v", ids[i], err)
		}
		t.Cleanup(func() { d.Disconnect(0) })
		d.mustSubscribe(t, fmt.Sprintf("vehicles/%d/cmd", i), 1)
	}
	for i := range devices {
		knows(t, survivor, fmt.Sprintf("vehicles/%d/cmd", i), "", 2) // the session's queue and the doomed inbox
	}

	be := newBackend(t, s)
	stop := make(chan struct{})
	sent := make([]<-chan []string, devices)
	var count atomic.Int64
	for i := range devices {
		sent[i] = steadyDownlink(t, be, ids[i], fmt.Sprintf("vehicles/%d/cmd", i), 10*time.Millisecond, &count, stop)
	}
	sentAtLeast(t, &count, devices*100)
	doomed.Kill()
	eventually(t, "the devices reconnect to the survivor", func() bool { return survivor.Stats().Connected == devices })
	sentAtLeast(t, &count, count.Load()+devices*100)
	close(stop)
	lost, dups, total := 0, 0, 0
	for i := range devices {
		want := <-sent[i]
		missing, d := tallies[i].waitFor(want)
		total += len(want)
		lost += len(missing)
		dups += d
		if len(missing) > 0 {
			t.Errorf("%s lost %d of %d messages, first %v", ids[i], len(missing), len(want), missing[:min(5, len(missing))])
		}
	}
	t.Logf("%d QoS 1 messages to %d devices whose instance was killed: %d lost, %d duplicates", total, devices, lost, dups)
}

// TestResubscribeMovesWithSession: a persistent session that subscribes
// again to a filter it holds, with another QoS, has its subscription
// replaced [MQTT-3.8.4-3], and the new QoS goes with the session to the
// instance its client connects to next, without subscribing again.
func TestResubscribeMovesWithSession(t *testing.T) {
	onBoth(t, resubscribeMovesWithSession)
}

func resubscribeMovesWithSession(t *testing.T, s rocketMQ) {
	_, gws := startInstances(t, s, 2, nil)
	const id, filter = "GID_car@@@resub", "vehicles/cmd/+"
	d := connect(t, gws[0], id, persistent)
	d.mustSubscribe(t, filter, 0)
	eventually(t, "the session's record with QoS 0 on instance 2", func() bool {
		qos, ok := gws[1].SessionQoS(id, filter)
		return ok && qos == 0
	})
	d.mustSubscribe(t, filter, 1)
	eventually(t, "the session's record with QoS 1 on instance 2", func() bool {
		qos, ok := gws[1].SessionQoS(id, filter)
		return ok && qos == 1
	})
	d.Disconnect(250)

	moved := connect(t, gws[1], id, persistent) // no SUBSCRIBE
	knows(t, gws[1], "vehicles/cmd/all", "", 2) // the session's queue and instance 2's inbox
	m := primitive.NewMessage("vehicles", []byte("after the move"))
	m.WithTag(mqttrmq.TagToMQTT)
	if _, err := mqttrmq.SetTopic(m, "vehicles/cmd/all"); err != nil {
		t.Fatal(err)
	}
	mqttrmq.SetQoS(m, 1)
	newBackend(t, s).send(t, m)
	got := moved.next(t)
	if got.Topic != "vehicles/cmd/all" || got.Payload != "after the move" || got.QoS != 1 {
		t.Errorf("after the move the device got %+v; want vehicles/cmd/all at QoS 1, the subscription's QoS since it subscribed again", got)
	}
}
