package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq"
)

// With -presence the backend also reads the client status notifications
// of a status topic (the gateway's -status-topic, or the hosted service's
// topic bound to a Group ID) and keeps who is online with a
// mqttrmq.PresenceTracker, which sorts out late, duplicated and
// overtaken events.

// subscribePresence adds the status topic to the consumer.
func (b *backend) subscribePresence(c rocketmq.PushConsumer) error {
	if b.opts.presence == "" {
		return nil
	}
	selector := consumer.MessageSelector{Type: consumer.TAG, Expression: mqttrmq.PresenceTags}
	if err := c.Subscribe(b.opts.presence, selector, b.handlePresence); err != nil {
		return fmt.Errorf("consumer: subscribe %s: %w", b.opts.presence, err)
	}
	return nil
}

// handlePresence prints each event and what it means: who is online now.
func (b *backend) handlePresence(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	for _, m := range msgs {
		e, err := mqttrmq.ParsePresenceEvent(m.Body)
		if err != nil {
			b.printf("✗ presence message %s refused: %v\n", m.MsgId, err)
			continue
		}
		changed, _ := b.online.Apply(e)
		p, _ := b.online.Status(e.ClientID)
		var s strings.Builder
		mark, state := "○", "offline"
		if p.Online {
			mark, state = "●", "online"
		}
		fmt.Fprintf(&s, "%s %s %s on channel %s", mark, e.ClientID, e.EventType, e.ChannelID)
		if e.ClientIP != "" {
			fmt.Fprintf(&s, " from %s", e.ClientIP)
		}
		fmt.Fprintf(&s, " at %s: %s", e.Time.UTC().Format("15:04:05.000"), state)
		if !changed {
			s.WriteString(" (no change)")
		}
		fmt.Fprintf(&s, "; %d online\n", len(b.online.Online()))
		b.mu.Lock()
		b.n++
		fmt.Fprint(b.out, s.String())
		b.mu.Unlock()
		select {
		case b.read <- struct{}{}:
		default:
		}
	}
	return consumer.ConsumeSuccess, nil
}
