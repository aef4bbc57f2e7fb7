package transport

import (
	"net"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// recorder keeps what its connections receive.
type recorder struct {
	mu     sync.Mutex
	conns  []Conn
	chunks []int // the length of every Data call
	total  int
	closed chan error
}

func (r *recorder) Open(c Conn, _ Kind) Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.conns = append(r.conns, c)
	return r
}

func (r *recorder) Data(b []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.chunks = append(r.chunks, len(b))
	r.total += len(b)
	return nil
}

func (r *recorder) Closed(err error) { r.closed <- err }

func (r *recorder) received() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

func listenTCP(t *testing.T) (*Server, *recorder) {
	t.Helper()
	r := &recorder{closed: make(chan error, 10)}
	s, err := Listen(Config{TCP: "127.0.0.1:0"}, r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, r
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s: not within 10 s", what)
		}
	}
}

// TestCloseRightAfterListen: a Server closed as soon as Listen returned,
// before the event loops had a chance to run (one P, nothing yielding),
// closes: nbio's Stop hangs on a poller that starts after it, which
// startEngine prevents (without it this test never ends).
func TestCloseRightAfterListen(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for range 100 {
		s, err := Listen(Config{TCP: "127.0.0.1:0", WebSocket: "127.0.0.1:0"}, &recorder{closed: make(chan error, 10)})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
}

// TestCloseOnExec: an accepted socket is not inherited by a process the
// program starts, which would keep it open after it was closed here.
func TestCloseOnExec(t *testing.T) {
	s, r := listenTCP(t)
	c, err := net.Dial("tcp", s.Addr(TCP))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitFor(t, "the connection is opened", func() bool { r.mu.Lock(); defer r.mu.Unlock(); return len(r.conns) == 1 })
	raw, err := r.conns[0].(tcpConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var flags int
	raw.Control(func(fd uintptr) { flags, err = unix.FcntlInt(fd, syscall.F_GETFD, 0) })
	if err != nil || flags&syscall.FD_CLOEXEC == 0 {
		t.Errorf("descriptor flags %#x, %v; want FD_CLOEXEC", flags, err)
	}
}

// TestCloseFromElsewhere: a connection closed by another goroutine than
// its poller's is shut down, and its Session hears Closed.
func TestCloseFromElsewhere(t *testing.T) {
	s, r := listenTCP(t)
	c, err := net.Dial("tcp", s.Addr(TCP))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitFor(t, "the connection is opened", func() bool { r.mu.Lock(); defer r.mu.Unlock(); return len(r.conns) == 1 })
	r.conns[0].Close()
	select {
	case <-r.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Closed never came")
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("the peer can still read from a closed connection")
	}
}
