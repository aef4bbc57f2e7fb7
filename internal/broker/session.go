package broker

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqttrmq/mqttrmq/internal/packet"
)

// session is what MQTT keeps for a client ID between connections
// [MQTT-4.1]: its subscriptions, the QoS 1 and 2 messages sent and not
// yet acknowledged, those waiting to be sent, and the QoS 2 packet IDs it
// received and has not yet released.
type session struct {
	id     string
	serial uint64 // orders sessions in a fan-out

	mu         sync.Mutex
	client     *Client // connected, or nil
	online     atomic.Bool
	persistent bool
	kept       bool // persistent at some point: a SessionKeeper hears of its end
	expiry     time.Duration
	ended      bool // no longer in the registry
	subs       []*subscription
	inflight   []*outbound // sent, in the order sent
	queue      []*outbound // waiting for the window or for the client
	nextID     uint16
	qos2in     map[uint16]struct{} // received QoS 2 packet IDs not yet released
	expiryAt   *time.Timer         // ends an offline persistent session
	expiresAt  time.Time           // when expiryAt fires
	willAt     *time.Timer         // sends a delayed will
	will       *Message            // the will awaiting willAt
	replayed   map[string]struct{} // IDs of retained messages sent on subscribing, not yet back live
}

// maxReplayed bounds a session's replayed set; past it the set starts
// over, at the price of a duplicate.
const maxReplayed = 1024

// sawRetained notes a retained message sent on subscribing; sess.mu is held.
func (sess *session) sawRetained(m *Message) {
	if m.ID == "" {
		return
	}
	if sess.replayed == nil || len(sess.replayed) >= maxReplayed {
		sess.replayed = map[string]struct{}{}
	}
	sess.replayed[m.ID] = struct{}{}
}

// seenRetained reports whether m reached the session as a retained
// message already, and forgets it; sess.mu is held.
func (sess *session) seenRetained(m *Message) bool {
	if m.ID == "" || sess.replayed == nil {
		return false
	}
	if _, ok := sess.replayed[m.ID]; !ok {
		return false
	}
	delete(sess.replayed, m.ID)
	return true
}

// outbound is one QoS 1 or 2 message on its way to a client.
type outbound struct {
	msg      *Message
	qos      byte
	retain   bool
	subIDs   []int
	id       uint16
	released bool // QoS 2: PUBREC received, PUBREL sent
}

// attach gives the client its session: a new one, or the one its client
// ID had (taken from the connection holding it, which is returned to be
// closed). A clean start ends the old session first [MQTT-3.1.2-4]. The
// CONNACK is written here, under the session's lock, followed by whatever
// the session has to resend and send [MQTT-4.4.0-1], so that nothing is
// delivered before it. The CONNECT's handling, begun at start, is
// observed before its CONNACK is queued, so that a client that has read
// its CONNACK finds it counted.
func (s *Server) attach(c *Client, clean bool, expiry time.Duration, ack *packet.Properties, start time.Time) (old *Client, err error) {
	var saved *SessionState
	if keeper, ok := s.hooks.(SessionKeeper); ok && !clean {
		saved = keeper.LoadSession(c.id) // used only if no session is held here
	}
	sh := s.shard(c.id)
	sh.mu.Lock()
	sess := sh.m[c.id]
	var ended *session
	if sess != nil {
		sess.mu.Lock()
		old = sess.client
		sess.client = nil
		sess.online.Store(false)
		if clean || !sess.persistent {
			sess.ended = true
			ended = sess
			sess.mu.Unlock()
			sess = nil
		}
	}
	present := sess != nil
	var restored []*subscription
	if sess == nil {
		sess = &session{id: c.id, serial: s.serial.Add(1)}
		sess.mu.Lock()
		sh.m[c.id] = sess
		s.stats.sessions.Add(1)
		if saved != nil && ended == nil && sh.ending[c.id] == 0 { // a session that ended here is none to resume
			restored = s.restoreSubscriptions(sess, saved.Subscriptions)
			present = true // [MQTT-3.2.2-3]: the session, kept elsewhere, is resumed
		}
	}
	sh.mu.Unlock()

	if present {
		sess.stopTimers() // the client is back: no expiry, no delayed will [MQTT-3.1.3-9]
		if sess.persistent {
			s.stats.persistent.Add(-1)
		}
	}
	sess.will = nil
	sess.persistent = expiry > 0
	sess.expiry = expiry
	if sess.persistent {
		s.stats.persistent.Add(1)
		sess.kept = true
	}
	sess.client = c
	sess.online.Store(true)
	c.sess = sess
	c.present = present
	c.aliasOut = nil

	code := byte(v3Accepted)
	if c.version == packet.V5 {
		code = byte(Success)
	}
	// [MQTT-3.2.2-2] [MQTT-3.2.2-3]: session present says whether the
	// session was resumed.
	s.opts.Observer.ConnectHandled(c.kind, Success, time.Since(start))
	c.write(packet.AppendConnack(nil, c.version, present, code, ack))
	if present {
		s.resend(sess, c)
	}
	sess.mu.Unlock()

	if ended != nil {
		s.finish(ended)
	}
	for _, sub := range restored {
		s.hooks.Subscribed(c.id, sub.filter)
	}
	return old, nil
}

// detach takes a closed connection out of its session. A session that
// does not outlive its connection ends; one that does waits for its client
// until its expiry interval passes. The connection's will is published at
// once, or after its delay unless the client is back by then, or when the
// session ends, whichever comes first [MQTT-3.1.2-8] [MQTT-3.1.3-9].
func (s *Server) detach(c *Client) {
	sess := c.sess
	will := c.will
	if c.gotDisc && !c.keepWill {
		will = nil // [MQTT-3.1.2-10]: a DISCONNECT deletes the will
	}
	sess.mu.Lock()
	current := sess.client == c
	if current {
		sess.client = nil
		sess.online.Store(false)
	}
	endNow := current && !sess.persistent
	if will != nil && (c.willDelay == 0 || endNow || sess.ended) {
		sess.mu.Unlock()
		s.publishWill(c, will)
		sess.mu.Lock()
		will = nil
	}
	switch {
	case !current || sess.ended:
		// Taken over: the new connection came within any will delay.
	case endNow:
		sess.mu.Unlock()
		s.endSession(sess)
		return
	default:
		if will != nil {
			sess.will = will
			sess.willAt = time.AfterFunc(time.Duration(c.willDelay)*time.Second, func() { s.delayedWill(sess, c) })
		}
		sess.armExpiry(s, sess.expiry)
	}
	sess.mu.Unlock()
}

// armExpiry ends the session after d unless its client is back by then;
// sess.mu is held.
func (sess *session) armExpiry(s *Server, d time.Duration) {
	sess.expiresAt = time.Now().Add(d)
	sess.expiryAt = time.AfterFunc(d, func() { s.expire(sess) })
}

// delayedWill publishes a will whose delay passed with its client still
// away.
func (s *Server) delayedWill(sess *session, c *Client) {
	sess.mu.Lock()
	will := sess.will
	sess.will = nil
	back := sess.client != nil
	sess.mu.Unlock()
	if will != nil && !back {
		s.publishWill(c, will)
	}
}

// expire ends a persistent session whose client stayed away past its
// expiry interval.
func (s *Server) expire(sess *session) {
	sess.mu.Lock()
	back := sess.client != nil
	sess.mu.Unlock()
	if !back {
		s.endSession(sess)
	}
}

// endSession takes a session out of the registry, unless its client came
// back meanwhile, and finishes it.
func (s *Server) endSession(sess *session) {
	sh := s.shard(sess.id)
	sh.mu.Lock()
	sess.mu.Lock()
	if sess.ended || sess.client != nil {
		sess.mu.Unlock()
		sh.mu.Unlock()
		return
	}
	sess.ended = true
	if sh.m[sess.id] == sess {
		delete(sh.m, sess.id)
	}
	if sh.ending == nil {
		sh.ending = map[string]int{}
	}
	sh.ending[sess.id]++
	sess.mu.Unlock()
	sh.mu.Unlock()
	s.finish(sess)
	sh.mu.Lock()
	if sh.ending[sess.id]--; sh.ending[sess.id] <= 0 {
		delete(sh.ending, sess.id)
	}
	sh.mu.Unlock()
}

// finish releases what an ended session held: its subscriptions leave the
// index, its messages are dropped, and a will still waiting is published
// now [MQTT-3.1.2-8].
func (s *Server) finish(sess *session) {
	sess.mu.Lock()
	sess.stopTimers()
	subs := sess.subs
	sess.subs = nil
	s.stats.inflight.Add(-int64(len(sess.inflight)))
	s.stats.queued.Add(-int64(len(sess.queue)))
	sess.inflight, sess.queue, sess.qos2in = nil, nil, nil
	will := sess.will
	sess.will = nil
	wasPersistent := sess.persistent || sess.kept // kept: persistent once, until a DISCONNECT said otherwise
	if sess.persistent {
		s.stats.persistent.Add(-1)
	}
	sess.persistent = false
	sess.mu.Unlock()
	s.stats.sessions.Add(-1)
	for _, sub := range subs {
		s.index.remove(sub)
		s.hooks.Unsubscribed(sess.id, sub.filter)
	}
	if will != nil {
		s.publishWill(nil, will)
	}
	if keeper, ok := s.hooks.(SessionKeeper); ok && wasPersistent {
		keeper.SessionEnded(sess.id)
	}
}

// stopTimers stops the session's expiry and will timers; sess.mu is held.
func (sess *session) stopTimers() {
	if sess.expiryAt != nil {
		sess.expiryAt.Stop()
		sess.expiryAt = nil
		sess.expiresAt = time.Time{}
	}
	if sess.willAt != nil {
		sess.willAt.Stop()
		sess.willAt = nil
	}
}

// publishWill hands a will to the Publish hook, as its client would have
// published it; c is its client, or nil when its connection is long gone.
func (s *Server) publishWill(c *Client, will *Message) {
	m := *will
	m.Created = time.Now()
	if c == nil {
		c = &Client{srv: s, id: will.Origin, tc: deadConn{}}
	}
	s.hooks.Publish(c, &m, nil)
}

// Forget ends a client's session here without a word: no will, no
// unsubscription reported. The program forgets a session it moved
// elsewhere, whose client was taken over by a connection to another
// instance; a delayed will it was waiting with is cancelled, as the
// client came back [MQTT-3.1.3-9]. It reports whether there was one.
func (s *Server) Forget(clientID string) bool {
	sh := s.shard(clientID)
	sh.mu.Lock()
	sess := sh.m[clientID]
	if sess == nil {
		sh.mu.Unlock()
		return false
	}
	sess.mu.Lock()
	if sess.client != nil {
		sess.mu.Unlock()
		sh.mu.Unlock()
		return false // connected again here meanwhile
	}
	delete(sh.m, clientID)
	sess.ended = true
	sess.will = nil
	sess.stopTimers()
	subs := sess.subs
	sess.subs = nil
	s.stats.inflight.Add(-int64(len(sess.inflight)))
	s.stats.queued.Add(-int64(len(sess.queue)))
	sess.inflight, sess.queue, sess.qos2in = nil, nil, nil
	if sess.persistent {
		s.stats.persistent.Add(-1)
	}
	sess.persistent = false
	sess.mu.Unlock()
	sh.mu.Unlock()
	s.stats.sessions.Add(-1)
	for _, sub := range subs {
		s.index.remove(sub)
	}
	return true
}

// Persistent reports whether a client's session outlives its connection.
func (s *Server) Persistent(clientID string) bool {
	sess := s.session(clientID)
	if sess == nil {
		return false
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.persistent
}

// Pending returns how many QoS 1 and 2 messages a connected client's
// session has in flight or queued, or -1 for no session or no client
// connected to it: 0 says the client acknowledged all it was given.
func (s *Server) Pending(clientID string) int {
	sess := s.session(clientID)
	if sess == nil {
		return -1
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.client == nil {
		return -1
	}
	return len(sess.inflight) + len(sess.queue)
}
