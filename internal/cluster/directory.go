package cluster

import (
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"time"
)

// directory is what an instance knows of every instance's interest: the
// clients connected to each, the filters of each one's clean sessions,
// and every persistent session. It is built from the records all
// instances write to the directory topic, its own included.
type directory struct {
	self  string
	names Names

	mu       sync.RWMutex
	insts    map[string]*instance
	sessions map[string]*Session
	clientAt map[string]located // client ID → where it is connected
	// awaiting holds persistent clients whose connect record came and
	// whose session's record has not: their P2P messages go to their
	// session's queue too, not only to their instance's inbox, which would
	// lose them if the client left and the instance closed before the
	// record came. Empty but for those few milliseconds.
	awaiting map[string]located
	want     interest

	// takeover hears of a client connected here that connected again
	// elsewhere since, and must be closed here.
	takeover func(client string)
}

// instance is what one instance has said of itself.
type instance struct {
	heard   time.Time
	clients map[string]int64 // connected client → when it connected (ns)
	filters map[string]int   // clean sessions' filters → how many hold each
	next    *instance        // a snapshot being read
	synced  bool             // a snapshot of it was read: its deltas apply
}

type located struct {
	instance string
	at       int64
}

func newDirectory(self string, names Names, takeover func(string)) *directory {
	return &directory{self: self, names: names, insts: map[string]*instance{}, sessions: map[string]*Session{}, clientAt: map[string]located{}, awaiting: map[string]located{}, takeover: takeover}
}

func newInstance() *instance {
	return &instance{clients: map[string]int64{}, filters: map[string]int{}}
}

// innerFilter is the filter a shared subscription matches with.
func innerFilter(f string) string {
	if rest, ok := strings.CutPrefix(f, "$share/"); ok {
		if _, inner, ok := strings.Cut(rest, "/"); ok {
			return inner
		}
	}
	return f
}

// apply takes records one instance wrote, in order.
func (d *directory) apply(rs []record, now time.Time) {
	var taken []string
	d.mu.Lock()
	for _, r := range rs {
		if c := d.apply1(r, now); c != "" {
			taken = append(taken, c)
		}
	}
	d.mu.Unlock()
	for _, c := range taken {
		d.takeover(c)
	}
}

// apply1 applies one record; d.mu is held. It returns a client connected
// here whose connection the record takes over.
func (d *directory) apply1(r record, now time.Time) (takenOver string) {
	in := d.insts[r.Instance]
	if in == nil {
		in = newInstance()
		d.insts[r.Instance] = in
	}
	in.heard = now
	switch r.Kind {
	case kindLeave:
		if r.Instance != d.self {
			d.replace(r.Instance, in, newInstance())
			delete(d.insts, r.Instance)
		}
		return ""
	case kindSnapBegin:
		in.synced = true
	case kindSession, kindSessionGone:
		// whole records, which apply whenever they come
	default:
		if !in.synced {
			return "" // a delta read before the snapshot it changes
		}
	}
	if in.next != nil && r.Kind != kindSnapEnd && r.Kind != kindSession && r.Kind != kindSessionGone {
		d.applyTo(in.next, r) // part of the snapshot being read
		if r.Kind == kindConnect {
			return d.takesOver(r)
		}
		return ""
	}
	switch r.Kind {
	case kindSnapBegin:
		in.next = newInstance()
	case kindSnapEnd:
		if in.next != nil {
			d.replace(r.Instance, in, in.next)
		}
	case kindConnect:
		d.connect(r.Instance, in, r.Client, r.At)
		switch {
		case !r.Persistent:
			delete(d.awaiting, r.Client)
		case d.sessions[r.Client] == nil:
			d.awaiting[r.Client] = located{r.Instance, r.At}
		}
		return d.takesOver(r)
	case kindDisconnect:
		d.disconnect(r.Instance, in, r.Client, r.At)
	case kindSubscribe:
		in.filters[r.Filter]++
		d.want.add(innerFilter(r.Filter), target{instance: r.Instance}, 1)
	case kindUnsubscribe:
		if in.filters[r.Filter] > 0 {
			in.filters[r.Filter]--
			if in.filters[r.Filter] == 0 {
				delete(in.filters, r.Filter)
			}
			d.want.remove(innerFilter(r.Filter), target{instance: r.Instance}, 1)
		}
	case kindSession:
		return d.putSession(r.Session)
	case kindSessionGone:
		delete(d.awaiting, r.Client)
		if s := d.sessions[r.Client]; s != nil && (r.Session == nil || r.Session.Version >= s.Version) {
			d.dropSession(s)
		}
	}
	return ""
}

// takesOver returns the client of a connect record from elsewhere if that
// client is connected here since earlier: one client ID, one connection
// [MQTT-3.1.4-2].
func (d *directory) takesOver(r record) string {
	if r.Instance == d.self {
		return ""
	}
	if here, ok := d.insts[d.self]; ok {
		if at, ok := here.clients[r.Client]; ok && at < r.At {
			return r.Client
		}
	}
	return ""
}

// applyTo collects a snapshot's record into the instance it will become.
func (d *directory) applyTo(next *instance, r record) {
	switch r.Kind {
	case kindConnect:
		next.clients[r.Client] = r.At
	case kindSubscribe:
		n := r.Count
		if n == 0 {
			n = 1
		}
		next.filters[r.Filter] += n
	}
}

// replace makes an instance what its snapshot says.
func (d *directory) replace(name string, in, next *instance) {
	for f, n := range in.filters {
		d.want.remove(innerFilter(f), target{instance: name}, n)
	}
	for c := range in.clients {
		if d.clientAt[c].instance == name {
			delete(d.clientAt, c)
		}
		if _, still := next.clients[c]; !still && d.awaiting[c].instance == name {
			delete(d.awaiting, c)
		}
	}
	in.clients, in.filters, in.next = next.clients, next.filters, nil
	for f, n := range in.filters {
		d.want.add(innerFilter(f), target{instance: name}, n)
	}
	for c, at := range in.clients {
		if l, ok := d.clientAt[c]; !ok || l.at <= at {
			d.clientAt[c] = located{name, at}
		}
	}
}

func (d *directory) connect(name string, in *instance, client string, at int64) {
	in.clients[client] = at
	if l, ok := d.clientAt[client]; !ok || l.at <= at {
		d.clientAt[client] = located{name, at}
	}
}

func (d *directory) disconnect(name string, in *instance, client string, at int64) {
	if have, ok := in.clients[client]; !ok || at != 0 && have != at {
		return // a later connection of the client here
	}
	delete(in.clients, client)
	if d.clientAt[client].instance == name {
		delete(d.clientAt, client)
	}
}

// putSession takes a session's record unless it is older than the one
// held; a newer record owned elsewhere takes a session served here over.
func (d *directory) putSession(s *Session) (takenOver string) {
	if s == nil {
		return ""
	}
	delete(d.awaiting, s.Client)
	old := d.sessions[s.Client]
	if old != nil && s.Version < old.Version {
		return ""
	}
	if old != nil && old.Owner == d.self && old.Online && s.Owner != d.self && s.Version > old.Version {
		takenOver = s.Client
	}
	if old != nil {
		for _, sub := range old.Subs {
			d.want.remove(innerFilter(sub.Filter), target{session: old.Client}, 1)
		}
	}
	cp := *s
	cp.Subs = slices.Clone(s.Subs)
	d.sessions[s.Client] = &cp
	for _, sub := range cp.Subs {
		d.want.add(innerFilter(sub.Filter), target{session: cp.Client}, 1)
	}
	return takenOver
}

func (d *directory) dropSession(s *Session) {
	for _, sub := range s.Subs {
		d.want.remove(innerFilter(sub.Filter), target{session: s.Client}, 1)
	}
	delete(d.sessions, s.Client)
}

// expire forgets instances not heard from since before, and the offline
// sessions whose expiry passed.
func (d *directory) expire(before, now time.Time) (dead []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for name, in := range d.insts {
		if name == d.self || !in.heard.Before(before) {
			continue
		}
		d.replace(name, in, newInstance())
		delete(d.insts, name)
		dead = append(dead, name)
	}
	for _, s := range d.sessions {
		if !s.Online && s.Expires > 0 && s.Expires < now.UnixNano() {
			d.dropSession(s)
		}
	}
	return dead
}

// live reports whether an instance is heard from.
func (d *directory) live(name string) bool {
	_, ok := d.insts[name]
	return ok || name == d.self
}

// adopts reports whether this instance speaks for a session whose owner
// is gone: the live instance that comes first in rendezvous order of the
// session's client ID and the instances' names. Every instance with the
// same view of who is live picks the same one.
func (d *directory) adopts(client string) bool {
	best, bestHash := "", uint64(0)
	for name := range d.insts {
		h := fnv.New64a()
		h.Write([]byte(client))
		h.Write([]byte{0})
		h.Write([]byte(name))
		if v := mix(h.Sum64()); best == "" || v > bestHash || v == bestHash && name < best {
			best, bestHash = name, v
		}
	}
	return best == d.self
}

// dispatch returns the queues a message to topic goes to: the inbox of
// every instance with a clean session whose filter matches or serving a
// matching persistent session, and the queue of every matching persistent
// session. A P2P message for p2p goes to that client alone: its session
// queue if its session persists, and the inbox of the instance it is
// connected to. A retained message goes to every live instance too,
// which keeps it for subscriptions to come.
func (d *directory) dispatch(topic, p2p string, retained bool) []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	seen := map[string]bool{}
	var out []string
	add := func(q string) {
		if !seen[q] {
			seen[q] = true
			out = append(out, q)
		}
	}
	session := func(s *Session) {
		add(d.names.Session(s.Client))
		if s.Online && d.live(s.Owner) {
			add(d.names.Inbox(s.Owner))
		}
	}
	if p2p != "" {
		if s := d.sessions[p2p]; s != nil {
			session(s)
			return out
		}
		if _, ok := d.awaiting[p2p]; ok {
			add(d.names.Session(p2p))
		}
		if l, ok := d.clientAt[p2p]; ok {
			add(d.names.Inbox(l.instance))
		}
		return out
	}
	d.want.match(topic, func(t target) {
		if t.instance != "" {
			add(d.names.Inbox(t.instance))
		} else if s := d.sessions[t.session]; s != nil {
			session(s)
		}
	})
	if retained {
		for name := range d.insts {
			add(d.names.Inbox(name))
		}
		add(d.names.Inbox(d.self))
	}
	return out
}

// mix spreads a hash's bits over all 64 (SplitMix64's finaliser): FNV-1a
// alone leaves names that differ in their last byte, as gw-1 and gw-2 do,
// with high bits so alike that one instance would adopt most sessions.
func mix(v uint64) uint64 {
	v ^= v >> 30
	v *= 0xbf58476d1ce4e5b9
	v ^= v >> 27
	v *= 0x94d049bb133111eb
	return v ^ v>>31
}

// session returns a copy of a persistent session's record, or nil.
func (d *directory) session(client string) *Session {
	d.mu.RLock()
	defer d.mu.RUnlock()
	s := d.sessions[client]
	if s == nil {
		return nil
	}
	cp := *s
	cp.Subs = slices.Clone(s.Subs)
	return &cp
}

// orphans returns the records of the sessions this instance speaks for
// although their owner is gone.
func (d *directory) orphans() []*Session {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []*Session
	for _, s := range d.sessions {
		if s.Owner != d.self && !d.live(s.Owner) && d.adopts(s.Client) {
			cp := *s
			out = append(out, &cp)
		}
	}
	return out
}
