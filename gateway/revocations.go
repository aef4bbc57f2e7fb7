package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq"
)

// Revocation. A token works until it expires, wherever it is shown, since
// every instance verifies it alone; a revoked token must stop working
// everywhere, at once, and stay refused until it would have expired. The
// instances share no database, only RocketMQ, so revocations travel
// through RocketMQ, on Tokens.RevocationTopic:
//
//   - The instance whose token service revokes a token sends a message
//     tagged "revoke" ({"accessKey","tokenId","expireTime"}) and answers
//     only once RocketMQ took it; it applies the revocation itself at once.
//   - Every instance's consumer group (the one it consumes the parent
//     topics with) subscribes to the revocation topic too: RocketMQ gives
//     each group every message, so every running instance hears every
//     revocation, disconnects the clients holding the token (telling them
//     on $SYS/tokenInvalidNotice) and refuses the token from then on.
//   - An instance that starts reads the whole revocation topic first, from
//     each queue's first message to a marker it sends there (tag "start"):
//     what RocketMQ holds is what it must know. Token logins wait for it
//     (an early one is told the server is unavailable, 0x88).
//   - RocketMQ keeps messages for a while only (72 hours by default),
//     tokens can live 30 days: every instance announces again, in a
//     "revoke" message of its own, each revocation not announced for
//     Tokens.RevocationRefresh (24 hours by default, with a little jitter,
//     so that the first instance's announcement spares the others theirs).
//     A revocation thus outlives any instance as long as one instance runs
//     within each retention period.
//
// A revocation is forgotten once its token has expired, since the token
// is refused anyway. Anyone who may send to the revocation topic can
// revoke tokens (but never grant one): protect it with RocketMQ's ACL.

const (
	tagRevoke = "revoke"
	tagStart  = "start"
)

// revocationNotice is the body of a "revoke" message.
type revocationNotice struct {
	AccessKey  string `json:"accessKey"`
	TokenID    string `json:"tokenId"`
	ExpireTime int64  `json:"expireTime"` // ms: when the token would have expired
}

// revocation is a revoked token, remembered until it would have expired.
type revocation struct {
	notice    revocationNotice
	announced time.Time // when it was last announced on the revocation topic, by anyone
}

func (a *tokenAuthority) isRevoked(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.revoked[id]
	return ok
}

// register and unregister keep track of where connected clients hold a
// token, for a revocation to find them.
func (a *tokenAuthority) register(h *heldToken) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.holders[h.claims.ID]
	if m == nil {
		m = map[*heldToken]struct{}{}
		a.holders[h.claims.ID] = m
	}
	m[h] = struct{}{}
}

func (a *tokenAuthority) unregister(h *heldToken) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if m := a.holders[h.claims.ID]; m != nil {
		delete(m, h)
		if len(m) == 0 {
			delete(a.holders, h.claims.ID)
		}
	}
}

// note records a revocation announced at the time at, and returns the
// tokens connected clients hold that it invalidates. A token expired
// already needs no revocation.
func (a *tokenAuthority) note(n revocationNotice, at, now time.Time) []*heldToken {
	if n.ExpireTime <= now.UnixMilli() {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.revoked[n.TokenID]
	if r == nil {
		r = &revocation{notice: n}
		a.revoked[n.TokenID] = r
	}
	if at.After(r.announced) {
		r.announced = at
	}
	var hs []*heldToken
	for h := range a.holders[n.TokenID] {
		hs = append(hs, h)
	}
	return hs
}

// revocations returns how many revocations are in force.
func (a *tokenAuthority) revocations() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return int64(len(a.revoked))
}

// due forgets the revocations whose tokens expired, and returns those not
// announced for longer than refresh.
func (a *tokenAuthority) due(now time.Time, refresh time.Duration) []revocationNotice {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []revocationNotice
	for id, r := range a.revoked {
		switch {
		case r.notice.ExpireTime <= now.UnixMilli():
			delete(a.revoked, id)
		case now.Sub(r.announced) >= refresh:
			out = append(out, r.notice)
		}
	}
	return out
}

// revoke revokes a token everywhere: it returns once RocketMQ took the
// revocation, which this instance applies at once.
func (g *Gateway) revoke(ctx context.Context, c tokenClaims) error {
	n := revocationNotice{AccessKey: c.AccessKey, TokenID: c.ID, ExpireTime: c.Expire}
	if err := g.announce(ctx, n); err != nil {
		return err
	}
	g.applyRevocation(n, time.Now())
	return nil
}

// announce sends a revocation to every instance.
func (g *Gateway) announce(ctx context.Context, n revocationNotice) error {
	body, err := json.Marshal(n)
	if err != nil {
		return err
	}
	m := primitive.NewMessage(g.tokens.topic, body)
	m.WithTag(tagRevoke)
	m.WithKeys([]string{n.TokenID})
	if _, err := g.sendSync(ctx, laneOf(n.TokenID), m); err != nil {
		return fmt.Errorf("gateway: revocation not sent to %s: %w", g.tokens.topic, err)
	}
	g.access.revocationsSent.Add(1)
	return nil
}

// applyRevocation records a revocation announced at the time at, and
// disconnects the clients holding its token here.
func (g *Gateway) applyRevocation(n revocationNotice, at time.Time) {
	for _, h := range g.tokens.note(n, at, time.Now()) {
		h.login.invalidate(h, mqttrmq.TokenRevoked)
	}
}

// revocationMessage applies a message of the revocation topic: a
// "revoke" message is applied, a start marker skipped, anything else
// refused and counted.
func (g *Gateway) revocationMessage(m *primitive.MessageExt) {
	if m.GetTags() != tagRevoke {
		return
	}
	var n revocationNotice
	if err := json.Unmarshal(m.Body, &n); err != nil || n.TokenID == "" || n.ExpireTime <= 0 {
		g.access.revocationsRefused.Add(1)
		g.log.Warn("revocation refused: not {\"accessKey\",\"tokenId\",\"expireTime\"}", "msgId", m.MsgId, "error", err)
		return
	}
	born := time.Now()
	if m.BornTimestamp > 0 {
		born = time.UnixMilli(m.BornTimestamp)
	}
	g.applyRevocation(n, born)
}

// consumeRevocations is the consumer's callback for the revocation topic.
func (g *Gateway) consumeRevocations(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	if !g.consuming.begin() {
		return consumer.ConsumeRetryLater, nil
	}
	defer g.consuming.end()
	for _, m := range msgs {
		g.revocationMessage(m)
	}
	return consumer.ConsumeSuccess, nil
}

// newRevocationConsumer reads the revocation topic for this instance
// alone: every instance must hear every revocation, so each has a consumer
// group of its own for this topic ({Cluster}-revocations-{InstanceID}),
// which RocketMQ hands every message. Revocations are rare; the router,
// whose one group shares the backends' messages out, could not do this.
func (g *Gateway) newRevocationConsumer() (rocketmq.PushConsumer, error) {
	c, err := rocketmq.NewPushConsumer(
		consumer.WithNameServer(g.cfg.NameServer),
		consumer.WithGroupName(g.cfg.Cluster+"-revocations-"+g.cfg.InstanceID),
		consumer.WithNamespace(g.cfg.Namespace), // none when empty
		consumer.WithInstance(g.clientName("revocations")),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromTimestamp),
		// The client reads this timestamp as UTC; loadRevocations reads
		// what came before.
		consumer.WithConsumeTimestamp(time.Now().UTC().Add(-time.Second).Format("20060102150405")),
		consumer.WithCredentials(g.cfg.Credentials),
		consumer.WithConsumeGoroutineNums(1),
		consumer.WithStrategy(g.rebalance.Strategy(nil)), // see Close
	)
	if err != nil {
		return nil, fmt.Errorf("gateway: revocations: %w", err)
	}
	topic := g.tokens.cfg.RevocationTopic
	if err := c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: tagRevoke}, g.consumeRevocations); err != nil {
		c.Shutdown()
		return nil, fmt.Errorf("gateway: subscribe %s: %w", topic, err)
	}
	if err := c.Start(); err != nil {
		c.Shutdown()
		return nil, fmt.Errorf("gateway: revocations: %w", err)
	}
	return c, nil
}

// startTokens reads the revocations RocketMQ holds, lets token logins in,
// and starts announcing the revocations in force again when they are due.
// The consumer runs already, so that nothing revoked meanwhile is missed.
func (g *Gateway) startTokens(ctx context.Context) error {
	a := g.tokens
	if a == nil {
		return nil
	}
	c, err := g.newRevocationConsumer()
	if err != nil {
		return err
	}
	g.revoker = c
	start := time.Now()
	n, err := g.loadRevocations(ctx)
	if err != nil {
		return err
	}
	a.ready.Store(true)
	g.log.Info("revocations loaded", "topic", a.topic, "messages", n, "in force", a.revocations(), "took", time.Since(start).Round(time.Millisecond))
	// A jitter of up to a quarter of the period, different on each
	// instance, so that one of them announces first.
	refresh := a.cfg.RevocationRefresh + time.Duration(mrand.Int64N(int64(a.cfg.RevocationRefresh/4)+1))
	a.done.Add(1)
	go func() {
		defer a.done.Done()
		t := time.NewTicker(max(min(a.cfg.RevocationRefresh/10, time.Minute), 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-a.stop:
				return
			case <-t.C:
			}
			for _, n := range a.due(time.Now(), refresh) {
				if err := g.announce(context.Background(), n); err != nil {
					g.log.Warn("revocation not announced again; next time", "token", n.TokenID, "error", err)
					break
				}
				g.tokens.note(n, time.Now(), time.Now())
			}
		}
	}()
	return nil
}

// stopTokens stops announcing.
func (g *Gateway) stopTokens() {
	if a := g.tokens; a != nil {
		close(a.stop)
		a.done.Wait()
	}
}

// loadRevocations reads every revocation the revocation topic holds and
// returns how many messages it read. It sends a marker to each queue of
// the topic, then reads each queue from its first message to its marker:
// no pull ever waits at the end of a queue, and everything sent before
// the marker is read.
func (g *Gateway) loadRevocations(ctx context.Context) (int, error) {
	topic := g.tokens.topic
	var b [8]byte
	rand.Read(b[:])
	marker := g.cfg.InstanceID + "-" + hex.EncodeToString(b[:])
	queues, err := g.sendMarkers(ctx, topic, marker)
	if err != nil {
		return 0, err
	}
	// A client name of its own, not the push consumer's: rocketmq-client-go
	// gives consumers of one name one client, and making the second one
	// rewrites that client's fields while the first one's route updates
	// read them (a data race, seen under the race detector).
	pc, err := rocketmq.NewPullConsumer(
		consumer.WithNameServer(g.cfg.NameServer),
		consumer.WithGroupName(g.ConsumerGroup()+"-revocations"),
		consumer.WithInstance(g.clientName("revocations-load")),
		consumer.WithCredentials(g.cfg.Credentials),
	)
	if err != nil {
		return 0, fmt.Errorf("gateway: revocations: %w", err)
	}
	// Assigned no queue, the consumer pulls nothing on its own (and does
	// not rebalance): PullFrom names each queue. It is given no
	// namespace: the group and the queues' topic are named in it already.
	if err := pc.Assign(topic, nil); err != nil {
		return 0, fmt.Errorf("gateway: revocations: %w", err)
	}
	if err := pc.Start(); err != nil {
		return 0, fmt.Errorf("gateway: revocations: %w", err)
	}
	defer pc.Shutdown()
	read := 0
	for _, q := range queues {
		n, err := g.readRevocations(ctx, pc, q, marker)
		read += n
		if err != nil {
			return read, err
		}
	}
	return read, nil
}

// sendMarkers sends a marker to every queue of the topic and returns the
// queues. A send picks queue pick % queues, so markers go to picks 0, 1,
// 2... until one lands on a queue that has one.
func (g *Gateway) sendMarkers(ctx context.Context, topic, marker string) ([]*primitive.MessageQueue, error) {
	var queues []*primitive.MessageQueue
	seen := map[primitive.MessageQueue]bool{}
	for pick := 0; pick < 1024; pick++ {
		m := primitive.NewMessage(topic, []byte(marker))
		m.WithTag(tagStart)
		m.WithKeys([]string{marker})
		res, err := g.sendSync(ctx, pick, m)
		if err != nil {
			return nil, fmt.Errorf("gateway: revocations: marker not sent to %s: %w", topic, err)
		}
		q := primitive.MessageQueue{Topic: topic, BrokerName: res.Broker, QueueId: res.Queue}
		if seen[q] {
			return queues, nil
		}
		seen[q] = true
		queues = append(queues, &q)
	}
	return queues, nil
}

// readRevocations applies a queue's revocations up to the marker.
func (g *Gateway) readRevocations(ctx context.Context, pc rocketmq.PullConsumer, q *primitive.MessageQueue, marker string) (int, error) {
	read := 0
	for off := int64(0); ; {
		if err := ctx.Err(); err != nil {
			return read, fmt.Errorf("gateway: revocations: reading %s queue %d: %w", q.Topic, q.QueueId, err)
		}
		res, err := pc.PullFrom(ctx, q, off, 32)
		if err != nil {
			return read, fmt.Errorf("gateway: revocations: reading %s queue %d at %d: %w", q.Topic, q.QueueId, off, err)
		}
		if res.Status == primitive.PullFound {
			for _, m := range res.GetMessageExts() {
				if m.GetTags() == tagStart && m.GetKeys() == marker {
					return read, nil
				}
				read++
				g.revocationMessage(m)
			}
		}
		if res.NextBeginOffset > off {
			off = res.NextBeginOffset // past what was read, or up from an offset RocketMQ no longer holds
		} else {
			time.Sleep(10 * time.Millisecond) // the marker is stored, and not yet readable
		}
	}
}
