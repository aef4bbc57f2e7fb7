package broker

import (
	"sync"
	"time"
)

// deadlines watches every connection's deadline — the connect timeout,
// then the keep-alive — on one goroutine a server, in slots of
// deadlineTick, instead of a runtime timer a connection: a connection in a
// slot costs a 16-byte entry, where a timer and its closure cost about a
// hundred bytes, and a server holds very many idle connections.
//
// A connection sits in the slot of the tick its deadline falls in, or, when
// that is further off than the wheel reaches, in the furthest slot, where
// it is looked at and put back. Each tick takes one slot and checks its
// connections against the clock: the deadline is worked out afresh from
// the connection's state (when it opened, when it last sent something), so
// nothing is rescheduled when bytes arrive, and a connection whose
// deadline moved on goes back in the wheel for what is left.
type deadlines struct {
	mu      sync.Mutex
	slots   [deadlineSlots][]deadlineEntry
	pos     int       // the slot the next tick takes
	next    time.Time // when that tick is due
	running bool
	stopped bool
	stop    chan struct{}
	done    chan struct{}
}

// deadlineEntry is a connection in a slot; seq tells the entry of its
// latest watch from those a later watch superseded, which are dropped.
type deadlineEntry struct {
	c   *Client
	seq uint32
}

const (
	// deadlineTick is how late a deadline may be noticed at most.
	deadlineTick = 100 * time.Millisecond
	// deadlineSlots is how many ticks ahead the wheel reaches (25.6 s):
	// a longer keep-alive has its connection looked at once a turn.
	deadlineSlots = 256
)

// watch puts c in the slot of the tick in after from now, in place of
// where it was, starting the wheel on its first use. It does nothing once
// the wheel stopped.
func (w *deadlines) watch(c *Client, in time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	if !w.running {
		w.running = true
		w.next = time.Now().Add(deadlineTick)
		w.stop, w.done = make(chan struct{}), make(chan struct{})
		go w.run()
	}
	i := (w.pos + ticksAhead(in, time.Until(w.next))) % deadlineSlots
	c.deadlineSeq++
	w.slots[i] = append(w.slots[i], deadlineEntry{c, c.deadlineSeq})
}

// ticksAhead returns which tick after the next one, due in untilNext,
// is the first at or after a deadline in from now, or the furthest the
// wheel reaches: the tick at the next one's time takes slot pos, and each
// later one the slot after.
func ticksAhead(in, untilNext time.Duration) int {
	n := 0
	if d := in - untilNext; d > 0 {
		n = int((d + deadlineTick - 1) / deadlineTick)
	}
	return min(n, deadlineSlots-1)
}

// run takes a slot a tick and checks its connections.
func (w *deadlines) run() {
	defer close(w.done)
	t := time.NewTicker(deadlineTick)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
		w.mu.Lock()
		due := w.slots[w.pos]
		w.slots[w.pos] = nil
		w.pos = (w.pos + 1) % deadlineSlots
		w.next = time.Now().Add(deadlineTick)
		live := due[:0]
		for _, e := range due {
			if e.seq == e.c.deadlineSeq {
				live = append(live, e)
			}
		}
		w.mu.Unlock()
		for _, e := range live {
			e.c.checkDeadline()
		}
	}
}

// close stops the wheel and forgets the connections it watched; the
// server closes them itself.
func (w *deadlines) close() {
	w.mu.Lock()
	w.stopped = true
	running := w.running
	w.slots = [deadlineSlots][]deadlineEntry{}
	w.mu.Unlock()
	if running {
		close(w.stop)
		<-w.done
	}
}
