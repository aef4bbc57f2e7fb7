package gateway

import (
	"time"

	"github.com/mqttrmq/mqttrmq"
)

// IssueToken signs a token as the token service does, without the
// service's bounds on its expiry, so that tests can hold tokens that live
// seconds or expired already.
func IssueToken(g *Gateway, accessKey string, app mqttrmq.TokenApplication) (string, error) {
	tok, _, err := g.tokens.issue(accessKey, app, time.Now())
	return tok, err
}

// SendLinger returns how long the gateway has a message linger,
// its Config.SendLinger once defaulted: 0 for none.
func (g *Gateway) SendLinger() time.Duration { return g.cfg.SendLinger }

// DispatchOf returns the queues this instance sends a device's message to
// topic (P2P to p2p, when not empty) to, as its directory says now: what a
// test waits on for a subscription made on another instance to be known
// here.
func (g *Gateway) DispatchOf(topic, p2p string) []string {
	return g.node.Dispatch(topic, p2p, false)
}

// SessionQoS returns the QoS of a persistent session's subscription to
// filter as the directory's record of the session says now, and whether
// the record holds that subscription.
func (g *Gateway) SessionQoS(client, filter string) (byte, bool) {
	s := g.node.Session(client)
	if s == nil {
		return 0, false
	}
	for _, sub := range s.Subs {
		if sub.Filter == filter {
			return sub.QoS, true
		}
	}
	return 0, false
}

// SessionSettled reports whether the persistent session of client served
// here has had its second catch-up, a directory propagation after serving
// began, and no catch-up runs now: from then on its queue is read only
// for what its inbox copies miss.
func (g *Gateway) SessionSettled(client string) bool {
	sv := g.sessions.get(client)
	if sv == nil {
		return false
	}
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return sv.settled && !sv.catching
}
