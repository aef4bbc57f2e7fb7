package broker

import (
	"slices"
	"sync"
	"time"

	"github.com/mqttrmq/mqttrmq"
)

// Publish delivers a message to every session with a matching
// subscription, and keeps it as the topic's retained message when it says
// so [MQTT-3.3.1-5]. Each session gets it once for all its plain
// subscriptions that match, at the highest of their QoS (never above the
// message's) with all their subscription identifiers [MQTT-3.3.4-2]
// [MQTT-3.3.4-3], and once more for each shared subscription whose turn it
// is. A message published by a session's own client skips that session's
// no-local subscriptions [MQTT-3.8.3-3]. It reports how many sessions
// took it.
//
// Publish never waits for a client: see the package documentation.
func (s *Server) Publish(m *Message) int {
	if m.Retain {
		s.retained.set(m, &s.stats)
	}
	return s.Deliver(m)
}

// Deliver is Publish without keeping the message as its topic's retained
// message: for a message kept already with Retain, which must not take
// that place again once a later retained message has replaced it
// [MQTT-3.3.1-5]. Its RETAIN flag still goes to the subscriptions that
// ask for it as published.
func (s *Server) Deliver(m *Message) int {
	if m.Created.IsZero() {
		m.Created = time.Now()
	}
	hp := hitsPool.Get().(*[]*subscription)
	hits := s.index.match(m.Topic, (*hp)[:0])
	if len(hits) > 1 {
		slices.SortFunc(hits, func(a, b *subscription) int {
			switch {
			case a.sess.serial < b.sess.serial:
				return -1
			case a.sess.serial > b.sess.serial:
				return 1
			}
			return 0
		})
	}
	now := time.Now()
	n := 0
	for i := 0; i < len(hits); {
		j := i + 1
		for j < len(hits) && hits[j].sess == hits[i].sess {
			j++
		}
		n += s.fanOutTo(hits[i].sess, m, hits[i:j], now, false)
		i = j
	}
	clear(hits)
	*hp = hits[:0]
	hitsPool.Put(hp)
	return n
}

// Retain keeps m as its topic's retained message without delivering it:
// the instance a client published a retained message on keeps it from the
// moment it acknowledges the publish, before the message comes back from
// RocketMQ to be delivered.
func (s *Server) Retain(m *Message) {
	if m.Retain {
		s.retained.set(m, &s.stats)
	}
}

var hitsPool = sync.Pool{New: func() any { h := make([]*subscription, 0, 64); return &h }}

// fanOutTo delivers m to one session for the subscriptions of it that
// matched, and returns how many deliveries it made.
// kept says m was matched and kept for the session earlier, so that a
// subscription made since does not turn it away.
func (s *Server) fanOutTo(sess *session, m *Message, subs []*subscription, now time.Time, kept bool) int {
	if m.Skip != nil && m.Skip(sess.id) {
		return 0
	}
	var slow []*Client
	n := 0
	sess.mu.Lock()
	if sess.seenRetained(m) {
		sess.mu.Unlock()
		return 0 // it had this one as retained, on subscribing
	}
	qos, plain, retain := byte(0), false, false
	var ids []int
	for _, sub := range subs {
		if sub.noLocal && m.Origin == sess.id {
			continue // [MQTT-3.8.3-3]
		}
		if !kept && m.Created.UnixMilli() < sub.since.UnixMilli() {
			// Published before this subscription was made; to the
			// millisecond, which is all a RocketMQ born time holds.
			continue
		}
		// [MQTT-3.3.1-12] [MQTT-3.3.1-13]: the RETAIN flag is kept only
		// for a subscription asking for it as published.
		keep := m.Retain && sub.rap
		q := min(m.QoS, sub.qos)
		var subIDs []int
		if sub.id > 0 {
			subIDs = []int{sub.id}
		}
		if sub.group != "" {
			// A shared subscription gets its own copy [MQTT-4.8.2].
			kept, sc := s.deliverLocked(sess, m, q, keep, subIDs, now)
			if kept {
				n++
			}
			if sc != nil {
				slow = append(slow, sc)
			}
			continue
		}
		plain = true
		qos = max(qos, q)
		retain = retain || keep
		ids = append(ids, subIDs...)
	}
	if plain {
		kept, sc := s.deliverLocked(sess, m, qos, retain, ids, now)
		if kept {
			n++
		}
		if sc != nil {
			slow = append(slow, sc)
		}
	}
	sess.mu.Unlock()
	for _, c := range slow {
		s.cutOff(c)
	}
	return n
}

// PublishTo delivers a message to one client, without a subscription, as a
// P2P message is: at the message's QoS, to its connected client or, for a
// persistent session, kept for its return. It reports whether the client
// has a session here that took the message.
func (s *Server) PublishTo(clientID string, m *Message) bool {
	if m.Created.IsZero() {
		m.Created = time.Now()
	}
	sess := s.session(clientID)
	if sess == nil {
		return false
	}
	return s.deliver(sess, m, min(m.QoS, maxQoS), false, nil)
}

// DeliverTo delivers a message to one session through its own matching
// subscriptions, as Publish would have, and reports whether the session
// took it: a program that keeps sessions' messages (Options.Delegated)
// hands a returning client what it kept. A subscription's age is not
// looked at: what is delivered so was matched when it was kept. A message
// the session has in flight already (by ID) is taken and not sent again.
func (s *Server) DeliverTo(clientID string, m *Message) bool {
	sess := s.session(clientID)
	if sess == nil {
		return false
	}
	sess.mu.Lock()
	if m.ID != "" {
		for _, ob := range sess.inflight {
			if ob.msg.ID == m.ID {
				sess.mu.Unlock()
				return true // in flight since before the client came back: resent with it
			}
		}
	}
	var subs []*subscription
	for _, sub := range sess.subs {
		if mqttrmq.MatchTopic(sub.inner, m.Topic) {
			subs = append(subs, sub)
		}
	}
	sess.mu.Unlock()
	if len(subs) == 0 {
		return false
	}
	return s.fanOutTo(sess, m, subs, time.Now(), true) > 0
}
