package main

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/mqttrmq/mqttrmq/internal/mqttload"
	"github.com/mqttrmq/mqttrmq/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestBroker runs the broker, passes a QoS 1 message from one client to
// another through it, and stops it by cancelling its context.
func TestBroker(t *testing.T) {
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, addr) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()

	d := &mqttload.Dialer{Server: addr, Timeout: 5 * time.Second}
	var sub *mqttload.Conn
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := d.Dial(ctx, mqttload.Connect{ClientID: "sub"})
		if err == nil {
			sub = c
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the broker never answered: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer sub.Close()
	if err := sub.Subscribe(ctx, "a/+", mqttload.AtLeastOnce); err != nil {
		t.Fatal(err)
	}
	pub, err := d.Dial(ctx, mqttload.Connect{ClientID: "pub"})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if _, err := pub.Publish("a/b", mqttload.AtLeastOnce, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	p, err := sub.ReadPacket()
	if err != nil {
		t.Fatal(err)
	}
	got, err := mqttload.ParsePublish(p)
	if err != nil || string(got.Topic) != "a/b" || !bytes.Equal(got.Payload, []byte("hello")) || got.QoS != mqttload.AtLeastOnce {
		t.Errorf("received %+v, %v", got, err)
	}
}

func TestBadListen(t *testing.T) {
	if err := run(context.Background(), "no-such-host-or-port"); err == nil {
		t.Error("run with a bad address succeeded")
	}
}
