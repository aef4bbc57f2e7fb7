package gateway

import (
	"bytes"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mqttrmq/mqttrmq"
)

// hook applies the mapping inside the embedded broker. It overrides only
// what the gateway needs; the rest is mqtt.HookBase's.
type hook struct {
	mqtt.HookBase
	g *Gateway
}

func (h *hook) ID() string { return "mqttrmq-gateway" }

func (h *hook) Provides(b byte) bool {
	return bytes.IndexByte([]byte{
		mqtt.OnConnectAuthenticate,
		mqtt.OnACLCheck,
		mqtt.OnSubscribe,
		mqtt.OnSubscribed,
		mqtt.OnUnsubscribed,
		mqtt.OnPublish,
		mqtt.OnWill,
		mqtt.OnSessionEstablish,
		mqtt.OnPacketEncode,
		mqtt.OnSessionEstablished,
		mqtt.OnDisconnect,
	}, b) >= 0
}

// OnWill sends a departed client's will through RocketMQ like any publish
// of its own (so every instance delivers it, and what the SPEC refuses is
// refused), and leaves the broker a will that reaches nobody: its first
// level is no parent topic, and only parent topics can be subscribed to.
func (h *hook) OnWill(cl *mqtt.Client, will mqtt.Will) (mqtt.Will, error) {
	h.g.will(cl, will)
	return mqtt.Will{TopicName: noDeliveryTopic}, nil
}

// noDeliveryTopic matches no subscription the gateway accepts.
const noDeliveryTopic = "$mqttrmq/will-sent-through-rocketmq"

// The four hooks below bracket a session takeover; see handover.

func (h *hook) OnSessionEstablish(cl *mqtt.Client, _ packets.Packet) { h.g.handover.begin(cl) }

func (h *hook) OnPacketEncode(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	if pk.FixedHeader.Type == packets.Connack {
		h.g.handover.end(cl)
	}
	return pk
}

func (h *hook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) { h.g.handover.end(cl) }

func (h *hook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) { h.g.handover.end(cl) }

// OnConnectAuthenticate asks the configured Authenticator, and enforces
// the client-ID rules.
func (h *hook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	g := h.g
	id := cl.ID
	refuse := func(reason string, err error) bool {
		g.stats.connectionsRefused.Add(1)
		g.log.Info("connection refused", "client", id, "remote", cl.Net.Remote, "reason", reason, "error", err)
		return false
	}
	// The broker's own inline client is registered under this ID; a device
	// using it would take that client's place.
	if id == mqtt.InlineClientId {
		return refuse("reserved client ID", nil)
	}
	// A client ID reaches RocketMQ as the clientId property and names a P2P
	// topic level: it must be a valid level.
	if _, err := mqttrmq.P2PTopic(h.g.cfg.ParentTopics[0], id); err != nil {
		return refuse("client ID cannot be a topic level", err)
	}
	if g.cfg.RequireHostedClientID {
		if _, err := mqttrmq.ParseClientID(id); err != nil {
			return refuse("client ID not of the form GroupID@@@DeviceID", err)
		}
	}
	if err := g.cfg.Auth.Authenticate(id, string(pk.Connect.Username), pk.Connect.Password); err != nil {
		return refuse("authentication", err)
	}
	return true
}

// OnACLCheck lets every client publish (OnPublish checks each publish) and
// keeps every P2P topic private to its owner, both when a filter is
// subscribed and when a message is about to be delivered.
func (h *hook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if write || cl.Net.Inline {
		return true
	}
	return !snoopsP2P(cl.ID, topic)
}

// OnSubscribe refuses, filter by filter, what the gateway does not serve.
// The broker has no per-filter veto in this hook, so a refused filter is
// replaced by an empty one, which it answers with a failure code.
func (h *hook) OnSubscribe(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	g := h.g
	count := cl.State.Subscriptions.Len()
	for i := range pk.Filters {
		f := pk.Filters[i].Filter
		reason := g.subscribeRefusal(cl.ID, f)
		if reason == "" && g.cfg.MaxSubscriptionsPerClient > 0 {
			if _, exists := cl.State.Subscriptions.Get(f); !exists {
				if count >= g.cfg.MaxSubscriptionsPerClient {
					reason = "too many subscriptions"
				} else {
					count++
				}
			}
		}
		if reason != "" {
			g.stats.subscribesRefused.Add(1)
			g.log.Info("subscription refused", "client", cl.ID, "filter", f, "reason", reason)
			pk.Filters[i].Filter = ""
		}
	}
	return pk
}

// subscribeRefusal says why a filter is refused, or "" to accept it.
func (g *Gateway) subscribeRefusal(clientID, filter string) string {
	if err := mqttrmq.ValidateTopicFilter(filter); err != nil {
		return err.Error()
	}
	if !g.parents[parentOfFilter(filter)] {
		return "first level is not a parent topic this gateway serves"
	}
	if snoopsP2P(clientID, filter) {
		return "another client's P2P topic"
	}
	return ""
}

// OnSubscribed and OnUnsubscribed keep the Apache dialect's filter set in
// step with what clients hold.
func (h *hook) OnSubscribed(cl *mqtt.Client, pk packets.Packet, codes []byte) {
	if h.g.subs != nil {
		if err := h.g.subs.subscribed(cl.ID, pk.Filters, codes); err != nil {
			h.g.log.Warn("filter not fanned out to", "client", cl.ID, "error", err)
		}
	}
}

func (h *hook) OnUnsubscribed(cl *mqtt.Client, pk packets.Packet) {
	if h.g.subs != nil {
		h.g.subs.unsubscribed(cl.ID, pk.Filters)
	}
}

// OnPublish maps every device publish onto RocketMQ (see uplink.go). The
// broker's own inline client publishes what came from RocketMQ, which
// passes through untouched.
func (h *hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	return h.g.uplink(cl, pk)
}
