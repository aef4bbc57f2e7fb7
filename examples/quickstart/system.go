package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/gateway"
	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

// system is everything but the vehicles' logic: RocketMQ (in process
// unless -namesrv), the gateway, and the backend's consumer and producer.
type system struct {
	opts  options
	con   *console
	tally *tally
	run   string // this run's ID, in every client and group name

	srv         *rocketmqtest.Server // nil on a real RocketMQ
	nameServers []string
	gw          *gateway.Gateway
	guard       rocketmqtest.ConsumerGuard
	consumer    rocketmq.PushConsumer
	producer    rocketmq.Producer
	vehicles    []*vehicle
}

// command is the payload of a backend command.
func (s *system) command(cmd string) string { return fmt.Sprintf(`{"cmd":%q,"run":%q}`, cmd, s.run) }

func (s *system) gatewayID() string     { return "quickstart-" + s.run }
func (s *system) backendGroup() string  { return "quickstart-backend-" + s.run }
func (s *system) producerGroup() string { return "quickstart-commands" }

func (s *system) apache() bool { return s.opts.dialect == mqttrmq.ApacheRocketMQMQTT }

// inNamespace is the name RocketMQ gives a topic or group in -namespace.
func (s *system) inNamespace(name string) string {
	if s.opts.namespace == "" {
		return name
	}
	return s.opts.namespace + "%" + name
}

// uplinkTag is the tag of the messages the gateway sends for devices.
func (s *system) uplinkTag() string {
	if s.apache() {
		return mqttrmq.ApacheRocketMQMQTT.DownlinkTag()
	}
	return gateway.UplinkTag
}

// start starts RocketMQ, the gateway and the backend, in that order.
func (s *system) start(ctx context.Context) error {
	s.nameServers = s.opts.nameServers
	if len(s.nameServers) == 0 {
		srv, err := rocketmqtest.Start()
		if err != nil {
			return err
		}
		s.srv = srv
		if err := srv.CreateTopic(s.inNamespace(s.opts.topic), 4); err != nil {
			return err
		}
		s.nameServers = []string{srv.Addr()}
		s.con.printf("quickstart: RocketMQ in process (rocketmqtest) at %s, topic %s, dialect %s\n", srv.Addr(), s.inNamespace(s.opts.topic), s.opts.dialect)
	} else {
		s.con.printf("quickstart: RocketMQ at %s, topic %s, dialect %s\n", strings.Join(s.nameServers, ","), s.inNamespace(s.opts.topic), s.opts.dialect)
	}
	// A new consumer group starts here; a second back allows for clocks
	// that read whole seconds.
	since := time.Now().Add(-time.Second)

	level := slog.LevelWarn
	if s.opts.verbose {
		level = slog.LevelInfo
	}
	gw, err := gateway.New(gateway.Config{
		Listen:                "127.0.0.1:0",
		NameServer:            s.nameServers,
		ParentTopics:          []string{s.opts.topic},
		Namespace:             s.opts.namespace,
		InstanceID:            s.gatewayID(),
		Dialect:               s.opts.dialect,
		Auth:                  gateway.AllowAll{},
		RequireHostedClientID: true,
		Logger:                slog.New(slog.NewTextHandler(s.con, &slog.HandlerOptions{Level: level})),
	})
	if err != nil {
		return err
	}
	if err := gw.Start(ctx); err != nil {
		return err
	}
	s.gw = gw
	s.con.printf("quickstart: gateway listening for MQTT on %s\n", gw.Addr())

	// The backend reads what devices sent: the gateway tags it MQTT2MQ in
	// the hosted service's dialect, MQTT_COMMON in Apache RocketMQ-MQTT's
	// (which tags what backends send so too).
	c, err := rocketmq.NewPushConsumer(
		consumer.WithNameServer(s.nameServers),
		consumer.WithGroupName(s.backendGroup()),
		consumer.WithNamespace(s.opts.namespace), // none when empty
		consumer.WithInstance(s.backendGroup()),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromTimestamp),
		consumer.WithConsumeTimestamp(since.UTC().Format("20060102150405")), // the client reads it as UTC
		// One callback at a time: each device's messages in the order it
		// sent them, as they share one queue.
		consumer.WithConsumeGoroutineNums(1),
		consumer.WithStrategy(s.guard.Strategy(nil)),
	)
	if err != nil {
		return fmt.Errorf("backend consumer: %w", err)
	}
	selector := consumer.MessageSelector{Type: consumer.TAG, Expression: s.uplinkTag()}
	if err := c.Subscribe(s.opts.topic, selector, s.consume); err != nil {
		return fmt.Errorf("backend consumer: %w", err)
	}
	if err := c.Start(); err != nil {
		c.Shutdown()
		return fmt.Errorf("backend consumer: %w", err)
	}
	s.consumer = c

	p, err := rocketmq.NewProducer(
		producer.WithNameServer(s.nameServers),
		producer.WithGroupName(s.producerGroup()),
		producer.WithInstanceName("quickstart-commands-"+s.run),
		// It prefixes each message's topic as it sends: every command
		// here is sent once (see mqttrmq.SplitNamespace).
		producer.WithNamespace(s.opts.namespace),
	)
	if err != nil {
		return fmt.Errorf("backend producer: %w", err)
	}
	if err := p.Start(); err != nil {
		return fmt.Errorf("backend producer: %w", err)
	}
	s.producer = p

	// Both consumer groups start at a point in time, so they get every
	// message sent from now on wherever RocketMQ is. In process, waiting
	// until they pull every queue also means their start-up is over
	// before anything is shut down (see rocketmqtest.ConsumerGuard).
	if s.srv != nil {
		for _, g := range []string{s.gw.ConsumerGroup(), s.inNamespace(s.backendGroup())} {
			if err := s.srv.WaitForConsumers(ctx, g, 1); err != nil {
				return fmt.Errorf("consumer group %s: %w", g, err)
			}
		}
	}
	return nil
}

// consume is the backend's handler for device messages: FromRocketMQ
// turns the RocketMQ message back into the MQTT publish the device made.
func (s *system) consume(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	for _, m := range msgs {
		p, err := s.opts.dialect.FromRocketMQ(m.Topic, m, m.Body)
		if err != nil {
			s.con.printf("%-8s ✗ message %s refused: %v\n", "backend", m.MsgId, err)
			continue
		}
		if p.ClientID == "" {
			continue // a backend's command: one tag marks both ways in the Apache dialect
		}
		note := s.tally.arrive(uplink, p.ClientID+" "+p.Topic+" "+string(p.Payload))
		s.con.printf("%-8s ← %s from %s, qos %s: %s%s\n%s", "backend", p.Topic, p.ClientID, p.QoS, p.Payload, note, s.describe(m.Topic, m.GetTags(), m))
	}
	return consumer.ConsumeSuccess, nil
}

// sendP2P sends a command to exactly one vehicle, which receives it on
// {topic}/p2p/{clientID} without subscribing.
func (s *system) sendP2P(ctx context.Context, clientID, payload string) error {
	m := primitive.NewMessage(s.opts.topic, []byte(payload))
	if s.apache() {
		topic, err := mqttrmq.P2PTopic(s.opts.topic, clientID)
		if err != nil {
			return err
		}
		if err := s.apacheCommand(m, topic); err != nil {
			return err
		}
	} else {
		m.WithTag(mqttrmq.TagToMQTT) // without it, no MQTT client gets the message
		if err := mqttrmq.SetP2P(m, clientID); err != nil {
			return err
		}
		if err := mqttrmq.SetQoS(m, mqttrmq.AtLeastOnce); err != nil {
			return err
		}
	}
	s.con.printf("%-8s → P2P to %s: %s\n%s", "backend", clientID, payload, s.describe(m.Topic, m.GetTags(), m))
	return s.send(ctx, m)
}

// sendBroadcast sends a command to every vehicle subscribed to the
// subtopic second of the parent topic.
func (s *system) sendBroadcast(ctx context.Context, second, payload string) error {
	m := primitive.NewMessage(s.opts.topic, []byte(payload))
	if s.apache() {
		if err := s.apacheCommand(m, s.opts.topic+second); err != nil {
			return err
		}
	} else {
		m.WithTag(mqttrmq.TagToMQTT)
		if err := mqttrmq.SetSecondTopic(m, second); err != nil {
			return err
		}
		if err := mqttrmq.SetQoS(m, mqttrmq.AtLeastOnce); err != nil {
			return err
		}
	}
	s.con.printf("%-8s → broadcast to %s%s: %s\n%s", "backend", s.opts.topic, second, payload, s.describe(m.Topic, m.GetTags(), m))
	return s.send(ctx, m)
}

// apacheCommand addresses m to an MQTT topic in Apache RocketMQ-MQTT's
// dialect, which names the whole topic (originMqttTopic) and the Light
// Message Queue it is dispatched to, and tags it MQTT_COMMON.
func (s *system) apacheCommand(m *primitive.Message, topic string) error {
	_, err := mqttrmq.ApacheRocketMQMQTT.ToRocketMQ(mqttrmq.Publish{Topic: topic, QoS: mqttrmq.AtLeastOnce}, m)
	return err
}

func (s *system) send(ctx context.Context, m *primitive.Message) error {
	r, err := s.producer.SendSync(ctx, m)
	if err != nil {
		return fmt.Errorf("backend send: %w", err)
	}
	if r.Status != primitive.SendOK {
		return fmt.Errorf("backend send: status %d", r.Status)
	}
	return nil
}

// waitFor returns once every expected message of the kinds arrived, or
// with an error saying what is missing when ctx is done first.
func (s *system) waitFor(ctx context.Context, ks ...kind) error {
	for !s.tally.done(ks...) {
		select {
		case <-s.tally.changed:
		case <-ctx.Done():
			what := make([]string, len(ks))
			for i, k := range ks {
				what[i] = k.String()
			}
			return fmt.Errorf("%s incomplete: %w", strings.Join(what, " and "), ctx.Err())
		}
	}
	return nil
}

// describe shows a RocketMQ message as the mapping wrote it: topic, tag
// and the dialect's properties, one indented line.
func (s *system) describe(topic, tag string, m mqttrmq.Properties) string {
	d := s.opts.dialect
	var b strings.Builder
	fmt.Fprintf(&b, "%8s   RocketMQ topic=%s tag=%s", "", topic, tag)
	for _, k := range []string{
		d.TopicKey(), d.QoSKey(), d.CleanSessionKey(), d.ClientIDKey(),
		mqttrmq.PropRealTopic, d.UserPropertiesKey(), mqttrmq.PropDispatch,
	} {
		if v := m.GetProperty(k); v != "" {
			fmt.Fprintf(&b, " %s=%s", k, v)
		}
	}
	b.WriteByte('\n')
	return b.String()
}

// close stops everything start started, in reverse order.
func (s *system) close() error {
	for _, v := range s.vehicles {
		v.disconnect()
	}
	if s.srv != nil {
		s.drain()
	}
	var errs []error
	if s.consumer != nil {
		errs = append(errs, s.guard.Shutdown(s.consumer))
	}
	if s.producer != nil {
		errs = append(errs, s.producer.Shutdown())
	}
	if s.gw != nil {
		errs = append(errs, s.gw.Close())
	}
	if s.srv != nil {
		errs = append(errs, s.srv.Close())
	}
	return errors.Join(errs...)
}

// drain waits, briefly, until both consumers are idle: every queue they
// read has a pull held open by the in-process broker, so no pull result is
// on its way to a consumer while it shuts down. (rocketmq-client-go's
// Shutdown closes the channel such a result is handed over on; the client
// recovers, but the race detector reports it.) Shutdown commits the
// offsets itself.
func (s *system) drain() {
	var groups []string
	if s.gw != nil {
		groups = append(groups, s.gw.ConsumerGroup())
	}
	if s.consumer != nil {
		groups = append(groups, s.inNamespace(s.backendGroup()))
	}
	queues := 0
	for _, g := range groups {
		queues += s.srv.Queues(s.inNamespace(s.opts.topic)) + s.srv.Queues("%RETRY%"+g)
	}
	end := time.Now().Add(2 * time.Second)
	for s.srv.HeldPulls() < queues && time.Now().Before(end) {
		time.Sleep(5 * time.Millisecond)
	}
}
