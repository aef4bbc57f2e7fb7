package cluster

import (
	"sync"

	"github.com/mqttrmq/mqttrmq"
)

// target is who wants messages matching a filter: an instance (for its
// clean sessions) or a persistent session.
type target struct {
	instance string // "" for a session
	session  string // "" for an instance
}

// interest maps every filter anyone holds to who holds it, counted. The
// filters live in an mqttrmq.FilterSet, which finds those a topic matches
// without splitting it; the few valid filters a FilterSet does not take
// are matched one by one.
type interest struct {
	set    mqttrmq.FilterSet
	held   map[string]holders
	others map[string]bool // filters the set refused

	// changed, if set, hears a filter held by someone for the first
	// time (added) and held by no one any more.
	changed func(filter string, added bool)

	// bufs holds the lists match fills (*[16]string): one of match's own
	// would move to the heap on every call, since FilterSet's walk keeps
	// the list it is given, and every dispatch would allocate one.
	bufs sync.Pool
}

// holders counts who holds one filter. Most filters have one holder (a
// device's own command topic, held by the instance it is connected to),
// so the first is kept inline and only the others in a map: a map for one
// holder would cost more than the rest of the filter's entry.
type holders struct {
	first target
	n     int            // first's count; 0 when first holds nothing
	more  map[target]int // everyone else, nil until needed
}

func (h *holders) add(t target, n int) {
	switch {
	case h.n > 0 && h.first == t:
		h.n += n
	case h.n == 0 && h.more[t] == 0:
		h.first, h.n = t, n
	default:
		if h.more == nil {
			h.more = map[target]int{}
		}
		h.more[t] += n
	}
}

// remove takes n from t's count and reports whether t held the filter.
func (h *holders) remove(t target, n int) bool {
	if h.n > 0 && h.first == t {
		if h.n -= n; h.n <= 0 {
			h.first, h.n = target{}, 0
		}
		return true
	}
	if h.more[t] == 0 {
		return false
	}
	if h.more[t] -= n; h.more[t] <= 0 {
		delete(h.more, t)
	}
	return true
}

func (h *holders) empty() bool { return h.n == 0 && len(h.more) == 0 }

func (x *interest) add(filter string, t target, n int) {
	if n <= 0 {
		return
	}
	if x.held == nil {
		x.held = map[string]holders{}
		x.others = map[string]bool{}
	}
	h, ok := x.held[filter]
	if !ok {
		if err := x.set.Add(filter); err != nil {
			x.others[filter] = true
		}
		if x.changed != nil {
			x.changed(filter, true)
		}
	}
	h.add(t, n)
	x.held[filter] = h
}

func (x *interest) remove(filter string, t target, n int) {
	h, ok := x.held[filter]
	if !ok || !h.remove(t, n) {
		return
	}
	if !h.empty() {
		x.held[filter] = h
		return
	}
	delete(x.held, filter)
	if x.others[filter] {
		delete(x.others, filter)
	} else {
		x.set.Remove(filter)
	}
	if x.changed != nil {
		x.changed(filter, false)
	}
}

// match calls f for every target with a filter matching topic.
func (x *interest) match(topic string, f func(target)) {
	buf, _ := x.bufs.Get().(*[16]string)
	if buf == nil {
		buf = new([16]string)
	}
	filters, err := x.set.AppendFilters(buf[:0], topic)
	defer func() {
		clear(buf[:])
		x.bufs.Put(buf)
	}()
	if err != nil {
		return
	}
	for of := range x.others {
		if mqttrmq.MatchTopic(of, topic) {
			filters = append(filters, of)
		}
	}
	for _, fl := range filters {
		h := x.held[fl]
		if h.n > 0 {
			f(h.first)
		}
		for t := range h.more {
			f(t)
		}
	}
}
