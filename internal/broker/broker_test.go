package broker_test

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqttrmq/mqttrmq/internal/broker"
	"github.com/mqttrmq/mqttrmq/internal/testenv"
	"github.com/mqttrmq/mqttrmq/internal/transport"
)

func TestMain(m *testing.M) { testenv.Main(m, testenv.PahoGoroutines()...) }

// loopback routes every publish straight back through the broker, as a
// plain MQTT broker does, so that the core can be tested without RocketMQ.
type loopback struct {
	broker.NopHooks
	srv *broker.Server
}

func (l *loopback) Publish(_ *broker.Client, m *broker.Message, ack func(broker.ReasonCode)) {
	l.srv.Publish(m)
	if ack != nil {
		ack(broker.Success)
	}
}

func start(t *testing.T, opts broker.Options) (*broker.Server, string) {
	t.Helper()
	h := &loopback{}
	opts.Logger = slog.New(slog.DiscardHandler)
	srv := broker.New(opts, h)
	h.srv = srv
	ts, err := transport.Listen(transport.Config{TCP: "127.0.0.1:0", Logger: opts.Logger}, srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); ts.Close() })
	return srv, ts.Addr(transport.TCP)
}

func dial(t *testing.T, addr, id string, clean bool, got chan paho.Message) paho.Client {
	t.Helper()
	o := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetCleanSession(clean).
		SetAutoReconnect(false).SetOrderMatters(true).SetProtocolVersion(4).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { got <- m })
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

func TestPublishSubscribe(t *testing.T) {
	_, addr := start(t, broker.Options{})
	got := make(chan paho.Message, 100)
	sub := dial(t, addr, "sub", true, got)
	if tok := sub.Subscribe("a/+/c", 2, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	pub := dial(t, addr, "pub", true, make(chan paho.Message, 1))
	for q := byte(0); q <= 2; q++ {
		tok := pub.Publish("a/b/c", q, false, fmt.Sprint("m", q))
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	for q := byte(0); q <= 2; q++ {
		select {
		case m := <-got:
			if string(m.Payload()) != fmt.Sprint("m", q) || m.Qos() != q || m.Topic() != "a/b/c" {
				t.Errorf("got %s %q qos %d", m.Topic(), m.Payload(), m.Qos())
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("message %d never arrived", q)
		}
	}
}

// held answers every publish only when released, as a slow RocketMQ would.
type held struct {
	broker.NopHooks
	acks chan func(broker.ReasonCode)
}

func (h *held) Publish(_ *broker.Client, _ *broker.Message, ack func(broker.ReasonCode)) {
	if ack != nil {
		h.acks <- ack
	}
}

// TestPauseAtReceiveMaximum: an MQTT 3.1.1 client that keeps publishing
// at QoS 1 while none is acknowledged is read no further past the receive
// maximum, and every publish is acknowledged, in order, once the hook
// answers.
func TestPauseAtReceiveMaximum(t *testing.T) {
	h := &held{acks: make(chan func(broker.ReasonCode), 1000)}
	srv := broker.New(broker.Options{ReceiveMaximum: 4, Logger: slog.New(slog.DiscardHandler)}, h)
	ts, err := transport.Listen(transport.Config{TCP: "127.0.0.1:0"}, srv)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Close(); ts.Close() }()
	c := dial(t, ts.Addr(transport.TCP), "pub", true, make(chan paho.Message, 1))
	var toks []paho.Token
	for i := range 10 {
		toks = append(toks, c.Publish("a", 1, false, fmt.Sprint(i)))
	}
	// Four reach the hook; the rest wait unread.
	var got []func(broker.ReasonCode)
	for range 4 {
		select {
		case a := <-h.acks:
			got = append(got, a)
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d publishes reached the hook", len(got))
		}
	}
	select {
	case <-h.acks:
		t.Fatal("a fifth publish was read past the receive maximum")
	case <-time.After(200 * time.Millisecond):
	}
	// Answering them, last first, lets the rest in, and all are
	// acknowledged.
	for i := len(got) - 1; i >= 0; i-- {
		got[i](broker.Success)
	}
	go func() {
		for a := range h.acks {
			a(broker.Success)
		}
	}()
	for i, tok := range toks {
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %d never acknowledged: %v", i, tok.Error())
		}
	}
	close(h.acks)
}

// TestTakeover: a second connection with a client ID closes the first
// [MQTT-3.1.4-2], and a persistent session's subscription follows it.
func TestTakeover(t *testing.T) {
	srv, addr := start(t, broker.Options{})
	got1, got2 := make(chan paho.Message, 10), make(chan paho.Message, 10)
	first := dial(t, addr, "dev", false, got1)
	if tok := first.Subscribe("t/#", 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	o := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("dev").SetCleanSession(false).
		SetAutoReconnect(false).SetProtocolVersion(4).SetResumeSubs(false).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { got2 <- m })
	second := paho.NewClient(o)
	tok := second.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer second.Disconnect(0)
	if !tok.(*paho.ConnectToken).SessionPresent() {
		t.Error("the second connection found no session present")
	}
	for end := time.Now().Add(10 * time.Second); first.IsConnectionOpen(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the first connection stayed open")
		}
	}
	srv.Publish(&broker.Message{Topic: "t/x", QoS: 1, Payload: []byte("after")})
	select {
	case m := <-got2:
		if string(m.Payload()) != "after" {
			t.Errorf("got %q", m.Payload())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the subscription did not follow the session")
	}
	if st := srv.Stats(); st.Takeovers != 1 {
		t.Errorf("stats %+v; want 1 takeover", st)
	}
}

// TestSessionStateRoundTrip: what Sessions saves, Restore brings back:
// the subscriptions, and the messages held for the client, which it gets
// when it returns.
func TestSessionStateRoundTrip(t *testing.T) {
	srv, addr := start(t, broker.Options{})
	c := dial(t, addr, "away", false, make(chan paho.Message, 1))
	if tok := c.Subscribe("t/+", 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	c.Disconnect(0)
	for end := time.Now().Add(10 * time.Second); srv.Connected() > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the client never left")
		}
	}
	for i := range 3 {
		srv.Publish(&broker.Message{Topic: "t/x", QoS: 1, Payload: []byte(fmt.Sprint(i))})
	}
	saved := srv.Sessions()
	if len(saved) != 1 || len(saved[0].Subscriptions) != 1 || len(saved[0].Messages) != 3 {
		t.Fatalf("Sessions() = %+v; want one session, one subscription, three messages", saved)
	}

	srv2, addr2 := start(t, broker.Options{})
	srv2.Restore(saved)
	got := make(chan paho.Message, 10)
	o := paho.NewClientOptions().AddBroker("tcp://" + addr2).SetClientID("away").SetCleanSession(false).
		SetAutoReconnect(false).SetProtocolVersion(4).SetOrderMatters(true).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { got <- m })
	c2 := paho.NewClient(o)
	if tok := c2.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c2.Disconnect(0)
	for i := range 3 {
		select {
		case m := <-got:
			if string(m.Payload()) != fmt.Sprint(i) {
				t.Errorf("message %d = %q", i, m.Payload())
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("message %d never came", i)
		}
	}
	srv2.Publish(&broker.Message{Topic: "t/y", QoS: 1, Payload: []byte("live")})
	select {
	case m := <-got:
		if string(m.Payload()) != "live" {
			t.Errorf("got %q; want the restored subscription's live message", m.Payload())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the restored subscription matched nothing")
	}
}

// TestDeliverDoesNotRetain: a message Retain kept, delivered again with
// Deliver after a later retained message replaced it, does not take that
// place back: a new subscriber gets the later one.
func TestDeliverDoesNotRetain(t *testing.T) {
	srv, addr := start(t, broker.Options{})
	first := &broker.Message{Topic: "a/b", Payload: []byte("first"), QoS: 1, Retain: true}
	srv.Retain(first)
	srv.Publish(&broker.Message{Topic: "a/b", Payload: []byte("second"), QoS: 1, Retain: true})
	srv.Deliver(first)
	got := make(chan paho.Message, 10)
	sub := dial(t, addr, "sub", true, got)
	if tok := sub.Subscribe("a/#", 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	select {
	case m := <-got:
		if string(m.Payload()) != "second" || !m.Retained() {
			t.Errorf("a new subscriber got %q, retained %v; want the later retained message", m.Payload(), m.Retained())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no retained message")
	}
	if n := srv.Retained(); n != 1 {
		t.Errorf("%d retained messages; want 1", n)
	}
}
