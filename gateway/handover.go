package gateway

import (
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
)

// handover keeps downlink deliveries out of a session takeover.
//
// When a client with a persistent session reconnects, the broker copies the
// old session's unacknowledged messages to the new connection, clears the
// old session, and only then registers the new one. A message delivered in
// between lands in the old session after the copy and is lost. So a
// takeover holds this lock for writing, from just before the copy until the
// CONNACK is on its way, and every downlink delivery holds it for reading.
//
// The broker offers no hook right after it registers the new session, and
// a connection that fails in between reaches no later hook at all, so the
// lock is released by whichever comes first: the CONNACK being encoded, the
// session being established, the client disconnecting, or a timeout.
type handover struct {
	mu      sync.RWMutex
	pending sync.Map // *mqtt.Client -> *takeover
}

// handoverTimeout bounds how long one connection's handshake can hold up
// the downlink.
const handoverTimeout = 2 * time.Second

type takeover struct {
	release func()
	timer   *time.Timer
}

// begin is called as a client's session is about to be established.
func (h *handover) begin(cl *mqtt.Client) {
	h.mu.Lock()
	t := &takeover{release: sync.OnceFunc(h.mu.Unlock)}
	h.pending.Store(cl, t)
	t.timer = time.AfterFunc(handoverTimeout, func() { h.end(cl) })
}

// end releases the lock a client's handshake holds, once.
func (h *handover) end(cl *mqtt.Client) {
	if v, ok := h.pending.LoadAndDelete(cl); ok {
		t := v.(*takeover)
		t.timer.Stop()
		t.release()
	}
}

// deliver runs f outside of every takeover.
func (h *handover) deliver(f func()) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	f()
}
