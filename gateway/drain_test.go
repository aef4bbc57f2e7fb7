package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqttrmq/mqttrmq/gateway"
)

// TestDrainLosesNothing drains a gateway while devices publish QoS 1
// messages to it, and the devices go on on a second gateway: MQTT 5
// devices where the DISCONNECT's server reference (0x9C) sends them,
// MQTT 3.1.1 devices, which are closed one by one over the grace period,
// to the next server of their list. Every message reaches RocketMQ: what
// a device had no acknowledgement for it sends again on the other
// gateway, and what the drained gateway had read it sent before it
// closed.
func TestDrainLosesNothing(t *testing.T) {
	onBoth(t, drainLosesNothing)
}

func drainLosesNothing(t *testing.T, s rocketMQ) {
	other := startGateway(t, s, nil)
	g := startGateway(t, s, func(c *gateway.Config) {
		c.ServerReference = other.Addr()
		c.DrainGrace = time.Second
	})

	const v5Devices, v3Devices, each = 3, 3, 150
	var wg sync.WaitGroup
	errs := make(chan error, v5Devices+v3Devices)
	references := make(chan string, v5Devices)
	for d := range v5Devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := publish5(fmt.Sprintf("GID_car@@@m5-%d", d), g.Addr(), each, references); err != nil {
				errs <- err
			}
		}()
	}
	for d := range v3Devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := publish311(fmt.Sprintf("GID_car@@@m3-%d", d), []string{g.Addr(), other.Addr()}, each); err != nil {
				errs <- err
			}
		}()
	}

	eventually(t, "the devices publish to the first gateway", func() bool { return g.Stats().UplinkSent >= 60 })
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	if err := g.Drain(ctx); err != nil {
		t.Errorf("Drain = %v", err)
	}
	took := time.Since(start)
	st := g.Stats()
	if st.UplinkPending != 0 || st.Connected != 0 {
		t.Errorf("after Drain: %d publishes pending, %d clients connected; want none", st.UplinkPending, st.Connected)
	}
	if err := g.Ready(); !errors.Is(err, gateway.ErrClosed) {
		t.Errorf("Ready after Drain = %v; want ErrClosed", err)
	}
	if c, err := net.DialTimeout("tcp", g.Addr(), time.Second); err == nil {
		c.Close()
		t.Error("the drained gateway still accepts connections")
	}

	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	close(references)
	for ref := range references {
		if ref != other.Addr() {
			t.Errorf("an MQTT 5 device was sent to %q; want %s", ref, other.Addr())
		}
	}

	var lost, dups int
	count := func() bool {
		seen := map[string]int{}
		for _, m := range s.Messages("vehicles") {
			seen[string(m.Body)]++
		}
		lost, dups = 0, 0
		for _, prefix := range []string{"m5", "m3"} {
			for d := range 3 {
				for i := range each {
					n := seen[fmt.Sprintf("%s-%d-%d", prefix, d, i)]
					if n == 0 {
						lost++
					}
					dups += max(n-1, 0)
				}
			}
		}
		return lost == 0
	}
	for end := time.Now().Add(deadline); !count() && time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("drain took %v; %d QoS 1 messages: %d lost, %d stored twice; drained gateway sent %d, the other %d",
		took.Round(time.Millisecond), (v5Devices+v3Devices)*each, lost, dups, st.UplinkSent, other.Stats().UplinkSent)
	if lost > 0 {
		t.Errorf("%d messages lost across the drain", lost)
	}
	if other.Stats().UplinkSent == 0 {
		t.Error("no device went on on the other gateway")
	}
}

// publish5 is an MQTT 5 device: it publishes n QoS 1 messages one after
// another, each until acknowledged, and when the server disconnects it
// goes where the DISCONNECT's server reference says (reported on refs).
func publish5(id, addr string, n int, refs chan<- string) error {
	i, moved := 0, false
	for attempt := 0; i < n; attempt++ {
		if attempt == 5 {
			return fmt.Errorf("%s: gave up after %d connections, %d of %d published", id, attempt, i, n)
		}
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		disc := make(chan *paho5.Disconnect, 1)
		c := paho5.NewClient(paho5.ClientConfig{Conn: conn, OnServerDisconnect: func(d *paho5.Disconnect) { disc <- d }})
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		if _, err := c.Connect(ctx, &paho5.Connect{ClientID: id, CleanStart: true, KeepAlive: 30}); err != nil {
			cancel()
			return fmt.Errorf("%s: connect to %s: %w", id, addr, err)
		}
		for ; i < n; i++ {
			p := &paho5.Publish{Topic: "vehicles/telemetry", QoS: 1, Payload: fmt.Appendf(nil, "m5-%s-%d", id[len(id)-1:], i)}
			res, err := c.Publish(ctx, p)
			if err != nil || res.ReasonCode >= 0x80 {
				break // not acknowledged: sent again on the next connection
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		if i == n {
			c.Disconnect(&paho5.Disconnect{})
			<-c.Done()
			break
		}
		select {
		case d := <-disc:
			<-c.Done()
			if d.ReasonCode != 0x9C || d.Properties == nil || d.Properties.ServerReference == "" || moved {
				return fmt.Errorf("%s: DISCONNECT %#x %+v; want 0x9C with a server reference, once", id, d.ReasonCode, d.Properties)
			}
			addr, moved = d.Properties.ServerReference, true
			refs <- addr
		case <-time.After(deadline):
			return fmt.Errorf("%s: the connection ended without a DISCONNECT", id)
		}
	}
	return nil
}

// publish311 is an MQTT 3.1.1 device with a list of servers: it publishes
// n QoS 1 messages, and publishes again what was not acknowledged. paho
// goes to the next server when the one it used closes and refuses.
func publish311(id string, servers []string, n int) error {
	o := paho.NewClientOptions().SetClientID(id).SetCleanSession(false).SetProtocolVersion(4).
		SetOrderMatters(false).SetKeepAlive(30 * time.Second).SetConnectTimeout(2 * time.Second).
		SetAutoReconnect(true).SetConnectRetry(true).SetMaxReconnectInterval(100 * time.Millisecond).
		SetStore(newCopyingStore())
	for _, s := range servers {
		o.AddBroker("tcp://" + s)
	}
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(deadline) || tok.Error() != nil {
		return fmt.Errorf("%s: connect: %v", id, tok.Error())
	}
	defer c.Disconnect(0)
	type pending struct {
		payload string
		tok     paho.Token
	}
	var inflight []pending
	for i := range n {
		p := fmt.Sprintf("m3-%s-%d", id[len(id)-1:], i)
		inflight = append(inflight, pending{p, c.Publish("vehicles/telemetry", 1, false, p)})
		time.Sleep(10 * time.Millisecond)
	}
	for tries := 0; len(inflight) > 0; tries++ {
		if tries == 10 {
			return fmt.Errorf("%s: %d publishes never acknowledged", id, len(inflight))
		}
		var again []pending
		for _, p := range inflight {
			if !p.tok.WaitTimeout(deadline) || p.tok.Error() != nil {
				again = append(again, pending{p.payload, c.Publish("vehicles/telemetry", 1, false, p.payload)})
			}
		}
		inflight = again
	}
	return nil
}
