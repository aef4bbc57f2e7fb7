package transport

import (
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"
)

// TestQuiesceWaitsForHandOver: quiesce, which Close calls before stopping
// nbio's engines, returns only once the acceptor has come back for the
// next connection, that is, once it has handed the last one to an event
// loop; a connection opening while Engine.Stop waited panicked it.
func TestQuiesceWaitsForHandOver(t *testing.T) {
	l, err := listen("127.0.0.1:0", slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	quiet := make(chan struct{})
	go func() { l.quiesce(); close(quiet) }()
	select {
	case <-quiet:
		t.Fatal("quiesce returned while the acceptor still held the connection it accepted")
	case <-time.After(50 * time.Millisecond):
	}

	next := make(chan error, 1)
	go func() { _, err := l.Accept(); next <- err }()
	select {
	case <-quiet:
	case <-time.After(10 * time.Second):
		t.Fatal("quiesce did not return once the acceptor came back")
	}
	l.Close()
	if err := <-next; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after quiesce and Close: %v, want net.ErrClosed", err)
	}
}
