package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

// sendTimeout bounds one command's send, the client's retries included.
const sendTimeout = 10 * time.Second

// run runs the backend with the command line args, writing what it sends
// and reads to stdout.
func run(ctx context.Context, stdout io.Writer, args []string) error {
	o, err := parseFlags(stdout, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if o.verbose {
		rlog.SetLogLevel("warn")
	} else {
		rlog.SetLogLevel("error") // the RocketMQ client's own logger, process-wide
	}
	b := &backend{opts: o, out: stdout, read: make(chan struct{}, 1)}
	if o.request != "" {
		return b.requestReply(ctx)
	}
	if o.sends() {
		if err := b.sendCommands(ctx); err != nil {
			return err
		}
	}
	if o.consume {
		return b.consume(ctx)
	}
	return nil
}

// backend is the service: a producer for commands, a consumer of device messages.
type backend struct {
	opts options

	mu   sync.Mutex // serialises output and guards n
	out  io.Writer
	n    int
	read chan struct{} // signalled on every device message and presence event

	online mqttrmq.PresenceTracker // who is online, with -presence
}

func (b *backend) printf(format string, a ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fmt.Fprintf(b.out, format, a...)
}

// sendCommands sends -msg to each -p2p client and to the -broadcast subtopic.
func (b *backend) sendCommands(ctx context.Context) error {
	o := b.opts
	p, err := rocketmq.NewProducer(
		producer.WithNameServer(o.nameServers),
		producer.WithGroupName(o.producerGroup),
		producer.WithInstanceName(o.instance+"-producer"),
		producer.WithCredentials(o.credentials),
		producer.WithNamespace(o.namespace),
	)
	if err != nil {
		return fmt.Errorf("producer: %w", err)
	}
	if err := p.Start(); err != nil {
		return fmt.Errorf("producer: %w", err)
	}
	defer p.Shutdown()

	for _, id := range o.p2p {
		m, err := b.command(id, "")
		if err != nil {
			return err
		}
		if err := b.send(ctx, p, m, "P2P to "+id); err != nil {
			return err
		}
	}
	if o.broadcast != "" {
		m, err := b.command("", o.broadcast)
		if err != nil {
			return err
		}
		if err := b.send(ctx, p, m, "to subscribers of "+o.topic+o.broadcast); err != nil {
			return err
		}
	}
	return nil
}

// command builds a message for MQTT clients: for one client (P2P) when
// target is set, else for the subscribers of the subtopic second. Both
// dialects have the same setters; each writes its own properties (the
// hosted one mqttSecondTopic, Apache RocketMQ-MQTT's originMqttTopic and the
// Light Message Queue the message goes to).
func (b *backend) command(target, second string) (*primitive.Message, error) {
	o := b.opts
	d := o.dialect
	m := primitive.NewMessage(o.topic, []byte(o.message))
	// MQ2MQTT, without which the hosted service delivers nothing, or
	// MQTT_COMMON.
	m.WithTag(d.DownlinkTag())
	topic := o.topic + second
	if target != "" {
		var err error
		if topic, err = mqttrmq.P2PTopic(o.topic, target); err != nil {
			return nil, err
		}
	}
	if _, err := d.SetTopic(m, topic); err != nil {
		return nil, err
	}
	if err := d.SetQoS(m, o.qos); err != nil {
		return nil, err
	}
	if target != "" && o.cleanIsSet {
		if err := d.SetCleanSession(m, o.clean); err != nil {
			return nil, err
		}
	}
	if o.realTopic != "" {
		if err := d.SetRealTopic(m, o.realTopic); err != nil {
			return nil, err
		}
	}
	if o.expiry.IsSet() {
		if err := d.SetMessageExpiry(m, o.expiry); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (b *backend) send(ctx context.Context, p rocketmq.Producer, m *primitive.Message, what string) error {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	r, err := p.SendSync(ctx, m)
	if err == nil && r.Status != primitive.SendOK {
		err = fmt.Errorf("status %d", r.Status)
	}
	if err != nil {
		return fmt.Errorf("send %s: %w", what, err)
	}
	b.printf("→ %s: %s (msgId %s)\n%s", what, m.Body, r.MsgID, b.describe(m.Topic, m.GetTags(), m))
	return nil
}

// consume reads device messages until -expect is reached, -wait passes or
// ctx is done.
func (b *backend) consume(ctx context.Context) (err error) {
	o := b.opts
	stop, err := b.startConsumer(b.handle)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stop()) }()

	var timeout <-chan time.Time
	if o.wait > 0 {
		t := time.NewTimer(o.wait)
		defer t.Stop()
		timeout = t.C
	}
	for {
		if o.expect > 0 && b.count() >= o.expect {
			return nil
		}
		select {
		case <-b.read:
		case <-timeout:
			if o.expect > 0 {
				return fmt.Errorf("read %d of -expect %d messages within -wait %v", b.count(), o.expect, o.wait)
			}
			return nil
		case <-ctx.Done():
			if o.expect > 0 {
				return fmt.Errorf("read %d of -expect %d messages: %w", b.count(), o.expect, ctx.Err())
			}
			return nil // interrupted: the normal way to stop
		}
	}
}

// startConsumer starts the consumer of -topic's device messages, each
// handed to handle, and returns what stops it.
func (b *backend) startConsumer(handle func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error)) (stop func() error, err error) {
	o := b.opts
	from := consumer.WithConsumeFromWhere(consumer.ConsumeFromTimestamp)
	if o.fromFirst {
		from = consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset)
	}
	// The guard shuts the consumer down without racing its own
	// rebalances, which read a flag the client's Shutdown writes without
	// synchronisation; it works on any RocketMQ, not only the test one.
	var guard rocketmqtest.ConsumerGuard
	c, err := rocketmq.NewPushConsumer(
		consumer.WithNameServer(o.nameServers),
		consumer.WithGroupName(o.group),
		consumer.WithInstance(o.instance+"-consumer"),
		consumer.WithCredentials(o.credentials),
		consumer.WithNamespace(o.namespace),
		from,
		// Read only for a group that has no offsets yet; the client reads
		// it as UTC.
		consumer.WithConsumeTimestamp(time.Now().Add(-time.Second).UTC().Format("20060102150405")),
		// One callback at a time: a device's messages, which share a
		// queue, print in the order it sent them.
		consumer.WithConsumeGoroutineNums(1),
		consumer.WithStrategy(guard.Strategy(nil)),
	)
	if err != nil {
		return nil, fmt.Errorf("consumer: %w", err)
	}
	selector := consumer.MessageSelector{Type: consumer.TAG, Expression: o.tag}
	if err := c.Subscribe(o.topic, selector, handle); err != nil {
		c.Shutdown()
		return nil, fmt.Errorf("consumer: subscribe %s: %w", o.topic, err)
	}
	if err := b.subscribePresence(c); err != nil {
		c.Shutdown()
		return nil, err
	}
	if err := c.Start(); err != nil {
		c.Shutdown()
		return nil, fmt.Errorf("consumer: %w", err)
	}
	b.printf("consuming %s (tag %s) as group %s\n", o.topic, o.tag, o.group)
	if o.presence != "" {
		b.printf("consuming presence events of %s\n", o.presence)
	}
	return func() error { return guard.Shutdown(c) }, nil
}

// handle prints device messages as the MQTT publishes they were.
func (b *backend) handle(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	for _, m := range msgs {
		p, err := b.opts.dialect.FromRocketMQ(m.Topic, m, m.Body)
		if err != nil {
			// Malformed: print it and move on; redelivering cannot mend it.
			b.printf("✗ message %s refused: %v\n", m.MsgId, err)
			continue
		}
		if p.ClientID == "" {
			continue // a backend's command: Apache RocketMQ-MQTT tags both ways alike
		}
		b.mu.Lock()
		b.n++
		fmt.Fprintf(b.out, "← %s from %s, qos %s: %s\n%s", p.Topic, p.ClientID, p.QoS, p.Payload, b.describe(m.Topic, m.GetTags(), m))
		b.mu.Unlock()
		select {
		case b.read <- struct{}{}:
		default:
		}
	}
	return consumer.ConsumeSuccess, nil
}

func (b *backend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

// describe shows a RocketMQ message as the mapping wrote it: topic, tag
// and the dialect's properties, one indented line.
func (b *backend) describe(topic, tag string, m mqttrmq.Properties) string {
	d := b.opts.dialect
	var s strings.Builder
	fmt.Fprintf(&s, "  RocketMQ topic=%s tag=%s", topic, tag)
	for _, k := range []string{
		d.TopicKey(), d.QoSKey(), d.CleanSessionKey(), d.ClientIDKey(),
		mqttrmq.PropRealTopic, d.UserPropertiesKey(), mqttrmq.PropDispatch,
		// MQTT 5's message properties, in the hosted dialect; the Apache
		// one keeps them in extData.
		mqttrmq.PropMessageExpiry, mqttrmq.PropContentType, mqttrmq.PropPayloadFormat,
		mqttrmq.PropResponseTopic, mqttrmq.PropCorrelationData,
	} {
		if v := m.GetProperty(k); v != "" {
			fmt.Fprintf(&s, " %s=%s", k, v)
		}
	}
	s.WriteByte('\n')
	return s.String()
}
