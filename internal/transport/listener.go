package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/lesismal/nbio/logging"
)

// backoffListener is a TCP listener that survives running out of file
// descriptors and can stop accepting without ending its event loop.
//
// nbio's acceptor loop goes round again at once after a failed Accept, so a
// process out of file descriptors would spin on accept(2). Accept here
// waits instead, backing off up to a second, as net/http's server does, and
// returns only a connection or, once the transport stops, net.ErrClosed.
// StopAccepting closes the socket (new connections are refused) but keeps
// Accept waiting until the transport stops, for a drain.
type backoffListener struct {
	net.Listener
	log *slog.Logger

	once    sync.Once
	stopped chan struct{} // closed by Close: Accept returns
	// accepting is closed as Accept is first called: nbio's acceptor
	// runs its loop (see startEngine).
	accepting chan struct{}
	entered   sync.Once
	mu        sync.Mutex
	closed    bool // the socket is closed
	// handing says that Accept returned a connection and its caller has
	// not called Accept again: nbio's acceptor is still handing that
	// connection to an event loop. idle hears when it is through.
	handing bool
	idle    *sync.Cond
}

func listen(addr string, log *slog.Logger) (*backoffListener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	l := &backoffListener{Listener: ln, log: log, stopped: make(chan struct{}), accepting: make(chan struct{})}
	l.idle = sync.NewCond(&l.mu)
	return l, nil
}

// Accept returns the next connection; see backoffListener.
func (l *backoffListener) Accept() (net.Conn, error) {
	l.entered.Do(func() { close(l.accepting) })
	l.handedOver()
	var backoff time.Duration
	for {
		c, err := l.Listener.Accept()
		if err == nil {
			if l.handOut() {
				return c, nil
			}
			c.Close() // it came in as the socket closed: refused
			err = net.ErrClosed
		}
		if l.isClosed() || errors.Is(err, net.ErrClosed) {
			<-l.stopped
			return nil, net.ErrClosed
		}
		backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
		l.log.Warn("accepting a connection failed; retrying", "error", err, "backoff", backoff)
		select {
		case <-time.After(backoff):
		case <-l.stopped:
			return nil, net.ErrClosed
		}
	}
}

// handOut marks a connection Accept is about to return as being handed to
// an event loop, unless the socket was closed meanwhile.
func (l *backoffListener) handOut() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.handing = true
	return true
}

// handedOver is called as Accept is called again: nbio's acceptor, one
// goroutine a listener, has handed the last connection to its event loop.
func (l *backoffListener) handedOver() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.handing = false
	l.idle.Broadcast()
}

// quiesce stops accepting and waits until the last connection accepted is
// in its event loop. nbio's Engine.Stop counts the connections it waits
// for as they open, and one opening while it waits panics the process
// ("WaitGroup is reused") and is never closed: the transport stops its
// engines only after this.
func (l *backoffListener) quiesce() {
	l.stopAccepting()
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.handing {
		l.idle.Wait()
	}
}

func (l *backoffListener) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// stopAccepting closes the socket; Accept keeps waiting for Close.
func (l *backoffListener) stopAccepting() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		l.Listener.Close()
	}
}

// Close closes the socket and lets Accept return.
func (l *backoffListener) Close() error {
	l.stopAccepting()
	l.once.Do(func() { close(l.stopped) })
	return nil
}

// quietLibraryLogs sends nbio's logs, which go through one process-wide
// logger, to slog.Default(): its start-up and per-connection notes at
// debug level, its warnings and errors as warnings.
func quietLibraryLogs() { libraryLogs.Do(func() { logging.SetLogger(slogAdapter{}) }) }

var libraryLogs sync.Once

type slogAdapter struct{}

func (slogAdapter) Debug(format string, v ...any) { slogf(slog.LevelDebug, format, v) }
func (slogAdapter) Info(format string, v ...any)  { slogf(slog.LevelDebug, format, v) }
func (slogAdapter) Warn(format string, v ...any)  { slogf(slog.LevelWarn, format, v) }
func (slogAdapter) Error(format string, v ...any) { slogf(slog.LevelWarn, format, v) }

func slogf(level slog.Level, format string, v []any) {
	if l := slog.Default(); l.Enabled(context.Background(), level) {
		l.Log(context.Background(), level, fmt.Sprintf(format, v...), "source", "nbio")
	}
}
