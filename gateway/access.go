package gateway

import (
	"sync/atomic"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/internal/broker"
)

// Who may do what: the broker's hooks ask here, after the gateway's own
// rules (parent topics, P2P privacy), whether Config.Permissions allows a
// publish or a subscription. A refused PUBLISH is not forwarded to
// RocketMQ and is answered 0x87 (an MQTT 3.1.1 client, which cannot be
// refused, gets its acknowledgement anyway); a refused SUBSCRIBE filter
// gets 0x87 in the SUBACK (MQTT 3.1.1: 0x80). Every refusal is counted
// here (AccessStats) and by the broker (Stats.Refusals, by packet and
// reason code).

// clientAccess is what a connection's hooks keep for these checks (with
// broker.Client.SetValue).
type clientAccess struct {
	accessKey string // the username's AccessKey ID, "" when it names none
	group     string // the client ID's Group ID, "" when it is not GroupID@@@DeviceID
}

func accessOf(c *broker.Client) *clientAccess {
	ca, _ := c.Value().(*clientAccess)
	return ca
}

// groupOf returns the Group ID of a client ID of the hosted form, or "".
func groupOf(clientID string) string {
	id, err := mqttrmq.ParseClientID(clientID)
	if err != nil {
		return ""
	}
	return id.GroupID
}

// AccessStats counts the decisions of Config.Permissions.
type AccessStats struct {
	PublishesRefused  int64 // publishes and wills a permission refused: never sent to RocketMQ
	SubscribesRefused int64 // filters a permission refused
}

// accessCounters are the live counters behind AccessStats.
type accessCounters struct {
	publishesRefused, subscribesRefused atomic.Int64
}

// AccessStats returns a snapshot of the counters of Config.Permissions.
func (g *Gateway) AccessStats() AccessStats {
	c := &g.access
	return AccessStats{PublishesRefused: c.publishesRefused.Load(), SubscribesRefused: c.subscribesRefused.Load()}
}

// authenticate checks a CONNECT's credentials with Config.Auth, and keeps
// what the later checks need on the client.
func (g *Gateway) authenticate(c *broker.Client, username string, password []byte) (broker.ReasonCode, error) {
	if err := g.cfg.Auth.Authenticate(c.ID(), username, password); err != nil {
		return broker.BadUsernameOrPassword, err
	}
	if g.cfg.Permissions != nil {
		ca := &clientAccess{group: groupOf(c.ID())}
		if u, err := mqttrmq.ParseUsername(username); err == nil {
			ca.accessKey = u.AccessKeyID
		}
		c.SetValue(ca)
	}
	return broker.Success, nil
}

// subjectOf returns the AccessKey ID and Group ID permissions are looked
// up by. A will published after its connection is long gone carries no
// state: its Group ID is all there is.
func subjectOf(c *broker.Client, ca *clientAccess) (accessKey, group string) {
	if ca == nil {
		return "", groupOf(c.ID())
	}
	return ca.accessKey, ca.group
}

// interceptPublish handles the publishes the Publish hook must not send to
// RocketMQ: those a permission refuses. It reports whether it answered
// the publish.
func (g *Gateway) interceptPublish(c *broker.Client, m *broker.Message, ack func(broker.ReasonCode)) bool {
	p := g.cfg.Permissions
	if p == nil {
		return false
	}
	ak, group := subjectOf(c, accessOf(c))
	if p.Publish(ak, group, m.Topic) {
		return false
	}
	g.access.publishesRefused.Add(1)
	g.log.Info("publish refused", "client", c.ID(), "topic", m.Topic, "code", broker.NotAuthorized, "reason", "permissions")
	if ack != nil {
		ack(broker.NotAuthorized)
	}
	return true
}

// authorizeSubscribe asks the permissions about a filter the gateway's
// own rules let through.
func (g *Gateway) authorizeSubscribe(c *broker.Client, filter string) broker.ReasonCode {
	p := g.cfg.Permissions
	if p == nil {
		return broker.Success
	}
	ak, group := subjectOf(c, accessOf(c))
	if p.Subscribe(ak, group, innerFilter(filter)) {
		return broker.Success
	}
	g.access.subscribesRefused.Add(1)
	g.log.Info("subscription refused", "client", c.ID(), "filter", filter, "code", broker.NotAuthorized, "reason", "permissions")
	return broker.NotAuthorized
}

// connected and disconnected are the broker's Connected and Disconnected
// hooks: presence events.
func (g *Gateway) connected(c *broker.Client) { g.presenceConnected(c) }

func (g *Gateway) disconnected(c *broker.Client, err error) { g.presenceDisconnected(c, err) }
