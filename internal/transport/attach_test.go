package transport

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// TestAttach: a connection the process dialled, attached to the raw MQTT
// loops, gets what its peer writes through its own Session, not the
// Handler's; what is written to it reaches the peer; a client accepted
// meanwhile is the Handler's as before; closing it and closing the
// server are heard once each; a closed server, or one without a TCP
// listener, refuses to attach.
func TestAttach(t *testing.T) {
	s, r := listenTCP(t)
	peer, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := peer.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	nc, err := net.Dial("tcp", peer.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	far := <-accepted
	defer far.Close()
	mine := &recorder{closed: make(chan error, 10)}
	c, err := s.Attach(nc, mine)
	if err != nil {
		t.Fatal(err)
	}
	client, err := net.Dial("tcp", s.Addr(TCP))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if _, err := client.Write([]byte("mqtt")); err != nil {
		t.Fatal(err)
	}
	if _, err := far.Write([]byte("answer")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the attached connection reads the peer's 6 bytes", func() bool { return mine.received() == 6 })
	waitFor(t, "the accepted client's 4 bytes reach the handler", func() bool { return r.received() == 4 })
	if _, err := c.Write([]byte("request")); err != nil {
		t.Fatal(err)
	}
	far.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, 7)
	if _, err := io.ReadFull(far, got); err != nil || string(got) != "request" {
		t.Fatalf("the peer read %q, %v; want \"request\"", got, err)
	}
	if mine.received() != 6 || r.received() != 4 {
		t.Errorf("the attached session has %d bytes and the handler's %d; want 6 and 4", mine.received(), r.received())
	}
	c.Close()
	select {
	case <-mine.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("closing the attached connection was not heard")
	}

	// One still attached when the server closes hears it before Close
	// returns.
	nc2, err := net.Dial("tcp", peer.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	last := &recorder{closed: make(chan error, 10)}
	if _, err := s.Attach(nc2, last); err != nil {
		t.Fatal(err)
	}
	s.Close()
	select {
	case <-last.closed:
	default:
		t.Error("an attached connection was not closed by the server's Close")
	}
	nc3, err := net.Dial("tcp", peer.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Attach(nc3, last); !errors.Is(err, ErrNotAttached) {
		t.Errorf("Attach to a closed server: %v; want ErrNotAttached", err)
	}

	ws, err := Listen(Config{WebSocket: "127.0.0.1:0"}, r)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	nc4, err := net.Dial("tcp", peer.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ws.Attach(nc4, last); !errors.Is(err, ErrNotAttached) {
		t.Errorf("Attach to a server without a TCP listener: %v; want ErrNotAttached", err)
	}
}
