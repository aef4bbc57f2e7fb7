package gateway_test

import (
	"context"
	"net"
	"testing"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"

	"github.com/mqttrmq/mqttrmq/gateway"
)

// app is a real paho.golang client speaking MQTT 5.0 to a gateway, as an
// MQTT 5 device or application uses it: every PUBLISH it receives,
// subscribed or not, lands in got, in order.
type app struct {
	*paho5.Client
	id   string
	conn net.Conn
	got  chan *paho5.Publish
}

// connect5 connects an MQTT 5 client to g with cp (its client ID, clean
// start, session expiry, will); it disconnects when the test ends.
func connect5(t testing.TB, g *gateway.Gateway, cp *paho5.Connect) *app {
	t.Helper()
	a, err := dial5(g.Addr(), cp)
	if err != nil {
		t.Fatalf("app %s: %v", cp.ClientID, err)
	}
	t.Cleanup(func() { a.disconnect() })
	return a
}

func dial5(addr string, cp *paho5.Connect) (*app, error) {
	conn, err := net.DialTimeout("tcp", addr, deadline)
	if err != nil {
		return nil, err
	}
	a := &app{id: cp.ClientID, conn: conn, got: make(chan *paho5.Publish, 1000)}
	a.Client = paho5.NewClient(paho5.ClientConfig{
		Conn: conn,
		OnPublishReceived: []func(paho5.PublishReceived) (bool, error){func(pr paho5.PublishReceived) (bool, error) {
			a.got <- pr.Packet
			return true, nil
		}},
		OnClientError: func(error) {},
		PacketTimeout: deadline,
	})
	if cp.KeepAlive == 0 {
		cp.KeepAlive = 30
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if _, err := a.Connect(ctx, cp); err != nil {
		conn.Close()
		return nil, err
	}
	return a, nil
}

// disconnect sends DISCONNECT (normal, the will discarded) and waits for
// the client to stop; a client whose connection is gone already just stops.
func (a *app) disconnect() {
	_ = a.Disconnect(&paho5.Disconnect{ReasonCode: 0})
	select {
	case <-a.Done():
	case <-time.After(deadline):
	}
	a.conn.Close()
}

// cut drops the connection without a DISCONNECT, as a device that loses
// its network does.
func (a *app) cut() {
	a.conn.Close()
	select {
	case <-a.Done():
	case <-time.After(deadline):
	}
}

func (a *app) subscribe(t testing.TB, filter string, qos byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	sa, err := a.Subscribe(ctx, &paho5.Subscribe{Subscriptions: []paho5.SubscribeOptions{{Topic: filter, QoS: qos}}})
	if err != nil {
		t.Fatalf("%s: subscribe %q: %v", a.id, filter, err)
	}
	if len(sa.Reasons) != 1 || sa.Reasons[0] > 2 {
		t.Fatalf("%s: subscribe %q: reason codes %v", a.id, filter, sa.Reasons)
	}
}

// publish publishes p and returns the PUBACK's reason code (0 at QoS 0).
func (a *app) publish(t testing.TB, p *paho5.Publish) byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	pr, err := a.Publish(ctx, p)
	if pr != nil {
		return pr.ReasonCode
	}
	if err != nil {
		t.Fatalf("%s: publish %q: %v", a.id, p.Topic, err)
	}
	return 0
}

// next returns the next PUBLISH the client receives.
func (a *app) next(t testing.TB) *paho5.Publish {
	t.Helper()
	select {
	case p := <-a.got:
		return p
	case <-time.After(deadline):
		t.Fatalf("%s: no message arrived", a.id)
		return nil
	}
}

// none checks that nothing arrives for the client within wait.
func (a *app) none(t testing.TB, wait time.Duration) {
	t.Helper()
	select {
	case p := <-a.got:
		t.Errorf("%s received %s %q; want nothing", a.id, p.Topic, p.Payload)
	case <-time.After(wait):
	}
}

// props returns p's properties, never nil.
func props(p *paho5.Publish) *paho5.PublishProperties {
	if p.Properties == nil {
		return &paho5.PublishProperties{}
	}
	return p.Properties
}

func ptr[T any](v T) *T { return &v }
