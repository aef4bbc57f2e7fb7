package gateway

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/internal/broker"
	"github.com/mqttrmq/mqttrmq/internal/cluster"
)

// The gateway's part in the cluster (see the package documentation,
// "Many gateways, one system"): it tells the directory who is connected
// here and what they want, reads its inbox, and serves persistent sessions
// from their queues in RocketMQ.

// sessions are the persistent sessions of this instance: those it serves
// now (connected here), and those whose subscriptions it reports in their
// session records rather than as this instance's own (kept).
type sessions struct {
	mu     sync.Mutex
	served map[string]*served
	queues map[string]*served // by session queue
	kept   map[string]bool
	// left says, for a session whose connection here ended while the
	// MQTT core keeps it (with what it had in flight and queued), up to
	// where its queue was handed over: where it resumes if its client
	// comes back here.
	left map[string]map[string]int64
}

// resumeFrom sets (nil: forgets) where a session left here resumes.
func (s *sessions) resumeFrom(id string, next map[string]int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leftAt(id, next)
}

// leftAt is resumeFrom with s.mu held.
func (s *sessions) leftAt(id string, next map[string]int64) {
	if next == nil {
		delete(s.left, id)
		return
	}
	if s.left == nil {
		s.left = map[string]map[string]int64{}
	}
	s.left[id] = next
}

// takeLeft returns and forgets where a session left here resumes.
func (s *sessions) takeLeft(id string) map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.left[id]
	delete(s.left, id)
	return next
}

// served is a persistent session connected here. Its messages come from
// its session queue: read from what it acknowledged when it connects (the
// catch-up), then from the copies dispatched to this instance's inbox,
// whose INNER_MULTI_QUEUE_OFFSET gives their offset in its queue. next
// says, per broker, up to where everything was handed to the MQTT core: a
// copy before it is one the session had, and a copy past it shows a gap
// (messages a writer dispatched to the queue alone, or to the instance it
// thought served the session), which a catch-up reads from the queue
// before the copy is delivered. So a session gets every message of its
// queue in order, once per connection, whichever way it came. A catch-up
// reads without holding mu, so that the inbox never waits for it: copies
// that come meanwhile wait in pending.
type served struct {
	id      string
	queue   string // its session queue
	version int64  // when its connection here began, ns
	client  *broker.Client

	mu       sync.Mutex
	next     map[string]int64 // broker address → next queue offset to hand over
	catching bool             // a catch-up runs: copies wait in pending
	settled  bool             // the catch-up a directory propagation after serving began has started
	pending  []queued
	moved    bool  // it connected elsewhere since
	offline  bool  // its connection ended
	since    int64 // a new session: when it began (Unix ms); older messages in its queue are not its
}

// queued is an inbox copy of a session's message, at off in its queue on
// a broker.
type queued struct {
	broker string
	off    int64
	m      *primitive.MessageExt
}

func (s *sessions) byQueue(q string) *served {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queues[q]
}

func (s *sessions) get(id string) *served {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served[id]
}

// keep marks a session's subscriptions as reported in its session record,
// and reports whether they were so already.
func (s *sessions) keep(id string, keep bool) (was bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	was = s.kept[id]
	if keep {
		s.kept[id] = true
	} else {
		delete(s.kept, id)
	}
	return was
}

func (s *sessions) isKept(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kept[id]
}

// dispatchOffsets reads which queues a message was dispatched to, with
// its offset in each, from the broker's INNER_MULTI_QUEUE_OFFSET.
func dispatchOffsets(m *primitive.MessageExt) map[string]int64 {
	list := m.GetProperty(propDispatch)
	if list == "" {
		return nil
	}
	queues := strings.Split(list, ",")
	offsets := strings.Split(m.GetProperty(propQueueOffset), ",")
	out := make(map[string]int64, len(queues))
	for i, q := range queues {
		if i >= len(offsets) {
			break
		}
		if off, err := strconv.ParseInt(offsets[i], 10, 64); err == nil {
			out[q] = off
		}
	}
	return out
}

// inbox takes a message dispatched to this instance: the clean sessions
// here get it as a publish; each persistent session served here whose
// queue has it gets it as the message at its offset there.
func (g *Gateway) inbox(brokerAddr string, m *primitive.MessageExt) {
	offsets := dispatchOffsets(m)
	var mine map[string]*served
	for q := range offsets {
		if sv := g.sessions.byQueue(q); sv != nil {
			if mine == nil {
				mine = map[string]*served{}
			}
			mine[sv.id] = sv
		}
	}
	var skip func(string) bool
	if mine != nil {
		skip = func(id string) bool { return mine[id] != nil }
	}
	g.deliver(m, skip)
	for id, sv := range mine {
		g.handOver(sv, id, brokerAddr, offsets[sv.queue], m)
	}
}

// handOver gives a served session the copy of its queue's message at off.
func (g *Gateway) handOver(sv *served, id, brokerAddr string, off int64, m *primitive.MessageExt) {
	sv.mu.Lock()
	switch next := sv.next[brokerAddr]; {
	case sv.catching:
		sv.pending = append(sv.pending, queued{brokerAddr, off, m})
		sv.mu.Unlock()
		return
	case off < next:
		sv.mu.Unlock()
		return // had it
	case off > next:
		sv.catching = true
		sv.pending = append(sv.pending, queued{brokerAddr, off, m})
		sv.mu.Unlock()
		go g.catchUp(sv, id)
		return
	}
	g.deliverServed(sv, id, m)
	sv.next[brokerAddr] = off + 1
	sv.mu.Unlock()
	g.commitServed(id, sv)
}

// catchUp hands a served session what its queues hold past next, then the
// copies that came meanwhile, and ends sv.catching; it runs with
// sv.catching set.
func (g *Gateway) catchUp(sv *served, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		sv.mu.Lock()
		from := make(map[string]int64, len(sv.next))
		for b, off := range sv.next {
			from[b] = off
		}
		sv.mu.Unlock()
		var failed error
		for b, off := range from {
			if err := g.readQueue(ctx, sv, id, b, off); err != nil {
				failed = err
			}
		}
		sv.mu.Lock()
		if sv.client.IsClosed() || ctx.Err() != nil {
			// Gone, or RocketMQ unreadable for long: what was not handed
			// over stays in the queue, uncommitted, for the session's next
			// connection.
			sv.pending, sv.catching = nil, false
			sv.mu.Unlock()
			if !sv.client.IsClosed() {
				g.log.Warn("session queue not read; disconnecting", "client", id, "error", failed)
				sv.client.Disconnect(broker.ServerUnavailable, "session queue unreadable")
			}
			return
		}
		slices.SortFunc(sv.pending, func(a, b queued) int { return cmp.Compare(a.off, b.off) })
		gap := false
		for i, q := range sv.pending {
			next := sv.next[q.broker]
			if q.off > next {
				sv.pending = sv.pending[i:]
				gap = true
				break
			}
			if q.off == next {
				g.deliverServed(sv, id, q.m)
				sv.next[q.broker] = q.off + 1
			}
		}
		if !gap {
			sv.pending, sv.catching = nil, false
		}
		sv.mu.Unlock()
		if !gap {
			break
		}
		if failed != nil {
			g.log.Warn("session queue not read; retrying", "client", id, "error", failed)
			time.Sleep(200 * time.Millisecond)
		}
	}
	g.commitServed(id, sv)
}

// readQueue hands a served session the messages of its queue on a broker
// from offset to its end.
func (g *Gateway) readQueue(ctx context.Context, sv *served, id, brokerAddr string, from int64) error {
	for !sv.client.IsClosed() {
		res, err := g.node.Read(ctx, id, brokerAddr, from)
		if err != nil {
			return err
		}
		sv.mu.Lock()
		for _, m := range res.Messages {
			off, ok := dispatchOffsets(m)[sv.queue]
			if !ok {
				off = from
			}
			if off >= sv.next[brokerAddr] {
				g.deliverServed(sv, id, m)
				sv.next[brokerAddr] = off + 1
			}
			from = off + 1
		}
		if res.Moved && res.Next > sv.next[brokerAddr] {
			sv.next[brokerAddr] = res.Next // gone from the queue, too old to keep
		}
		sv.mu.Unlock()
		if len(res.Messages) == 0 {
			return nil
		}
		from = max(from, res.Next)
	}
	return nil
}

// commitServed commits what a session was handed, if it acknowledged all
// of it: only a connected session with nothing in flight or queued has.
func (g *Gateway) commitServed(id string, sv *served) {
	if sv == nil {
		return
	}
	sv.mu.Lock()
	next := make(map[string]int64, len(sv.next))
	for b, off := range sv.next {
		next[b] = off
	}
	sv.mu.Unlock()
	if g.broker.Pending(id) != 0 {
		return
	}
	for b, off := range next {
		g.node.Commit(id, b, off)
	}
}

// serve starts serving a persistent session that connected here; it runs
// with sv.catching set. A new session begins its queue at its end; one
// that existed, here or elsewhere, gets what its queue holds past what it
// acknowledged, at most Config.MaxOfflineMessages of the newest, and then
// what its inbox brings. Until the directory had its propagation time, a
// writer may still dispatch to the session's queue alone, or to the
// instance that served it before: the queue is read once more after that
// time.
func (g *Gateway) serve(sv *served, id string, existed bool, left map[string]int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if !existed {
		// Its queue may hold what an earlier session of the client ID did
		// not get: read from what that one acknowledged, skipping what was
		// born before this one began. (Starting at the queue's end instead
		// would skip what was dispatched to this session while the end is
		// read.)
		sv.mu.Lock()
		sv.since = sv.version / int64(time.Millisecond)
		sv.mu.Unlock()
	}
	settled := g.cfg.directoryPropagation()
	g.putSession(id, sv, true)
	positions, err := g.node.Positions(ctx, id)
	if err != nil {
		g.log.Warn("session queue not read", "client", id, "error", err)
	}
	sv.mu.Lock()
	for _, p := range positions {
		from := p.Committed
		if at, ok := left[p.Broker]; ok && at > from {
			// Served here before: what was handed over since the last
			// commit is in flight or queued in the core, which resends it.
			from = at
		}
		if over := p.End - from - int64(g.cfg.MaxOfflineMessages); over > 0 {
			g.stats.offlineDropped.Add(over) // the oldest first [SPEC §10]
			from += over
		}
		sv.next[p.Broker] = from
	}
	sv.mu.Unlock()
	g.catchUp(sv, id)
	time.AfterFunc(settled, func() {
		sv.mu.Lock()
		again := !sv.catching && !sv.client.IsClosed()
		sv.catching = sv.catching || again
		sv.settled = true
		sv.mu.Unlock()
		if again {
			g.catchUp(sv, id)
		}
	})
}

// putSession writes a persistent session's record: its subscriptions, and
// whether it is online here. Once it said offline, or the session moved,
// it writes no more for this connection.
func (g *Gateway) putSession(id string, sv *served, online bool) {
	if sv == nil {
		return
	}
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.moved || sv.offline {
		return
	}
	sv.offline = !online
	s := cluster.Session{Client: id, Subs: g.broker.Subscriptions(id), Online: online, Version: sv.version}
	if !online {
		s.Expires = time.Now().Add(sv.client.SessionExpiry()).UnixNano()
	}
	g.node.PutSession(s)
}

// sessionGone tells the directory a persistent session ended.
func (g *Gateway) sessionGone(id string) {
	var version int64
	if s := g.node.Session(id); s != nil {
		version = s.Version
	}
	g.sessions.resumeFrom(id, nil)
	g.node.SessionGone(id, version)
}

// takeover closes here a client that connected again on another instance.
func (g *Gateway) takeover(id string) {
	if sv := g.sessions.get(id); sv != nil {
		sv.mu.Lock()
		sv.moved = true
		sv.mu.Unlock()
	}
	g.sessions.keep(id, false) // its record is the other instance's now
	g.sessions.resumeFrom(id, nil)
	if !g.broker.Disconnect(id, broker.SessionTakenOver, "connected on another instance") {
		g.broker.Forget(id) // an offline session that moved
	}
}

// deliverServed hands a message of a session's queue to the session, if
// it is the session's: a new session skips what its queue held from an
// earlier session of its client ID, by born time; sv.mu is held.
func (g *Gateway) deliverServed(sv *served, id string, m *primitive.MessageExt) {
	if sv.since > 0 {
		if born, err := strconv.ParseInt(m.GetProperty(propRoutedBorn), 10, 64); err == nil && born < sv.since {
			return
		}
	}
	g.deliverTo(id, m)
}

// deliverTo hands a message read from a session's queue to that session
// alone.
func (g *Gateway) deliverTo(id string, m *primitive.MessageExt) {
	_, msg, target, ok := g.message(m)
	if !ok {
		return
	}
	if target != "" {
		if target == id {
			g.broker.PublishTo(id, msg)
		}
		return
	}
	g.broker.DeliverTo(id, msg)
}

// dispatchTo returns the routed copies that take a device's message to
// the inboxes and session queues of those who want it, to send after it;
// none when nobody does. The message itself lists none of them: it stays
// as the mapping wrote it, which is what backends read, and the mapping's
// readers refuse an INNER_MULTI_DISPATCH naming queues of another topic
// than the message's (one message, one reading).
func (g *Gateway) dispatchTo(msg *primitive.Message, p mqttrmq.Publish) []*primitive.Message {
	_, target, _ := mqttrmq.ParseP2PTopic(p.Topic)
	queues := g.node.Dispatch(p.Topic, target, p.Retain)
	if len(queues) == 0 {
		return nil
	}
	topic := msg.Topic
	if g.cfg.Namespace != "" {
		topic = strings.TrimPrefix(topic, g.cfg.Namespace+"%")
	}
	id := msg.GetProperty(primitive.PropertyUniqueClientMessageIdKeyIndex)
	return routedCopies(g.routeTopic(), topic, id, time.Now(), msg.MarshallProperties(), msg.Body, queues)
}

// sendDirectory writes a directory message to the queue it names.
func (g *Gateway) sendDirectory(ctx context.Context, m *primitive.Message) error {
	_, err := g.sendSync(ctx, m.Queue.QueueId, m)
	return err
}

// The gateway's side of connections, as the directory must hear of them.

// clusterConnected tells the directory a client connected here, and starts
// serving its session if it persists.
func (g *Gateway) clusterConnected(c *broker.Client) {
	id := c.ID()
	at := time.Now()
	g.connAt.Store(c.ConnectionID(), at.UnixNano())
	g.node.Connected(id, at, c.Persistent())
	switch {
	case c.Persistent():
		g.sessions.keep(id, true)
		sv := &served{id: id, queue: g.cfg.names().Session(id), version: at.UnixNano(), client: c, next: map[string]int64{}, catching: true}
		g.sessions.mu.Lock()
		old := g.sessions.served[id]
		if old != nil {
			delete(g.sessions.queues, old.queue)
		}
		g.sessions.served[id] = sv
		g.sessions.queues[sv.queue] = sv
		g.sessions.mu.Unlock()
		var left map[string]int64
		switch {
		case !c.SessionPresent():
			g.sessions.resumeFrom(id, nil)
		case old != nil:
			// A takeover here: the core moved what the old connection had
			// in flight and queued to this one.
			old.mu.Lock()
			old.moved = true
			left = maps.Clone(old.next)
			old.mu.Unlock()
		default:
			left = g.sessions.takeLeft(id) // the core kept it here: resume where it stopped
		}
		go g.serve(sv, id, c.SessionPresent(), left)
	case g.sessions.keep(id, false):
		// A persistent session resumed without persisting further (MQTT
		// 5 session expiry 0): its subscriptions are this instance's now.
		for _, s := range g.broker.Subscriptions(id) {
			g.node.Subscribed(s.Filter)
		}
		g.sessionGone(id)
	case g.node.Session(id) != nil:
		g.sessionGone(id) // a clean start ends the session it had elsewhere [MQTT-3.1.2-4]
	}
}

// disconnected tells the directory a client's connection here ended.
func (g *Gateway) clusterDisconnected(c *broker.Client) {
	id := c.ID()
	v, _ := g.connAt.LoadAndDelete(c.ConnectionID())
	at, _ := v.(int64)
	g.node.Disconnected(id, at)
	sv := g.sessions.get(id)
	if sv == nil || sv.version != at {
		return // not a persistent session, or taken over by a connection here
	}
	persistent := g.broker.Persistent(id)
	// Where it resumes is set as it stops being served, in one step: a
	// connection of the same client coming meanwhile finds it served
	// (a takeover, which carries on from its next) or where it left, never
	// neither (and then read again what it was handed).
	sv.mu.Lock()
	g.sessions.mu.Lock()
	if g.sessions.served[id] != sv {
		g.sessions.mu.Unlock()
		sv.mu.Unlock()
		return // taken over by a connection here meanwhile
	}
	delete(g.sessions.served, id)
	delete(g.sessions.queues, sv.queue)
	if persistent && !sv.moved {
		g.sessions.leftAt(id, maps.Clone(sv.next))
	}
	g.sessions.mu.Unlock()
	sv.mu.Unlock()
	switch {
	case persistent:
		g.putSession(id, sv, false) // offline: writers go on filling its queue
	default:
		sv.mu.Lock()
		sv.offline = true // its serve, if still starting, writes no record
		sv.mu.Unlock()
		if g.sessions.keep(id, false) {
			g.sessionGone(id) // ended with its connection (MQTT 5 session expiry set to 0)
		}
	}
}

// The gateway as the core's SessionKeeper (Options.Delegated).

// LoadSession returns the directory's record of a persistent session that
// connects here without a session here.
func (h *hooks) LoadSession(id string) *broker.SessionState {
	g := h.gw()
	s := g.node.Session(id)
	if s == nil || !s.Online && s.Expires > 0 && s.Expires < time.Now().UnixNano() {
		return nil
	}
	return &broker.SessionState{ClientID: id, Subscriptions: s.Subs}
}

// Drained commits what a session acknowledged.
func (h *hooks) Drained(id string) {
	g := h.gw()
	g.commitServed(id, g.sessions.get(id))
}

// SessionEnded tells the directory a persistent session ended here: it
// expired, or its client started clean.
func (h *hooks) SessionEnded(id string) {
	g := h.gw()
	if sv := g.sessions.get(id); sv != nil {
		sv.mu.Lock()
		sv.offline = true // no record of it may follow
		sv.mu.Unlock()
	}
	if g.sessions.keep(id, false) {
		g.sessionGone(id)
	}
}
