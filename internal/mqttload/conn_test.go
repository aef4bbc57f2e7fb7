//go:build linux

package mqttload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// startBroker runs an embedded mochi-mqtt broker for the test, letting in
// everyone but the client ID "refused".
func startBroker(t *testing.T) string {
	t.Helper()
	b := mqtt.New(&mqtt.Options{Logger: slog.New(slog.DiscardHandler)})
	rules := auth.AuthRules{{Client: "refused", Allow: false}, {Allow: true}}
	if err := b.AddHook(new(auth.Hook), &auth.Options{Ledger: &auth.Ledger{Auth: rules}}); err != nil {
		t.Fatal(err)
	}
	ln := listeners.NewTCP(listeners.Config{ID: "t", Address: "127.0.0.1:0"})
	if err := b.AddListener(ln); err != nil {
		t.Fatal(err)
	}
	if err := b.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return ln.Address()
}

func TestPublishSubscribe(t *testing.T) {
	ctx := context.Background()
	src, err := LoopbackSources(3)
	if err != nil {
		t.Fatal(err)
	}
	d := &Dialer{Server: startBroker(t), Sources: src, Timeout: 5 * time.Second}

	sub, err := d.Dial(ctx, Connect{ClientID: "sub", KeepAlive: 60})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := sub.Subscribe(ctx, "t/+", AtLeastOnce); err != nil {
		t.Fatal(err)
	}
	pub, err := d.Dial(ctx, Connect{ClientID: "pub"})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if pub.LocalAddr().(*net.TCPAddr).IP.Equal(sub.LocalAddr().(*net.TCPAddr).IP) {
		t.Errorf("both connections from %v; want the sources in turn", pub.LocalAddr())
	}

	const n = 300
	got := make(chan []byte, n)
	subDone := make(chan error, 1)
	go func() {
		subDone <- sub.Serve(Handler{Publish: func(p Publish) {
			if string(p.Topic) != "t/x" || p.QoS != AtLeastOnce || p.ID == 0 {
				t.Errorf("received %+v", p)
			}
			got <- bytes.Clone(p.Payload)
		}})
	}()
	var mu sync.Mutex
	acked := map[uint16]bool{}
	pubDone := make(chan error, 1)
	go func() {
		pubDone <- pub.Serve(Handler{Puback: func(id uint16) { mu.Lock(); acked[id] = true; mu.Unlock() }})
	}()
	for i := range n {
		if _, err := pub.Publish("t/x", AtLeastOnce, fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		select {
		case p := <-got:
			if want := fmt.Sprintf("m%d", i); string(p) != want {
				t.Fatalf("message %d = %q; want %q", i, p, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("received %d of %d", i, n)
		}
	}
	// The subscriber's acknowledgements reach the broker: nothing is left
	// in flight for it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		k := len(acked)
		mu.Unlock()
		if k == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("publisher got %d of %d PUBACKs", k, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := pub.Disconnect(); err != nil {
		t.Errorf("Disconnect: %v", err)
	}
	sub.Close()
	for _, ch := range []chan error{subDone, pubDone} {
		if err := <-ch; !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.EOF) {
			t.Errorf("Serve ended with %v; want a closed connection", err)
		}
	}
}

func TestRefusedConnect(t *testing.T) {
	d := &Dialer{Server: startBroker(t)}
	c, err := d.Dial(context.Background(), Connect{ClientID: "refused"})
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("Dial = %v, %v; want ErrRefused", c, err)
	}
}

func TestHandshakeTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	d := &Dialer{Server: ln.Addr().String(), Timeout: 200 * time.Millisecond}
	if _, err := d.Dial(context.Background(), Connect{ClientID: "c"}); err == nil {
		t.Fatal("Dial to a server that never answers succeeded")
	}
	(<-accepted).Close()
}

func TestConnectManyAndIdle(t *testing.T) {
	d := &Dialer{Server: startBroker(t), ReceiveBuffer: 4096}
	ctx := context.Background()
	conns, err := ConnectMany(ctx, 200, 16, func(ctx context.Context, i int) (*Conn, error) {
		c, err := d.Dial(ctx, Connect{ClientID: fmt.Sprintf("c%d", i), KeepAlive: 60})
		if err != nil {
			return nil, err
		}
		if err := c.Subscribe(ctx, fmt.Sprintf("dev/%d/cmd", i), AtMostOnce); err != nil {
			c.Close()
			return nil, err
		}
		c.Idle()
		return c, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer CloseAll(conns)
	if len(conns) != 200 {
		t.Fatalf("%d connections", len(conns))
	}
	rc, err := conns[0].NetConn().(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var size int
	rc.Control(func(fd uintptr) { size, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF) })
	if size < 4096 || size > 3*4096 { // Linux doubles the value for its bookkeeping
		t.Errorf("SO_RCVBUF %d; want about 4096", size)
	}

	// A failing connection closes the others and names itself.
	_, err = ConnectMany(ctx, 20, 4, func(ctx context.Context, i int) (*Conn, error) {
		if i == 7 {
			return d.Dial(ctx, Connect{ClientID: "refused"})
		}
		return d.Dial(ctx, Connect{ClientID: fmt.Sprintf("x%d", i)})
	})
	if !errors.Is(err, ErrRefused) {
		t.Errorf("ConnectMany = %v; want connection 7's refusal", err)
	}
}

func TestRaiseFileLimit(t *testing.T) {
	n, err := RaiseFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	if n != l.Cur || l.Cur != l.Max {
		t.Errorf("RaiseFileLimit = %d; limit now %d of %d", n, l.Cur, l.Max)
	}
}

func TestLoopbackSources(t *testing.T) {
	s, err := LoopbackSources(2)
	if err != nil || len(s) != 2 || s[0].String() != "127.0.0.2" || s[1].String() != "127.0.0.3" {
		t.Errorf("LoopbackSources(2) = %v, %v", s, err)
	}
	for _, n := range []int{0, 251} {
		if _, err := LoopbackSources(n); err == nil {
			t.Errorf("LoopbackSources(%d) succeeded", n)
		}
	}
}

func TestWriteTimeout(t *testing.T) {
	// A server that accepts, answers CONNACK, then reads nothing.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		buf := make([]byte, 64)
		c.Read(buf) // the CONNECT
		c.Write([]byte{TypeConnack << 4, 2, 0, 0})
		held <- c
	}()
	d := &Dialer{Server: ln.Addr().String(), WriteTimeout: 200 * time.Millisecond}
	c, err := d.Dial(context.Background(), Connect{ClientID: "w"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	defer func() { (<-held).Close() }()
	payload := make([]byte, 64<<10)
	start := time.Now()
	for time.Since(start) < 10*time.Second {
		if _, err := c.Publish("t", AtMostOnce, payload); err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Publish: %v; want a deadline error", err)
			}
			return
		}
	}
	t.Fatal("publishing to a server that reads nothing never failed")
}
