package transport

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// nbio's Engine.Stop hangs if it comes before every poller goroutine that
// Engine.Start launched has run: stop sets the poller's shutdown flag and
// wakes it once, and a poller that starts after that clears the flag as
// it enters its loop, then waits for events forever (nbio v1.6.8,
// poller_epoll.go; a Server closed right after Listen, on a loaded
// machine, is enough). Start does not wait for its pollers, and they say
// nothing but a debug log line as they begin; so each engine gets a name
// of its own, the transport's logger for nbio (slogAdapter) hears those
// lines, and startEngine returns once every poller of its engine said it
// started. If the lines never come (another logger installed for nbio in
// the same program), it gives up waiting after pollerStartWait.

// pollerStartWait bounds how long startEngine waits for its pollers.
const pollerStartWait = 5 * time.Second

// pollerStartFormat is the format of the line nbio's pollers log first.
const pollerStartFormat = "NBIO[%v][%v_%v] start"

var (
	engineSeq     atomic.Uint64
	pollerStarts  sync.Map // engine name → chan struct{}, while it starts
	errNoStartLog = fmt.Errorf("transport: nbio's pollers did not say they started within %v", pollerStartWait)
)

// engineName returns a name no other engine of this process has.
func engineName(kind string) string {
	return fmt.Sprintf("mqtt-%s-%d", kind, engineSeq.Add(1))
}

// startEngine calls start, which starts the engine named name with
// pollers pollers (listeners included), and waits until they all run.
func startEngine(name string, pollers int, start func() error) error {
	ch := make(chan struct{}, pollers)
	pollerStarts.Store(name, ch)
	defer pollerStarts.Delete(name)
	if err := start(); err != nil {
		return err
	}
	timeout := time.NewTimer(pollerStartWait)
	defer timeout.Stop()
	for range pollers {
		select {
		case <-ch:
		case <-timeout.C:
			slog.Warn(errNoStartLog.Error(), "engine", name)
			return nil
		}
	}
	return nil
}

// notePollerStart is given every debug line nbio logs; it tells the
// engine starting that one of its pollers runs.
func notePollerStart(format string, v []any) {
	if format != pollerStartFormat || len(v) == 0 {
		return
	}
	name, ok := v[0].(string)
	if !ok {
		return
	}
	if ch, ok := pollerStarts.Load(name); ok {
		select {
		case ch.(chan struct{}) <- struct{}{}:
		default:
		}
	}
}
