package broker

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqttrmq/mqttrmq"
)

// subscription is one filter a session holds, with its options
// [MQTT-3.8.3.1].
type subscription struct {
	sess    *session
	filter  string // as subscribed, $share/{group}/ included
	inner   string // the filter proper
	group   string // the share name of a shared subscription, or ""
	qos     byte
	noLocal bool
	rap     bool // retain as published
	rh      byte // retain handling
	id      int  // subscription identifier, 0 for none
	pos     int  // its place in its filterSubs list

	// since is when the subscription was made: a message that came into
	// being before it is not delivered through it. A message published
	// on another instance comes back from RocketMQ after the PUBACK its
	// publisher had, and a client that subscribed meanwhile must not get
	// it as a live message (a retained one reaches it as retained).
	since time.Time
}

// index finds the subscriptions a topic matches. The filters themselves
// live in an mqttrmq.FilterSet, the trie the project matches wildcard
// filters with, which walks a topic without splitting it or allocating;
// each matching filter leads to the subscriptions holding it. A FilterSet
// takes only filters that name a Light Message Queue (no trailing '/', no
// '%' or ',' ...), so the few valid MQTT filters it refuses are kept aside
// and matched one by one with mqttrmq.MatchTopic.
type index struct {
	mu     sync.RWMutex
	set    mqttrmq.FilterSet
	subs   map[string]*filterSubs // by filter, the set's and the others
	others map[string]*filterSubs // by filter, those the set refuses
}

// filterSubs are the subscriptions to one filter: plain ones, and those
// of each share group.
type filterSubs struct {
	filter string
	direct []*subscription
	groups map[string]*shareGroup
}

// shareGroup is a shared subscription's members; each message goes to one
// of them [MQTT-4.8.2].
type shareGroup struct {
	members []*subscription
	next    atomic.Uint32
}

func (x *index) init() {
	x.subs = map[string]*filterSubs{}
	x.others = map[string]*filterSubs{}
}

// entry returns the subscriptions of a filter, creating them if create.
// They are keyed by the filter string the subscription holds already, so
// that an entry costs no string of its own.
func (x *index) entry(filter string, create bool) *filterSubs {
	fs := x.subs[filter]
	if fs == nil && create {
		fs = &filterSubs{filter: filter}
		x.subs[filter] = fs
		if x.set.Add(filter) != nil {
			x.others[filter] = fs
		}
	}
	return fs
}

func (x *index) add(sub *subscription) {
	x.mu.Lock()
	defer x.mu.Unlock()
	fs := x.entry(sub.inner, true)
	if sub.group == "" {
		sub.pos = len(fs.direct)
		fs.direct = append(fs.direct, sub)
		return
	}
	if fs.groups == nil {
		fs.groups = map[string]*shareGroup{}
	}
	g := fs.groups[sub.group]
	if g == nil {
		g = &shareGroup{}
		fs.groups[sub.group] = g
	}
	sub.pos = len(g.members)
	g.members = append(g.members, sub)
}

func (x *index) remove(sub *subscription) {
	x.mu.Lock()
	defer x.mu.Unlock()
	fs := x.entry(sub.inner, false)
	if fs == nil {
		return
	}
	if sub.group == "" {
		fs.direct = cut(fs.direct, sub)
	} else if g := fs.groups[sub.group]; g != nil {
		g.members = cut(g.members, sub)
		if len(g.members) == 0 {
			delete(fs.groups, sub.group)
		}
	}
	if len(fs.direct) == 0 && len(fs.groups) == 0 {
		delete(x.subs, fs.filter)
		if x.others[fs.filter] != nil {
			delete(x.others, fs.filter)
		} else {
			x.set.Remove(fs.filter)
		}
	}
}

// cut removes sub from list in constant time, moving the last one into its
// place.
func cut(list []*subscription, sub *subscription) []*subscription {
	i := sub.pos
	if i >= len(list) || list[i] != sub {
		return list
	}
	last := len(list) - 1
	list[i] = list[last]
	list[i].pos = i
	list[last] = nil
	return list[:last]
}

// match appends to out every subscription topic matches: every plain one,
// and one member of each share group, preferring a connected member, in
// turn [MQTT-4.8.2-?].
func (x *index) match(topic string, out []*subscription) []*subscription {
	var buf [16]string
	x.mu.RLock()
	defer x.mu.RUnlock()
	filters, err := x.set.AppendFilters(buf[:0], topic)
	if err != nil {
		return out
	}
	for _, f := range filters {
		out = x.subs[f].appendTo(out)
	}
	for _, fs := range x.others {
		if mqttrmq.MatchTopic(fs.filter, topic) {
			out = fs.appendTo(out)
		}
	}
	return out
}

func (fs *filterSubs) appendTo(out []*subscription) []*subscription {
	if fs == nil {
		return out
	}
	out = append(out, fs.direct...)
	for _, g := range fs.groups {
		if m := g.pick(); m != nil {
			out = append(out, m)
		}
	}
	return out
}

// pick chooses the group member for the next message: the next connected
// one in turn, or, with none connected, the next one (whose session keeps
// the message if it is persistent).
func (g *shareGroup) pick() *subscription {
	n := len(g.members)
	if n == 0 {
		return nil
	}
	start := int(g.next.Add(1) % uint32(n))
	for i := 0; i < n; i++ {
		m := g.members[(start+i)%n]
		if m.sess.online.Load() {
			return m
		}
	}
	return g.members[start]
}
