package transport

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// counter counts the connections its Server opened and closed.
type counter struct{ opened, closed atomic.Int64 }

func (c *counter) Open(Conn, Kind) Session { c.opened.Add(1); return c }
func (c *counter) Data([]byte) error       { return nil }
func (c *counter) Closed(error)            { c.closed.Add(1) }

// closeWithin closes s, failing the test with every goroutine's stack if
// Close has not returned within a minute.
func closeWithin(t *testing.T, s *Server, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		buf := make([]byte, 1<<20)
		t.Fatalf("%s: Close has not returned within a minute\n%s", what, buf[:runtime.Stack(buf, true)])
	}
}

// TestCloseAsClientsDial: a Server closed as soon as Listen returned,
// with clients dialling it all along, closes, and every connection it
// opened is closed. Without startEngine's wait for every poller, one of
// the iterations hung in nbio's Engine.Stop under the race detector: a
// poller that entered its loop after Stop had stopped it ran on forever.
func TestCloseAsClientsDial(t *testing.T) {
	for i := range 30 {
		h := &counter{}
		s, err := Listen(Config{TCP: "127.0.0.1:0"}, h)
		if err != nil {
			t.Fatal(err)
		}
		addr := s.Addr(TCP)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if c, err := net.DialTimeout("tcp", addr, 10*time.Second); err == nil {
						c.Close()
					}
				}
			})
		}
		closeWithin(t, s, fmt.Sprintf("iteration %d", i))
		close(stop)
		wg.Wait()
		if o, c := h.opened.Load(), h.closed.Load(); o != c {
			t.Fatalf("iteration %d: %d connections opened, %d closed", i, o, c)
		}
	}
}

// TestProbesReachEveryLoop: Listen returns once each event loop of every
// transport has read a probe, which no Handler hears of and which leaves
// no descriptor open.
func TestProbesReachEveryLoop(t *testing.T) {
	fds := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	cfg := Config{
		TCP: "127.0.0.1:0", TLS: "127.0.0.1:0", WebSocket: "127.0.0.1:0", SecureWebSocket: "127.0.0.1:0",
		TLSConfig: &tls.Config{}, Pollers: 8,
	}
	if s, err := Listen(cfg, &counter{}); err == nil { // what the process opens once is opened
		s.Close()
	}
	before := fds()
	h := &counter{}
	s, err := Listen(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	if n := h.opened.Load(); n != 0 {
		t.Errorf("the Handler opened %d connections; want none (probes are not clients)", n)
	}
	closeWithin(t, s, "closing")
	if n := h.closed.Load(); n != 0 {
		t.Errorf("the Handler heard %d connections close; want none", n)
	}
	// Descriptors closed elsewhere (by earlier tests' connections) may
	// close meanwhile; a probe left open would keep the count up.
	waitFor(t, "as few descriptors open after Listen and Close as before", func() bool { return fds() <= before })
}
