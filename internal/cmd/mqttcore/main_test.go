package main

import (
	"context"
	"testing"
	"time"

	"github.com/mqttrmq/mqttrmq/internal/mqttload"
	"github.com/mqttrmq/mqttrmq/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestCore runs the core, publishes a QoS 1 message to it and reads the
// PUBACK, and stops it by cancelling its context.
func TestCore(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, "127.0.0.1:0", func(a string) { addrs <- a }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	var addr string
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}

	d := &mqttload.Dialer{Server: addr, Timeout: 5 * time.Second}
	c, err := d.Dial(ctx, mqttload.Connect{ClientID: "device"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id, err := c.Publish("a/b", mqttload.AtLeastOnce, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	acked := make(chan uint16, 1)
	go c.Serve(mqttload.Handler{Puback: func(id uint16) { acked <- id }})
	select {
	case got := <-acked:
		if got != id {
			t.Errorf("PUBACK for packet %d, want %d", got, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no PUBACK")
	}
}

func TestBadListen(t *testing.T) {
	if err := run(context.Background(), "no-such-host-or-port", func(string) {}); err == nil {
		t.Error("run with a bad address succeeded")
	}
}
