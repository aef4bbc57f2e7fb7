package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqttrmq/mqttrmq"
)

// run runs the device with the command line args and writes what it
// sends and receives to stdout.
func run(ctx context.Context, stdout io.Writer, args []string) error {
	o, err := parseFlags(stdout, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	d := &device{opts: o, out: stdout, received: make(chan struct{}, 1), subscribed: make(chan error, 1)}
	return d.run(ctx)
}

// device is one MQTT client and what it has received.
type device struct {
	opts   options
	client paho.Client

	mu         sync.Mutex // serialises output and guards got
	out        io.Writer
	got        int
	received   chan struct{} // signalled on every message
	subscribed chan error    // the first subscription's outcome
}

func (d *device) printf(format string, a ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.out, format, a...)
}

func (d *device) run(ctx context.Context) error {
	o := d.opts
	if o.respond {
		return d.respond(ctx)
	}
	opts := paho.NewClientOptions().
		AddBroker(o.broker).
		SetClientID(o.clientID).
		SetUsername(o.username).
		SetPassword(o.password).
		SetCleanSession(o.clean).
		SetKeepAlive(o.keepAlive).
		SetProtocolVersion(4). // MQTT 3.1.1; else paho retries a refused CONNECT as 3.1
		SetConnectTimeout(10 * time.Second).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(10 * time.Second).
		SetOrderMatters(true).
		// Subscribed or not, every message lands here: P2P messages
		// arrive without a subscription.
		SetDefaultPublishHandler(d.receive).
		// Subscribing on every connect renews a clean session's
		// subscriptions after a reconnect.
		SetOnConnectHandler(d.subscribe).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			d.printf("connection lost: %v; reconnecting\n", err)
		})
	d.client = paho.NewClient(opts)
	if err := await(ctx, d.client.Connect()); err != nil {
		return fmt.Errorf("connect to %s as %s: %w", o.broker, o.clientID, err)
	}
	defer d.client.Disconnect(250)
	d.printf("connected to %s as %s\n", o.broker, o.clientID)
	select {
	case err := <-d.subscribed:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		return ctx.Err()
	}

	sent := false
	if o.pubTopic != "" {
		for seq := 1; seq <= o.count; seq++ {
			if seq > 1 && o.interval > 0 {
				select {
				case <-time.After(o.interval):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			if err := d.publish(ctx, o.pubTopic, d.payload(seq)); err != nil {
				return err
			}
		}
		sent = true
	}
	if o.p2pTopic != "" {
		if err := d.publish(ctx, o.p2pTopic, d.payload(1)); err != nil {
			return err
		}
		sent = true
	}
	return d.receiveUntilDone(ctx, sent)
}

// receiveUntilDone keeps receiving: until -expect messages arrived, for
// -wait, or, when the device only sent, not at all.
func (d *device) receiveUntilDone(ctx context.Context, sent bool) error {
	o := d.opts
	if sent && len(o.filters) == 0 && o.expect == 0 && !o.waitIsSet {
		return nil
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
		case <-d.received:
		case <-timeout:
			if o.expect > 0 {
				return fmt.Errorf("received %d of -expect %d messages within -wait %v", d.count(), o.expect, o.wait)
			}
			return nil
		case <-ctx.Done():
			if o.expect > 0 {
				return fmt.Errorf("received %d of -expect %d messages: %w", d.count(), o.expect, ctx.Err())
			}
			return nil // interrupted: the normal way to stop a listening device
		}
	}
}

// subscribe subscribes to every -sub filter, on each connect.
func (d *device) subscribe(c paho.Client) {
	var err error
	if len(d.opts.filters) > 0 {
		filters := make(map[string]byte, len(d.opts.filters))
		for _, f := range d.opts.filters {
			filters[f] = d.opts.qos
		}
		tok := c.SubscribeMultiple(filters, nil)
		tok.Wait()
		err = tok.Error()
		if err == nil {
			for _, f := range d.opts.filters {
				// paho keys a shared subscription's result by its inner filter.
				code, ok := tok.(*paho.SubscribeToken).Result()[innerFilter(f)]
				switch {
				case !ok:
				case code > 2:
					err = errors.Join(err, fmt.Errorf("subscribe %s: refused by the broker (%#x)", f, code))
				default:
					d.printf("subscribed to %s (granted qos %d)\n", f, code)
				}
			}
		}
	}
	select {
	case d.subscribed <- err:
	default:
		if err != nil {
			d.printf("resubscribing: %v\n", err)
		}
	}
}

func (d *device) publish(ctx context.Context, topic, payload string) error {
	if err := await(ctx, d.client.Publish(topic, d.opts.qos, false, payload)); err != nil {
		return fmt.Errorf("publish to %s: %w", topic, err)
	}
	d.printf("→ %s qos %d: %s\n", topic, d.opts.qos, payload)
	return nil
}

// receive prints a message the broker delivered.
func (d *device) receive(_ paho.Client, m paho.Message) {
	note := ""
	if _, target, ok := mqttrmq.ParseP2PTopic(m.Topic()); ok && target == d.opts.clientID {
		note = " (P2P)"
	}
	d.mu.Lock()
	d.got++
	fmt.Fprintf(d.out, "← %s qos %d: %s%s\n", m.Topic(), m.Qos(), m.Payload(), note)
	d.mu.Unlock()
	select {
	case d.received <- struct{}{}:
	default:
	}
}

func (d *device) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.got
}

func (d *device) payload(seq int) string {
	return strings.NewReplacer("{seq}", strconv.Itoa(seq), "{client}", d.opts.clientID).Replace(d.opts.message)
}

// innerFilter strips a shared subscription's $share/{name}/ prefix.
func innerFilter(f string) string {
	if rest, ok := strings.CutPrefix(f, "$share/"); ok {
		if _, inner, ok := strings.Cut(rest, "/"); ok {
			return inner
		}
	}
	return f
}

// await waits for a paho operation, at most until ctx is done.
func await(ctx context.Context, t paho.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}
