package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/mqttrmq/mqttrmq"
)

// requestReply sends -msg to the -request client as an MQTT 5 request and
// waits for the answer: the request carries a Response Topic under -topic
// and random Correlation Data; an MQTT 5 device answers on that topic with
// the same correlation data; the gateway sends the answer to RocketMQ,
// where this backend reads it and knows it by its correlation data
// [MQTT-4.10]. The consumer starts before the request is sent, in a group
// of its own, so that the answer cannot go to another process.
func (b *backend) requestReply(ctx context.Context) (err error) {
	o := b.opts
	correlation := make([]byte, 12)
	rand.Read(correlation) // never fails
	answers := make(chan mqttrmq.Publish, 1)
	stop, err := b.startConsumer(func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		for _, m := range msgs {
			b.checkAnswer(m, correlation, answers)
		}
		return consumer.ConsumeSuccess, nil
	})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stop()) }()

	m, err := b.command(o.request, "")
	if err != nil {
		return err
	}
	if err := o.dialect.SetResponseTopic(m, o.replyTo); err != nil {
		return err
	}
	if err := o.dialect.SetCorrelationData(m, correlation); err != nil {
		return err
	}
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
	if err := b.send(ctx, p, m, "request to "+o.request); err != nil {
		return err
	}

	timeout := time.NewTimer(o.wait)
	defer timeout.Stop()
	select {
	case a := <-answers:
		b.printf("← answer from %s on %s: %s (correlation %x)\n", a.ClientID, a.Topic, a.Payload, a.CorrelationData)
		return nil
	case <-timeout.C:
		return fmt.Errorf("no answer from %s on %s within -wait %v", o.request, o.replyTo, o.wait)
	case <-ctx.Done():
		return fmt.Errorf("no answer from %s on %s: %w", o.request, o.replyTo, ctx.Err())
	}
}

// checkAnswer hands on m when it answers the request: on the response
// topic, with the request's correlation data. Anything else on the
// response topic is some other request's answer, and is said so.
func (b *backend) checkAnswer(m *primitive.MessageExt, correlation []byte, answers chan<- mqttrmq.Publish) {
	p, err := b.opts.dialect.FromRocketMQ(m.Topic, m, m.Body)
	if err != nil || p.Topic != b.opts.replyTo {
		return // not an answer to anything of ours
	}
	if !bytes.Equal(p.CorrelationData, correlation) {
		b.printf("← %s from %s: %s, not the answer (correlation %x)\n", p.Topic, p.ClientID, p.Payload, p.CorrelationData)
		return
	}
	select {
	case answers <- p:
	default: // answered twice (the device resent it): the first counts
	}
}
