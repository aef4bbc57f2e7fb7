package gateway

import (
	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/internal/broker"
)

// hooks is the gateway as the MQTT core sees it: who may connect, what may
// be subscribed, and that every publish goes to RocketMQ. Its methods stay
// off Gateway's own.
type hooks Gateway

func (h *hooks) gw() *Gateway { return (*Gateway)(h) }

// Authenticate enforces the client-ID rules and asks the configured
// Authenticator.
func (h *hooks) Authenticate(c *broker.Client, username string, password []byte) broker.ReasonCode {
	g := h.gw()
	id := c.ID()
	refuse := func(code broker.ReasonCode, reason string, err error) broker.ReasonCode {
		g.event("connection refused", "client", id, "remote", c.RemoteAddr().String(), "transport", c.Transport().String(), "code", code, "reason", reason, "error", err)
		return code
	}
	// A client ID reaches RocketMQ as the clientId property and names a P2P
	// topic level: it must be a valid level.
	if _, err := mqttrmq.P2PTopic(g.cfg.ParentTopics[0], id); err != nil {
		return refuse(broker.ClientIdentifierNotValid, "client ID cannot be a topic level", err)
	}
	if g.cfg.RequireHostedClientID {
		if _, err := mqttrmq.ParseClientID(id); err != nil {
			return refuse(broker.ClientIdentifierNotValid, "client ID not of the form GroupID@@@DeviceID", err)
		}
	}
	if code, err := g.authenticate(c, username, password); code != broker.Success {
		return refuse(code, "authentication", err)
	}
	return broker.Success
}

// AuthorizeSubscribe refuses what the gateway does not serve: filters
// outside the parent topics, and another client's P2P topic.
func (h *hooks) AuthorizeSubscribe(c *broker.Client, filter string, _ byte) broker.ReasonCode {
	g := h.gw()
	if !g.parents[parentOfFilter(filter)] {
		g.event("subscription refused", "client", c.ID(), "remote", c.RemoteAddr().String(), "filter", filter, "code", broker.TopicFilterInvalid, "reason", "first level is not a parent topic this gateway serves")
		return broker.TopicFilterInvalid // well formed, but not served here
	}
	if snoopsP2P(c.ID(), filter) {
		g.event("subscription refused", "client", c.ID(), "remote", c.RemoteAddr().String(), "filter", filter, "code", broker.NotAuthorized, "reason", "another client's P2P topic")
		return broker.NotAuthorized
	}
	return g.authorizeSubscribe(c, filter) // permissions and tokens
}

// Publish sends a client's publish, or its will, to RocketMQ (see
// uplink), unless it is a token upload or refused by the permissions or
// the client's tokens.
func (h *hooks) Publish(c *broker.Client, m *broker.Message, ack func(broker.ReasonCode)) {
	if h.gw().interceptPublish(c, m, ack) {
		return
	}
	h.gw().uplink(c, m, ack)
}

// Subscribed and Unsubscribed tell the directory what this instance's
// sessions hold: a persistent session's filters in its session record,
// a clean session's as this instance's (see also fanOutTo).
func (h *hooks) Subscribed(clientID, filter string) {
	g := h.gw()
	if g.broker.Persistent(clientID) {
		g.sessions.keep(clientID, true)
		g.putSession(clientID, g.sessions.get(clientID), true)
	} else if !g.sessions.isKept(clientID) {
		g.node.Subscribed(filter)
	}
}

func (h *hooks) Unsubscribed(clientID, filter string) {
	g := h.gw()
	if g.sessions.isKept(clientID) {
		if g.broker.Pending(clientID) >= 0 { // connected: else the record goes with the session
			g.putSession(clientID, g.sessions.get(clientID), true)
		}
	} else {
		g.node.Unsubscribed(filter)
	}
}

// Resubscribed writes a persistent session's record again when a
// SUBSCRIBE replaced one of its subscriptions, so that the new options
// (the QoS above all) go with the session wherever its client connects
// next [MQTT-3.8.4-3]. A clean session's filters are the instance's, and
// the directory holds filters only: nothing changes there.
func (h *hooks) Resubscribed(clientID, filter string) {
	g := h.gw()
	if g.sessions.isKept(clientID) && g.broker.Pending(clientID) >= 0 {
		g.putSession(clientID, g.sessions.get(clientID), true)
	}
}

// Connected and Disconnected tell the directory (see clusterConnected),
// send presence events and track a Token-mode client's tokens (see
// access.go).
func (h *hooks) Connected(c *broker.Client) {
	h.gw().clusterConnected(c)
	h.gw().connected(c)
}

func (h *hooks) Disconnected(c *broker.Client, err error) {
	h.gw().clusterDisconnected(c)
	h.gw().disconnected(c, err)
}
