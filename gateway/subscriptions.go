package gateway

import (
	"maps"
	"slices"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mqttrmq/mqttrmq"
)

// subscriptions keeps a FilterSet in step with the filters this instance's
// clients hold, for the Apache RocketMQ-MQTT dialect: every uplink message
// lists, in INNER_MULTI_DISPATCH, the Light Message Queue of each filter
// that matches its topic. The broker reports a re-subscription again and an
// unsubscription of filters a client never held, so the set counts each
// (client, filter) pair once.
type subscriptions struct {
	fs   *mqttrmq.FilterSet
	mu   sync.Mutex
	held map[string]map[string]bool // client ID -> filters
}

func newSubscriptions(fs *mqttrmq.FilterSet) *subscriptions {
	return &subscriptions{fs: fs, held: map[string]map[string]bool{}}
}

// subscribed records the filters the broker granted.
func (s *subscriptions) subscribed(clientID string, subs []packets.Subscription, codes []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, sub := range subs {
		if i >= len(codes) || codes[i] >= packets.ErrUnspecifiedError.Code || s.held[clientID][sub.Filter] {
			continue
		}
		if err := s.fs.Add(sub.Filter); err != nil {
			return err
		}
		if s.held[clientID] == nil {
			s.held[clientID] = map[string]bool{}
		}
		s.held[clientID][sub.Filter] = true
	}
	return nil
}

// restored records the filters of the sessions the broker read from its
// session store, which it restores without reporting them as subscribed.
func (s *subscriptions) restored(clients map[string]*mqtt.Client) error {
	for id, cl := range clients {
		subs := slices.Collect(maps.Values(cl.State.Subscriptions.GetAll()))
		if err := s.subscribed(id, subs, make([]byte, len(subs))); err != nil {
			return err
		}
	}
	return nil
}

// unsubscribed forgets the filters a client held.
func (s *subscriptions) unsubscribed(clientID string, subs []packets.Subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sub := range subs {
		if s.held[clientID][sub.Filter] {
			s.fs.Remove(sub.Filter)
			delete(s.held[clientID], sub.Filter)
		}
	}
	if len(s.held[clientID]) == 0 {
		delete(s.held, clientID)
	}
}
