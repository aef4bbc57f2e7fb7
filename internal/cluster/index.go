package cluster

import (
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
	held   map[string]map[target]int
	others map[string]bool // filters the set refused

	// changed, if set, hears a filter held by someone for the first
	// time (added) and held by no one any more.
	changed func(filter string, added bool)
}

func (x *interest) add(filter string, t target, n int) {
	if n <= 0 {
		return
	}
	if x.held == nil {
		x.held = map[string]map[target]int{}
		x.others = map[string]bool{}
	}
	m := x.held[filter]
	if m == nil {
		m = map[target]int{}
		x.held[filter] = m
		if err := x.set.Add(filter); err != nil {
			x.others[filter] = true
		}
		if x.changed != nil {
			x.changed(filter, true)
		}
	}
	m[t] += n
}

func (x *interest) remove(filter string, t target, n int) {
	m := x.held[filter]
	if m == nil || m[t] == 0 {
		return
	}
	m[t] -= n
	if m[t] <= 0 {
		delete(m, t)
	}
	if len(m) == 0 {
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
}

// match calls f for every target with a filter matching topic.
func (x *interest) match(topic string, f func(target)) {
	var buf [16]string
	filters, err := x.set.AppendFilters(buf[:0], topic)
	if err != nil {
		return
	}
	for of := range x.others {
		if mqttrmq.MatchTopic(of, topic) {
			filters = append(filters, of)
		}
	}
	for _, fl := range filters {
		for t := range x.held[fl] {
			f(t)
		}
	}
}
