package broker_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/mqttrmq/mqttrmq/internal/broker"
	"github.com/mqttrmq/mqttrmq/internal/mqttload"
	"github.com/mqttrmq/mqttrmq/internal/transport"
)

// heldAcks answers no publish itself: the test does, through its acks.
type heldAcks struct {
	broker.NopHooks
	mu     sync.Mutex
	client *broker.Client
	acks   []func(broker.ReasonCode)
}

func (h *heldAcks) Publish(c *broker.Client, _ *broker.Message, ack func(broker.ReasonCode)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.client = c
	h.acks = append(h.acks, ack)
}

// TestHeldAcks: acknowledgements answered while a client's acks are held
// are written only when the last hold is released, all of them, in the
// order of their publishes whatever the order of the answers
// [MQTT-4.6.0-2].
func TestHeldAcks(t *testing.T) {
	h := &heldAcks{}
	srv := broker.New(broker.Options{Logger: slog.New(slog.DiscardHandler)}, h)
	ts, err := transport.Listen(transport.Config{TCP: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)}, srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); ts.Close() })
	d := &mqttload.Dialer{Server: ts.Addr(transport.TCP), Timeout: 5 * time.Second}
	c, err := d.Dial(context.Background(), mqttload.Connect{ClientID: "held", KeepAlive: 60})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 5
	var ids []uint16
	for range n {
		id, err := c.Publish("a/b", mqttload.AtLeastOnce, []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	var acks []func(broker.ReasonCode)
	var client *broker.Client
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		h.mu.Lock()
		acks, client = h.acks, h.client
		h.mu.Unlock()
		if len(acks) == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hook heard %d of %d publishes", len(acks), n)
		}
	}

	client.HoldAcks()
	client.HoldAcks() // holds nest
	for i := n - 1; i >= 0; i-- {
		acks[i](broker.Success)
	}
	client.ReleaseAcks()
	c.NetConn().SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if p, err := c.ReadPacket(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read %v, %v with a hold left; want nothing before the last release", p, err)
	}
	client.ReleaseAcks()
	c.NetConn().SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := range n {
		p, err := c.ReadPacket()
		if err != nil {
			t.Fatalf("PUBACK %d: %v", i, err)
		}
		id, err := mqttload.ParseAckID(p)
		if p.Type() != mqttload.TypePuback || err != nil || id != ids[i] {
			t.Fatalf("packet %d: type %d, id %d (%v); want the PUBACK of %d", i, p.Type(), id, err, ids[i])
		}
	}
}
