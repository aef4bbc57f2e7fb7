package broker_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqttrmq/mqttrmq/internal/broker"
	"github.com/mqttrmq/mqttrmq/internal/transport"
)

// observed records what an Observer hears.
type observed struct {
	mu       sync.Mutex
	connects []broker.ReasonCode
	written  []string
}

func (o *observed) ConnectHandled(_ transport.Kind, code broker.ReasonCode, took time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if took < 0 {
		code = 0xEE // impossible: reported as a wrong code
	}
	o.connects = append(o.connects, code)
}

func (o *observed) Written(m *broker.Message, _ time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.written = append(o.written, m.Topic)
}

// syncBuffer is a log destination safe for the event loops.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// dial5 connects a paho.golang MQTT 5 client; what the server's DISCONNECT
// said arrives on disc.
func dial5(t *testing.T, addr, id string, disc chan *paho5.Disconnect) (*paho5.Client, *paho5.Connack, error) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := paho5.NewClient(paho5.ClientConfig{Conn: conn, OnServerDisconnect: func(d *paho5.Disconnect) { disc <- d }})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := c.Connect(ctx, &paho5.Connect{ClientID: id, CleanStart: true, KeepAlive: 30})
	t.Cleanup(func() {
		c.Disconnect(&paho5.Disconnect{})
		<-c.Done()
	})
	return c, ack, err
}

// TestDrain: Drain tells MQTT 5 clients to use another server, returns
// the MQTT 3.1.1 ones for the caller to close, refuses later CONNECTs
// with the same reference, and every connection event is one log line
// with its reason code. The Observer hears each CONNECT and each message
// written.
func TestDrain(t *testing.T) {
	obs := &observed{}
	logs := &syncBuffer{}
	h := &loopback{}
	srv := broker.New(broker.Options{Observer: obs, Logger: slog.New(slog.NewTextHandler(logs, nil))}, h)
	h.srv = srv
	ts, err := transport.Listen(transport.Config{TCP: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)}, srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); ts.Close() })
	addr := ts.Addr(transport.TCP)

	got := make(chan paho.Message, 10)
	v3 := dial(t, addr, "old", true, got)
	if tok := v3.Subscribe("a/b", 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if tok := v3.Publish("a/b", 1, false, "x"); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no message")
	}
	disc := make(chan *paho5.Disconnect, 1)
	if _, _, err := dial5(t, addr, "new", disc); err != nil {
		t.Fatal(err)
	}

	rest := srv.Drain(broker.UseAnotherServer, "other.example:1883")
	select {
	case d := <-disc:
		if d.ReasonCode != byte(broker.UseAnotherServer) || d.Properties == nil || d.Properties.ServerReference != "other.example:1883" {
			t.Errorf("DISCONNECT %#x %+v; want 0x9C with server reference other.example:1883", d.ReasonCode, d.Properties)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the MQTT 5 client got no DISCONNECT")
	}
	if len(rest) != 1 || rest[0].ID() != "old" {
		t.Fatalf("Drain returned %d clients; want the MQTT 3.1.1 one", len(rest))
	}
	if !v3.IsConnectionOpen() {
		t.Error("the MQTT 3.1.1 client was closed by Drain; its caller decides when")
	}
	rest[0].Disconnect(broker.ServerShuttingDown, "drained")

	_, ack, err := dial5(t, addr, "late", make(chan *paho5.Disconnect, 1))
	if err == nil || ack == nil || ack.ReasonCode != byte(broker.UseAnotherServer) || ack.Properties == nil || ack.Properties.ServerReference != "other.example:1883" {
		t.Errorf("CONNECT after Drain: %+v, %v; want CONNACK 0x9C with the server reference", ack, err)
	}

	deadline := time.Now().Add(10 * time.Second)
	for srv.Stats().Connected > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	for _, want := range []string{
		`msg="client connected" client=old`,
		`msg="client connected" client=new`,
		`msg="client disconnected" client=new`,
		`by=server code="use another server (0x9C)" reason="the server is shutting down"`,
		`by=server code="server shutting down (0x8B)" reason=drained`,
		`msg="connection refused" client=late`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	if n := strings.Count(logs.String(), `msg="client disconnected"`); n != 2 {
		t.Errorf("%d disconnect lines; want one per connection:\n%s", n, logs)
	}
	// The observer hears of a CONNECT before its CONNACK is queued: all
	// three are heard by now.
	want := []broker.ReasonCode{broker.Success, broker.Success, broker.UseAnotherServer}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if !equalCodes(obs.connects, want) {
		t.Errorf("observed CONNECTs %v; want %v", obs.connects, want)
	}
	if len(obs.written) != 1 || obs.written[0] != "a/b" {
		t.Errorf("observed writes %v; want [a/b]", obs.written)
	}
}

func equalCodes(a, b []broker.ReasonCode) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
