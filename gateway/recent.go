package gateway

import (
	"sync"
	"time"
)

// recentUplinks remembers, for a few seconds, when this instance took
// each publish it sent to RocketMQ, by the message's unique key. RocketMQ
// keeps a message's birth to the millisecond; when the message comes back,
// the exact time tells a subscription made in the same millisecond, after
// the publisher's PUBACK, that the message is older than it.
//
// Two generations, swapped every recentFor, bound what it holds to what
// this instance sent in the last two recentFor.
type recentUplinks struct {
	mu       sync.Mutex
	cur, old map[string]time.Time
	swapped  time.Time
}

const recentFor = 2 * time.Second

func (r *recentUplinks) put(id string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == nil || at.Sub(r.swapped) > recentFor {
		// Sized as the generation before it: at a steady pace the new
		// one fills as far, without growing on the way.
		r.old, r.cur, r.swapped = r.cur, make(map[string]time.Time, len(r.cur)), at
	}
	r.cur[id] = at
}

// take returns when the message with this key was taken, and forgets it.
func (r *recentUplinks) take(id string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range []map[string]time.Time{r.cur, r.old} {
		if at, ok := m[id]; ok {
			delete(m, id)
			return at, true
		}
	}
	return time.Time{}, false
}
