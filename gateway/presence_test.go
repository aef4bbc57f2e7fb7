package gateway_test

import (
	"context"
	"errors"
	"io"
	"net"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/gateway"
)

// freshTopic gives the test an empty topic of its own besides the parent
// topics: created on rocketmqtest, deleted and created again on the real
// broker.
func freshTopic(t *testing.T, s rocketMQ, topic string, queues int) {
	t.Helper()
	switch s := s.(type) {
	case inProcess:
		if err := s.CreateTopic(topic, queues); err != nil {
			t.Fatal(err)
		}
	case *realRocketMQ:
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		if err := s.b.ResetTopic(ctx, topic, queues); err != nil {
			t.Fatal(err)
		}
		delete(s.baseline, topic) // its offsets start again from 0

	default:
		t.Fatalf("freshTopic: unknown RocketMQ %T", s)
	}
}

// network stands between devices and a gateway, and fails when told:
// every connection through it is cut at once, as a dropped network cuts
// it, without a DISCONNECT. The gateway sees the connection close; the
// device sees it end, and reconnects if it is made to.
type network struct {
	ln    net.Listener
	to    string
	mu    sync.Mutex
	conns []net.Conn
}

func newNetwork(t *testing.T, to string) *network {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &network{ln: ln, to: to}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); n.cut(); <-done })
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		defer wg.Wait()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", to)
			if err != nil {
				c.Close()
				continue
			}
			n.mu.Lock()
			n.conns = append(n.conns, c, up)
			n.mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(up, c); up.Close() }()
			go func() { defer wg.Done(); io.Copy(c, up); c.Close() }()
		}
	}()
	return n
}

// cut closes every connection through the network.
func (n *network) cut() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.conns {
		c.Close()
	}
	n.conns = nil
}

// through makes a device connect through the network.
func (n *network) through() deviceOpt {
	return func(o *paho.ClientOptions) {
		o.Servers = nil
		o.AddBroker("tcp://" + n.ln.Addr().String())
	}
}

// presenceOf reads the events a backend consumed, checking that each
// message is tagged with its event type and keyed with its client ID.
func presenceOf(t *testing.T, msgs []*primitive.MessageExt) []mqttrmq.PresenceEvent {
	t.Helper()
	var out []mqttrmq.PresenceEvent
	for _, m := range msgs {
		e, err := mqttrmq.ParsePresenceEvent(m.Body)
		if err != nil {
			t.Errorf("message %s on %s: %v", m.MsgId, m.Topic, err)
			continue
		}
		if m.GetTags() != e.EventType || m.GetKeys() != e.ClientID {
			t.Errorf("event %+v: tag %q, keys %q; want the event type and the client ID", e, m.GetTags(), m.GetKeys())
		}
		out = append(out, e)
	}
	return out
}

// TestPresence: the client status notifications of SPEC §8, read by a
// rocketmq-client-go backend, for a clean disconnect, a dropped network, a
// takeover by the same client ID, and a reconnect after a drop; and a
// PresenceTracker fed with them, in their order and in reverse, knows who
// is online.
func TestPresence(t *testing.T) {
	onBoth(t, presence)
}

func presence(t *testing.T, s rocketMQ) {
	freshTopic(t, s, "status", 4)
	g := startGateway(t, s, func(c *gateway.Config) { c.StatusTopic = "status" })
	backend := collect(t, s, "status", mqttrmq.PresenceTags)

	clean := connect(t, g, "GID_car@@@clean")
	clean.Disconnect(50) // DISCONNECT, then the connection closes
	dropped := newNetwork(t, g.Addr())
	connect(t, g, "GID_car@@@drop", dropped.through())
	dropped.cut()
	connect(t, g, "GID_car@@@twin")
	connect(t, g, "GID_car@@@twin") // takes over: the first connection is closed
	flaky := newNetwork(t, g.Addr())
	reconnects := make(chan struct{}, 4)
	connect(t, g, "GID_car@@@flaky", flaky.through(), autoReconnect, func(o *paho.ClientOptions) {
		o.SetOnConnectHandler(func(paho.Client) { reconnects <- struct{}{} })
	})
	<-reconnects
	flaky.cut() // paho reconnects on a new connection
	select {
	case <-reconnects:
	case <-time.After(deadline):
		t.Fatal("the flaky device did not reconnect")
	}

	// clean 3, drop 2, twin 3, flaky 3. The backend's consumer hands
	// them over in no particular order; a client's events are stored in
	// one queue, in the order they were sent, which is what is checked.
	events := presenceOf(t, backend.wait(t, 11))
	stored := presenceOf(t, s.Messages("status"))
	if len(stored) != len(events) {
		t.Errorf("RocketMQ holds %d events; the backend read %d", len(stored), len(events))
	}
	byClient := map[string][]mqttrmq.PresenceEvent{}
	channels := map[string]bool{}
	addr := regexp.MustCompile(`^127\.0\.0\.1:\d+$`)
	for _, e := range stored {
		byClient[e.ClientID] = append(byClient[e.ClientID], e)
		if e.EventType == mqttrmq.PresenceConnect {
			if channels[e.ChannelID] {
				t.Errorf("channel %s connected twice", e.ChannelID)
			}
			channels[e.ChannelID] = true
		}
		if !addr.MatchString(e.ClientIP) {
			t.Errorf("event %+v: clientIp is not the device's address", e)
		}
		if d := time.Since(e.Time); d < 0 || d > time.Minute {
			t.Errorf("event %+v: time is %v from now", e, d)
		}
	}
	kinds := func(es []mqttrmq.PresenceEvent) (types []string, chans []string) {
		for _, e := range es {
			types = append(types, e.EventType)
			chans = append(chans, e.ChannelID)
		}
		return types, chans
	}
	// A graceful close gives disconnect then tcpclean, on its channel.
	if types, chans := kinds(byClient["GID_car@@@clean"]); !slices.Equal(types, []string{"connect", "disconnect", "tcpclean"}) || chans[0] != chans[1] || chans[1] != chans[2] {
		t.Errorf("clean close: events %v on %v; want connect, disconnect, tcpclean on one channel", types, chans)
	}
	// A dropped network gives tcpclean only.
	if types, chans := kinds(byClient["GID_car@@@drop"]); !slices.Equal(types, []string{"connect", "tcpclean"}) || chans[0] != chans[1] {
		t.Errorf("dropped network: events %v on %v; want connect, tcpclean on one channel", types, chans)
	}
	// A takeover: two connects on two channels, the first one's tcpclean
	// (whenever it comes), and no disconnect: the client never said goodbye.
	for _, id := range []string{"GID_car@@@twin", "GID_car@@@flaky"} {
		es := byClient[id]
		var connects []string
		var cleaned string
		for _, e := range es {
			switch e.EventType {
			case mqttrmq.PresenceConnect:
				connects = append(connects, e.ChannelID)
			case mqttrmq.PresenceTCPClean:
				cleaned = e.ChannelID
			default:
				t.Errorf("%s: %s event; want none", id, e.EventType)
			}
		}
		if len(connects) != 2 || connects[0] == connects[1] || cleaned != connects[0] {
			types, chans := kinds(es)
			t.Errorf("%s: events %v on %v; want two connects on two channels and the first one's tcpclean", id, types, chans)
		}
	}

	// A backend's tracker knows who is online, whatever order it reads
	// the events in: here as they came, and in reverse, where the old
	// channel's tcpclean comes last.
	for _, order := range []string{"as read", "reversed"} {
		var tr mqttrmq.PresenceTracker
		for i := range events {
			e := events[i]
			if order == "reversed" {
				e = events[len(events)-1-i]
			}
			if _, err := tr.Apply(e); err != nil {
				t.Fatal(err)
			}
		}
		var online []string
		for _, p := range tr.Online() {
			online = append(online, p.ClientID)
		}
		if !slices.Equal(online, []string{"GID_car@@@flaky", "GID_car@@@twin"}) {
			t.Errorf("%s: online %v; want the flaky and the twin devices", order, online)
		}
		if twin := byClient["GID_car@@@twin"]; len(twin) > 0 {
			if p, _ := tr.Status("GID_car@@@twin"); p.ChannelID == twin[0].ChannelID {
				t.Errorf("%s: the twin is online on %s, its first channel", order, p.ChannelID)
			}
		}
	}
	eventually(t, "every event sent", func() bool { st := g.PresenceStats(); return st.Pending == 0 && st.Sent >= 11 })
	if st := g.PresenceStats(); st.Dropped != 0 || st.Lost != 0 {
		t.Errorf("PresenceStats = %+v; want nothing dropped or lost", st)
	}
}

// TestPresenceThroughOutage: events wait while RocketMQ refuses sends and
// stalls, and arrive afterwards (at least once); connections are never held
// up meanwhile; past the backlog bound events are dropped and counted.
func TestPresenceThroughOutage(t *testing.T) {
	s := newRocketMQ(t)
	if err := s.CreateTopic("status", 2); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, s, func(c *gateway.Config) {
		c.StatusTopic = "status"
		c.StatusBacklog = 4
		c.SendTimeout = 300 * time.Millisecond
	})
	backend := collect(t, s, "status", mqttrmq.PresenceTags)

	// Refused sends: each event's first attempts fail, later ones pass.
	s.RefuseSends(12)
	connect(t, g, "GID_car@@@a")
	connect(t, g, "GID_car@@@b")
	// Two messages may be one event twice (a refused attempt can be
	// stored all the same): wait for the gateway to say both were sent.
	eventually(t, "both events sent", func() bool { st := g.PresenceStats(); return st.Sent >= 2 && st.Pending == 0 })
	got := presenceOf(t, backend.wait(t, 2))
	if st := g.PresenceStats(); st.Failures == 0 || st.Sent < 2 {
		t.Errorf("PresenceStats = %+v; want failed attempts, then both events sent", st)
	}

	// A stalled broker: four events wait, the rest are dropped; devices
	// connect all the same.
	s.Pause(deadline) // resumed below, once the check is made
	for _, id := range []string{"GID_car@@@c", "GID_car@@@d", "GID_car@@@e", "GID_car@@@f", "GID_car@@@g", "GID_car@@@h"} {
		connect(t, g, id)
	}
	eventually(t, "4 events pending and 2 dropped while stalled", func() bool { st := g.PresenceStats(); return st.Dropped == 2 && st.Pending == 4 })
	s.Resume()
	eventually(t, "the waiting events sent", func() bool { return g.PresenceStats().Pending == 0 })
	got = append(got, presenceOf(t, backend.wait(t, 6))...)
	seen := map[string]bool{}
	for _, e := range got {
		seen[e.ClientID] = true
	}
	for _, id := range []string{"GID_car@@@a", "GID_car@@@b", "GID_car@@@c", "GID_car@@@d", "GID_car@@@e", "GID_car@@@f"} {
		if !seen[id] {
			t.Errorf("no connect event of %s; got %v", id, seen)
		}
	}
	if seen["GID_car@@@g"] || seen["GID_car@@@h"] {
		t.Errorf("events past the backlog arrived: %v", seen)
	}
}

func TestPresenceConfig(t *testing.T) {
	for name, c := range map[string]gateway.Config{
		"status topic is a parent": {StatusTopic: "vehicles"},
		"invalid status topic":     {StatusTopic: "status/x"},
		"system status topic":      {StatusTopic: "TBW102"},
		"negative backlog":         {StatusTopic: "status", StatusBacklog: -1},
	} {
		c.NameServer, c.ParentTopics = []string{"127.0.0.1:9876"}, parents
		if _, err := gateway.New(c); !errors.Is(err, gateway.ErrConfig) {
			t.Errorf("%s: New = %v; want ErrConfig", name, err)
		}
	}
}
