package gateway

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/internal/broker"
)

// Presence: client status notifications (SPEC §8). With Config.StatusTopic
// set, every accepted CONNECT sends a connect event to that RocketMQ topic,
// and every connection that ends a tcpclean event, preceded by a
// disconnect event when the client sent DISCONNECT. Each message is tagged
// with its event type and carries the hosted service's JSON body
// (mqttrmq.PresenceEvent), with a channelId naming the connection (this
// instance, when it started, and the connection's number: unique across
// instances and restarts) and the client's address.
//
// An event joins its client's sender lane, behind the client's own
// messages, and never waits: a connection is not held up by RocketMQ. An
// event RocketMQ does not take is sent again, backing off, until it is
// taken (at least once: a consumer may see it twice) or the gateway
// closes. While RocketMQ is away events wait, up to
// Config.StatusBacklog of them; past that new events are dropped and
// counted (PresenceStats.Dropped), as are those still unsent when the
// gateway closes (PresenceStats.Lost).
type presence struct {
	topic   string
	channel string // channel ID prefix: instance and start time
	limit   int64

	pending                       atomic.Int64
	sent, failures, dropped, lost atomic.Int64
}

// DefaultStatusBacklog is the default of Config.StatusBacklog.
const DefaultStatusBacklog = 100_000

// PresenceStats counts the presence events of Config.StatusTopic.
type PresenceStats struct {
	Sent     int64 // events RocketMQ took
	Failures int64 // send attempts RocketMQ did not take (each is retried)
	Dropped  int64 // events not sent because StatusBacklog events were waiting already
	Lost     int64 // events still unsent when the gateway closed
	Pending  int64 // events waiting for RocketMQ now
}

// PresenceStats returns a snapshot of the presence counters; all zero
// without Config.StatusTopic.
func (g *Gateway) PresenceStats() PresenceStats {
	p := &g.presence
	return PresenceStats{
		Sent: p.sent.Load(), Failures: p.failures.Load(), Dropped: p.dropped.Load(),
		Lost: p.lost.Load(), Pending: p.pending.Load(),
	}
}

// checkPresence validates the presence settings; c has its defaults.
func (c *Config) checkPresence() error {
	if c.StatusTopic == "" {
		return nil
	}
	if err := mqttrmq.ValidateParentTopic(c.StatusTopic); err != nil {
		return fmt.Errorf("%w: StatusTopic: %w", ErrConfig, err)
	}
	if _, err := mqttrmq.NamespaceTopic(c.Namespace, c.StatusTopic); c.Namespace != "" && err != nil {
		return fmt.Errorf("%w: StatusTopic in Namespace: %w", ErrConfig, err)
	}
	if slices.Contains(c.ParentTopics, c.StatusTopic) {
		return fmt.Errorf("%w: StatusTopic %q is a parent topic: devices' messages and presence events would mix", ErrConfig, c.StatusTopic)
	}
	if c.StatusBacklog == 0 {
		c.StatusBacklog = DefaultStatusBacklog
	}
	if c.StatusBacklog < 0 {
		return fmt.Errorf("%w: StatusBacklog is negative", ErrConfig)
	}
	return nil
}

func (p *presence) init(cfg Config, started time.Time) {
	p.topic = inNamespace(cfg.Namespace, cfg.StatusTopic)
	p.limit = int64(cfg.StatusBacklog)
	p.channel = cfg.InstanceID + "-" + strconv.FormatInt(started.UnixMilli(), 36) + "-"
}

// inNamespace returns the RocketMQ name of a topic in a namespace, as
// the parent topics are named: {namespace}%{topic}. The producer adds no
// namespace itself (see Start).
func inNamespace(namespace, topic string) string {
	if namespace == "" || topic == "" {
		return topic
	}
	name, _ := mqttrmq.NamespaceTopic(namespace, topic) // checked by withDefaults
	return name
}

// channelID names a connection: unique per connection of every instance
// and every start of it.
func (p *presence) channelID(c *broker.Client) string { return p.channelOf(c.ConnectionID()) }

// channelOf names the connection numbered serial, its number in base 36
// at a fixed width, so that a later connection's name sorts after an
// earlier one's: a consumer that sees a client's two connects in the same
// millisecond takes the greater channel ID as the current one (SPEC §8,
// mqttrmq.PresenceTracker), which must then be the later connection.
func (p *presence) channelOf(serial uint64) string {
	const width = 13 // digits of the greatest uint64 in base 36
	n := strconv.FormatUint(serial, 36)
	return p.channel + strings.Repeat("0", width-len(n)) + n
}

// presenceEvent sends one event of c's, never waiting.
func (g *Gateway) presenceEvent(c *broker.Client, eventType string, at time.Time) {
	p := &g.presence
	if p.topic == "" || g.sender == nil {
		return
	}
	e := mqttrmq.PresenceEvent{ClientID: c.ID(), Time: at, EventType: eventType, ChannelID: p.channelID(c)}
	if a := c.RemoteAddr(); a != nil {
		e.ClientIP = a.String()
	}
	body, err := e.AppendJSON(nil)
	if err != nil { // a client ID the broker took always makes a valid event
		g.log.Warn("presence event not sent", "client", c.ID(), "error", err)
		return
	}
	if p.pending.Add(1) > p.limit {
		p.pending.Add(-1)
		p.dropped.Add(1)
		g.log.Warn("presence event dropped: backlog full", "client", c.ID(), "event", eventType, "backlog", p.limit)
		return
	}
	msg := primitive.NewMessage(p.topic, body)
	msg.WithTag(eventType)
	msg.WithKeys([]string{c.ID()})
	(&presenceSend{g: g, clientID: c.ID(), msg: msg, backoff: 50 * time.Millisecond}).send()
}

// presenceSend is one event on its way, sent until RocketMQ takes it.
type presenceSend struct {
	g        *Gateway
	clientID string
	msg      *primitive.Message
	backoff  time.Duration
}

// maxPresenceBackoff bounds the wait between attempts while RocketMQ is
// away, so that events follow soon after it is back.
const maxPresenceBackoff = 2 * time.Second

func (s *presenceSend) send() { s.g.sender.sendAndForget(s.clientID, s.msg, nil, nil, nil, s.report) }

func (s *presenceSend) report(err error) {
	p := &s.g.presence
	switch {
	case err == nil:
		p.pending.Add(-1)
		p.sent.Add(1)
	case errors.Is(err, errSenderClosed):
		p.pending.Add(-1)
		p.lost.Add(1)
		s.g.log.Warn("presence event lost: the gateway closed before RocketMQ took it", "client", s.clientID, "event", s.msg.GetTags())
	default:
		p.failures.Add(1)
		time.AfterFunc(s.backoff, s.send)
		s.backoff = min(2*s.backoff, maxPresenceBackoff)
	}
}

// presenceConnected and presenceDisconnected turn the broker's hooks into
// events: a DISCONNECT from the client (err nil) gives disconnect then
// tcpclean, any other end tcpclean alone.
func (g *Gateway) presenceConnected(c *broker.Client) {
	g.presenceEvent(c, mqttrmq.PresenceConnect, time.Now())
}

func (g *Gateway) presenceDisconnected(c *broker.Client, err error) {
	now := time.Now()
	if err == nil {
		g.presenceEvent(c, mqttrmq.PresenceDisconnect, now)
	}
	g.presenceEvent(c, mqttrmq.PresenceTCPClean, now)
}
