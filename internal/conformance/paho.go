package conformance

import (
	"context"
	"net"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"
	paho3 "github.com/eclipse/paho.mqtt.golang"
)

// message is what a paho client received.
type message struct {
	Topic    string
	QoS      byte
	Retained bool
	Payload  string
}

// device is a paho.mqtt.golang client speaking MQTT 3.1.1, as devices use
// it: every message it receives lands in got, in order.
type device struct {
	paho3.Client
	c   *C
	id  string
	got chan message
}

// device connects a paho.mqtt.golang client with client ID id; edit may
// change its options. It disconnects when the case ends.
func (c *C) device(id string, edit ...func(*paho3.ClientOptions)) *device {
	c.Helper()
	d := &device{c: c, id: id, got: make(chan message, 4096)}
	o := paho3.NewClientOptions().AddBroker("tcp://" + c.target.Addr).SetClientID(id).
		SetCleanSession(true).SetAutoReconnect(false).SetOrderMatters(true).
		SetKeepAlive(defaultKeepAlive * time.Second).SetConnectTimeout(deadline).SetProtocolVersion(4).
		SetDefaultPublishHandler(func(_ paho3.Client, m paho3.Message) {
			d.got <- message{Topic: m.Topic(), QoS: m.Qos(), Retained: m.Retained(), Payload: string(m.Payload())}
		})
	for _, f := range edit {
		f(o)
	}
	d.Client = paho3.NewClient(o)
	tok := d.Connect()
	if !tok.WaitTimeout(deadline) {
		c.Fatalf("device %s: connect: no CONNACK within %v", id, deadline)
	}
	if err := tok.Error(); err != nil {
		c.Fatalf("device %s: connect: %v", id, err)
	}
	c.Cleanup(func() { d.Disconnect(0) })
	return d
}

// subscribe subscribes to filter and returns the SUBACK's return code.
func (d *device) subscribe(filter string, qos byte) byte {
	d.c.Helper()
	tok := d.Subscribe(filter, qos, nil)
	if !tok.WaitTimeout(deadline) || tok.Error() != nil {
		d.c.Fatalf("device %s: subscribe %q: %v", d.id, filter, tok.Error())
	}
	for _, code := range tok.(*paho3.SubscribeToken).Result() {
		return code
	}
	d.c.Fatalf("device %s: subscribe %q: no return code", d.id, filter)
	return 0
}

// mustSubscribe subscribes and fails the case unless qos is granted.
func (d *device) mustSubscribe(filter string, qos byte) {
	d.c.Helper()
	if code := d.subscribe(filter, qos); code != qos {
		d.c.Fatalf("device %s: subscribe %q at QoS %d: granted %s", d.id, filter, qos, hex(code))
	}
}

// publish publishes and waits for the flow to complete.
func (d *device) publish(topic string, qos byte, retain bool, body string) {
	d.c.Helper()
	tok := d.Publish(topic, qos, retain, body)
	if !tok.WaitTimeout(deadline) || tok.Error() != nil {
		d.c.Fatalf("device %s: publish %q: %v", d.id, topic, tok.Error())
	}
}

// next returns the next message the device received.
func (d *device) next() message {
	d.c.Helper()
	select {
	case m := <-d.got:
		return m
	case <-time.After(deadline):
		d.c.Fatalf("device %s: no message within %v", d.id, deadline)
		return message{}
	}
}

// none fails the case if a message is waiting or arrives within d.
func (d *device) none(wait time.Duration, why string) {
	d.c.Helper()
	select {
	case m := <-d.got:
		d.c.Errorf("device %s received %+v; want nothing: %s", d.id, m, why)
	case <-time.After(wait):
	}
}

// app is a paho.golang client speaking MQTT 5.0: every PUBLISH it receives
// lands in got, in order.
type app struct {
	*paho5.Client
	c       *C
	id      string
	connack *paho5.Connack
	got     chan *paho5.Publish
}

// app connects a paho.golang client with cp (its client ID, clean start
// and properties). It disconnects when the case ends.
func (c *C) app(cp *paho5.Connect) *app {
	c.Helper()
	nc, err := net.DialTimeout("tcp", c.target.Addr, deadline)
	if err != nil {
		c.Fatalf("app %s: dial: %v", cp.ClientID, err)
	}
	a := &app{c: c, id: cp.ClientID, got: make(chan *paho5.Publish, 4096)}
	a.Client = paho5.NewClient(paho5.ClientConfig{
		Conn: nc,
		OnPublishReceived: []func(paho5.PublishReceived) (bool, error){func(pr paho5.PublishReceived) (bool, error) {
			a.got <- pr.Packet
			return true, nil
		}},
		OnClientError: func(error) {},
		PacketTimeout: deadline,
	})
	if cp.KeepAlive == 0 {
		cp.KeepAlive = defaultKeepAlive
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	ca, err := a.Connect(ctx, cp)
	if err != nil {
		nc.Close()
		c.Fatalf("app %s: connect: %v", cp.ClientID, err)
	}
	a.connack = ca
	c.Cleanup(func() {
		_ = a.Disconnect(&paho5.Disconnect{ReasonCode: 0})
		select {
		case <-a.Done():
		case <-time.After(deadline):
		}
	})
	return a
}

// subscribe subscribes and returns the SUBACK's reason codes.
func (a *app) subscribe(s *paho5.Subscribe) []byte {
	a.c.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	ack, err := a.Subscribe(ctx, s)
	if ack == nil {
		a.c.Fatalf("app %s: subscribe: %v", a.id, err)
	}
	return ack.Reasons
}

// mustSubscribe subscribes to filter at qos and fails the case unless
// it is granted.
func (a *app) mustSubscribe(filter string, qos byte) {
	a.c.Helper()
	codes := a.subscribe(&paho5.Subscribe{Subscriptions: []paho5.SubscribeOptions{{Topic: filter, QoS: qos}}})
	if len(codes) != 1 || codes[0] != qos {
		a.c.Fatalf("app %s: subscribe %q at QoS %d: granted % x", a.id, filter, qos, codes)
	}
}

// publish publishes p and waits for its flow to complete; it returns the
// acknowledgement's reason code (0 for QoS 0).
func (a *app) publish(p *paho5.Publish) byte {
	a.c.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	res, err := a.Publish(ctx, p)
	if res == nil {
		a.c.Fatalf("app %s: publish %q: %v", a.id, p.Topic, err)
	}
	return res.ReasonCode
}

// next returns the next PUBLISH the app received.
func (a *app) next() *paho5.Publish {
	a.c.Helper()
	select {
	case p := <-a.got:
		return p
	case <-time.After(deadline):
		a.c.Fatalf("app %s: no message within %v", a.id, deadline)
		return nil
	}
}
