package broker

import (
	"sync"
	"time"

	"github.com/mqttrmq/mqttrmq"
)

// retainStore keeps the last retained message of each topic
// [MQTT-3.3.1-5]. A new subscription finds its messages by matching its
// filter against every kept topic: retained messages are few next to
// deliveries, and a subscription asks once.
type retainStore struct {
	mu  sync.RWMutex
	m   map[string]*Message
	max int
}

func (r *retainStore) init(max int) {
	r.m = map[string]*Message{}
	r.max = max
}

// set keeps m as its topic's retained message, or, with an empty payload,
// removes the topic's [MQTT-3.3.1-6] [MQTT-3.3.1-7].
func (r *retainStore) set(m *Message, st *counters) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(m.Payload) == 0 {
		delete(r.m, m.Topic)
		return
	}
	if _, ok := r.m[m.Topic]; !ok && len(r.m) >= r.max {
		st.retainedDropped.Add(1)
		return
	}
	r.m[m.Topic] = m
}

// match returns the retained messages a filter matches, dropping those
// that expired [MQTT-3.3.2-5].
func (r *retainStore) match(filter string, now time.Time) []*Message {
	r.mu.RLock()
	var out, expired []*Message
	for topic, m := range r.m {
		if !mqttrmq.MatchTopic(filter, topic) {
			continue
		}
		if _, gone := m.remaining(now); gone {
			expired = append(expired, m)
			continue
		}
		out = append(out, m)
	}
	r.mu.RUnlock()
	if len(expired) > 0 {
		r.mu.Lock()
		for _, m := range expired {
			if r.m[m.Topic] == m {
				delete(r.m, m.Topic)
			}
		}
		r.mu.Unlock()
	}
	return out
}

// Retained returns the number of retained messages kept.
func (s *Server) Retained() int {
	s.retained.mu.RLock()
	defer s.retained.mu.RUnlock()
	return len(s.retained.m)
}
