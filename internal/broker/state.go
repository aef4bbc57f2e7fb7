package broker

import (
	"time"
)

// SessionState is a persistent session as a session store keeps it across
// a restart: its subscriptions and the QoS 1 and 2 messages it holds.
type SessionState struct {
	ClientID string
	// ExpiresIn is how long the session may stay without its client from
	// the moment it was read.
	ExpiresIn     time.Duration
	Subscriptions []SubscriptionState
	// Messages are those in flight and those queued, in the order they
	// were to reach the client.
	Messages []HeldMessage
}

// SubscriptionState is one subscription of a saved session.
type SubscriptionState struct {
	Filter            string
	QoS               byte
	NoLocal           bool `json:",omitempty"`
	RetainAsPublished bool `json:",omitempty"`
	RetainHandling    byte `json:",omitempty"`
	ID                int  `json:",omitempty"`
}

// HeldMessage is one message a saved session holds for its client.
type HeldMessage struct {
	Message
	DeliveryQoS byte
	RetainFlag  bool  `json:",omitempty"`
	SubIDs      []int `json:",omitempty"`
}

// Sessions returns every persistent session. Read after Close, they are
// what a restart needs: a message sent and not acknowledged is sent again
// when its client returns.
func (s *Server) Sessions() []SessionState {
	var out []SessionState
	now := time.Now()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for _, sess := range sh.m {
			sess.mu.Lock()
			if sess.persistent && !sess.ended {
				out = append(out, sess.state(now))
			}
			sess.mu.Unlock()
		}
		sh.mu.Unlock()
	}
	return out
}

// state is the session's SessionState; sess.mu is held.
func (sess *session) state(now time.Time) SessionState {
	st := SessionState{ClientID: sess.id, ExpiresIn: sess.expiry}
	if sess.client == nil && !sess.expiresAt.IsZero() {
		st.ExpiresIn = max(sess.expiresAt.Sub(now), time.Second)
	}
	for _, sub := range sess.subs {
		st.Subscriptions = append(st.Subscriptions, SubscriptionState{
			Filter: sub.filter, QoS: sub.qos, NoLocal: sub.noLocal, RetainAsPublished: sub.rap, RetainHandling: sub.rh, ID: sub.id,
		})
	}
	for _, list := range [][]*outbound{sess.inflight, sess.queue} {
		for _, ob := range list {
			st.Messages = append(st.Messages, HeldMessage{Message: *ob.msg, DeliveryQoS: ob.qos, RetainFlag: ob.retain, SubIDs: ob.subIDs})
		}
	}
	return st
}

// Restore brings back saved sessions, before the broker serves: each
// waits for its client, holding its subscriptions and messages, until it
// expires. A session whose client ID already has one here is skipped.
func (s *Server) Restore(states []SessionState) {
	for _, st := range states {
		sh := s.shard(st.ClientID)
		sh.mu.Lock()
		if sh.m[st.ClientID] != nil {
			sh.mu.Unlock()
			continue
		}
		sess := &session{id: st.ClientID, serial: s.serial.Add(1), persistent: true, expiry: st.ExpiresIn}
		sh.m[st.ClientID] = sess
		sh.mu.Unlock()
		s.stats.sessions.Add(1)
		s.stats.persistent.Add(1)

		sess.mu.Lock()
		s.restoreSubscriptions(sess, st.Subscriptions)
		for i := range st.Messages {
			hm := &st.Messages[i]
			m := hm.Message
			sess.queue = append(sess.queue, &outbound{msg: &m, qos: hm.DeliveryQoS, retain: hm.RetainFlag, subIDs: hm.SubIDs})
		}
		s.stats.queued.Add(int64(len(sess.queue)))
		sess.armExpiry(s, st.ExpiresIn)
		subs := append([]*subscription(nil), sess.subs...)
		sess.mu.Unlock()
		for _, sub := range subs {
			s.hooks.Subscribed(sess.id, sub.filter)
		}
	}
}

// restoreSubscriptions gives a session saved subscriptions; sess.mu is
// held.
func (s *Server) restoreSubscriptions(sess *session, subs []SubscriptionState) []*subscription {
	var out []*subscription
	for _, ss := range subs {
		inner, group, code := parseFilter(ss.Filter)
		if code != Success {
			continue
		}
		sub, isNew := sess.subscribe(ss.Filter, inner, group)
		sub.qos, sub.noLocal, sub.rap, sub.rh, sub.id = ss.QoS, ss.NoLocal, ss.RetainAsPublished, ss.RetainHandling, ss.ID
		if isNew {
			s.index.add(sub)
			out = append(out, sub)
		}
	}
	return out
}

// Subscriptions returns a session's subscriptions, or nil for no session.
func (s *Server) Subscriptions(clientID string) []SubscriptionState {
	sess := s.session(clientID)
	if sess == nil {
		return nil
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	out := make([]SubscriptionState, 0, len(sess.subs))
	for _, sub := range sess.subs {
		out = append(out, SubscriptionState{Filter: sub.filter, QoS: sub.qos, NoLocal: sub.noLocal, RetainAsPublished: sub.rap, RetainHandling: sub.rh, ID: sub.id})
	}
	return out
}
