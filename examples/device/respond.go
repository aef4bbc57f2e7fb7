package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"math"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/mqttrmq/mqttrmq"
)

// respond runs the device as an MQTT 5 client that answers requests: a
// message carrying a Response Topic is a request, and the device publishes
// -reply to that topic with the request's Correlation Data, by which the
// requester (a backend reading RocketMQ, or another MQTT 5 client) matches
// the answer to its request [MQTT-4.10]. MQTT 3.1.1 has neither property,
// so this is paho.golang, not the paho.mqtt.golang of the rest of the
// program. It connects once: a lost connection ends the run.
func (d *device) respond(ctx context.Context) error {
	o := d.opts
	conn, err := dialBroker(ctx, o.broker)
	if err != nil {
		return fmt.Errorf("connect to %s as %s: %w", o.broker, o.clientID, err)
	}
	defer conn.Close()
	var requests inbox
	lost := make(chan error, 1)
	c := paho.NewClient(paho.ClientConfig{
		ClientID: o.clientID,
		Conn:     conn,
		// Called on the client's reading goroutine, which must go on
		// reading: the answer, which waits for its PUBACK, is sent
		// from the loop below.
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			requests.put(pr.Packet)
			return true, nil
		}},
		OnClientError: func(err error) {
			select {
			case lost <- err:
			default:
			}
		},
		OnServerDisconnect: func(dc *paho.Disconnect) {
			select {
			case lost <- fmt.Errorf("disconnected by the server (reason %#x)", dc.ReasonCode):
			default:
			}
		},
		PacketTimeout: 10 * time.Second,
	})
	cp := &paho.Connect{ClientID: o.clientID, CleanStart: o.clean, KeepAlive: uint16(min(o.keepAlive/time.Second, math.MaxUint16))}
	if o.username != "" {
		cp.Username, cp.UsernameFlag = o.username, true
		cp.Password, cp.PasswordFlag = []byte(o.password), true
	}
	if !o.clean {
		// A persistent session, as MQTT 3.1.1's clean session 0: it
		// never expires (the server may cap it).
		cp.Properties = &paho.ConnectProperties{SessionExpiryInterval: ptr(uint32(math.MaxUint32))}
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = c.Connect(cctx, cp)
	cancel()
	if err != nil {
		return fmt.Errorf("connect to %s as %s: %w", o.broker, o.clientID, err)
	}
	defer func() {
		_ = c.Disconnect(&paho.Disconnect{ReasonCode: 0})
		<-c.Done()
	}()
	d.printf("connected to %s as %s (MQTT 5), answering requests\n", o.broker, o.clientID)
	if len(o.filters) > 0 {
		subs := make([]paho.SubscribeOptions, len(o.filters))
		for i, f := range o.filters {
			subs[i] = paho.SubscribeOptions{Topic: f, QoS: o.qos}
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		sa, err := c.Subscribe(sctx, &paho.Subscribe{Subscriptions: subs})
		cancel()
		if err != nil {
			return fmt.Errorf("subscribe %s: %w", strings.Join(o.filters, ","), err)
		}
		for i, code := range sa.Reasons {
			if code > 2 {
				return fmt.Errorf("subscribe %s: refused by the broker (%#x)", o.filters[i], code)
			}
			d.printf("subscribed to %s (granted qos %d)\n", o.filters[i], code)
		}
	}

	var timeout <-chan time.Time
	if o.wait > 0 {
		t := time.NewTimer(o.wait)
		defer t.Stop()
		timeout = t.C
	}
	for {
		if o.expect > 0 && d.count() >= o.expect {
			return nil
		}
		select {
		case <-requests.wake():
			for _, p := range requests.take() {
				if err := d.answer(ctx, c, p); err != nil {
					return err
				}
			}
		case err := <-lost:
			return fmt.Errorf("connection lost: %w", err)
		case <-timeout:
			if o.expect > 0 {
				return fmt.Errorf("answered %d of -expect %d requests within -wait %v", d.count(), o.expect, o.wait)
			}
			return nil
		case <-ctx.Done():
			if o.expect > 0 {
				return fmt.Errorf("answered %d of -expect %d requests: %w", d.count(), o.expect, ctx.Err())
			}
			return nil // interrupted: the normal way to stop
		}
	}
}

// answer prints a message that arrived and, when it is a request, answers
// it on its response topic with its correlation data.
func (d *device) answer(ctx context.Context, c *paho.Client, p *paho.Publish) error {
	note := ""
	if _, target, ok := mqttrmq.ParseP2PTopic(p.Topic); ok && target == d.opts.clientID {
		note = " (P2P)"
	}
	var props paho.PublishProperties
	if p.Properties != nil {
		props = *p.Properties
	}
	if props.ResponseTopic == "" {
		d.printf("← %s qos %d: %s%s, not a request: no response topic\n", p.Topic, p.QoS, p.Payload, note)
		return nil
	}
	d.printf("← %s qos %d: %s%s, a request: answer on %s, correlation %x\n", p.Topic, p.QoS, p.Payload, note, props.ResponseTopic, props.CorrelationData)
	// The response topic is the requester's; checked like any topic this
	// device publishes to.
	if _, _, err := mqttrmq.SplitTopic(props.ResponseTopic); err != nil {
		d.printf("✗ not answered: %v\n", err)
		return nil
	}
	reply := strings.NewReplacer("{request}", string(p.Payload), "{client}", d.opts.clientID).Replace(d.opts.reply)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	answer := &paho.Publish{Topic: props.ResponseTopic, QoS: d.opts.qos, Payload: []byte(reply),
		Properties: &paho.PublishProperties{CorrelationData: props.CorrelationData}}
	if _, err := c.Publish(pctx, answer); err != nil {
		return fmt.Errorf("answer on %s: %w", props.ResponseTopic, err)
	}
	d.mu.Lock()
	d.got++
	fmt.Fprintf(d.out, "→ %s qos %d: %s (the answer, correlation %x)\n", props.ResponseTopic, d.opts.qos, reply, props.CorrelationData)
	d.mu.Unlock()
	return nil
}

// dialBroker opens the connection to an MQTT broker URL of scheme tcp or
// mqtt (plain TCP) or ssl, tls or mqtts (TLS, checked against the system's
// roots).
func dialBroker(ctx context.Context, broker string) (net.Conn, error) {
	u, err := url.Parse(broker)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	switch u.Scheme {
	case "ssl", "tls", "mqtts":
		d := tls.Dialer{Config: &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}}
		return d.DialContext(ctx, "tcp", u.Host)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", u.Host)
}

func ptr[T any](v T) *T { return &v }

// inbox holds what arrived until the answering loop takes it: the client's
// reading goroutine puts without waiting, whatever the loop is doing.
type inbox struct {
	mu     sync.Mutex
	queue  []*paho.Publish
	signal chan struct{}
}

func (b *inbox) wake() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.signal == nil {
		b.signal = make(chan struct{}, 1)
	}
	return b.signal
}

func (b *inbox) put(p *paho.Publish) {
	b.mu.Lock()
	b.queue = append(b.queue, p)
	if b.signal == nil {
		b.signal = make(chan struct{}, 1)
	}
	s := b.signal
	b.mu.Unlock()
	select {
	case s <- struct{}{}:
	default:
	}
}

func (b *inbox) take() []*paho.Publish {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queue
	b.queue = nil
	return q
}
