package gateway_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqttrmq/mqttrmq/gateway"
)

// TestAtLeastOnceUnderFaults: while RocketMQ refuses sends and stops
// answering for a while (rocketmqtest), or while the broker process is
// stopped, resumed, killed and restarted (a real broker), 1,000 QoS 1
// messages from 10 devices all arrive in RocketMQ. The gateway acknowledges a publish only once RocketMQ took it,
// and disconnects a device whose publish it could not store, so the device
// resends it; duplicates are the price, losses are zero.
//
// It runs twice: once with the default retry budget, which absorbs the
// faults, and once with almost none, so that devices are disconnected and
// resend.
func TestAtLeastOnceUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 messages under injected faults")
	}
	t.Run("retried", func(t *testing.T) {
		onBoth(t, func(t *testing.T, s rocketMQ) { atLeastOnce(t, s, 0) })
	})
	t.Run("disconnected", func(t *testing.T) {
		onBoth(t, func(t *testing.T, s rocketMQ) { atLeastOnce(t, s, time.Millisecond) })
	})
}

func atLeastOnce(t *testing.T, s rocketMQ, retryFor time.Duration) {
	pace, inject := s.faults(t)
	g := startGateway(t, s, func(c *gateway.Config) {
		c.SendTimeout = time.Second
		c.SendRetryFor = retryFor
	})

	const devices, each = 10, 100
	var wg sync.WaitGroup
	errs := make(chan error, devices*each)
	for d := range devices {
		dev := connect(t, g, fmt.Sprintf("GID_car@@@f%d", d), persistent, autoReconnect)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A device keeps each message until it is acknowledged: paho
			// resends what it had sent when it reconnects, and reports an
			// error for what it could not write, which the device publishes again.
			type pending struct {
				payload string
				tok     paho.Token
			}
			var inflight []pending
			for i := range each {
				p := fmt.Sprintf("%d-%d", d, i)
				inflight = append(inflight, pending{p, dev.Publish("vehicles/telemetry", 1, false, p)})
				time.Sleep(pace) // a steady stream, not one burst
			}
			for tries := 0; len(inflight) > 0; tries++ {
				if tries == 10 {
					errs <- fmt.Errorf("device %d: %d publishes never acknowledged", d, len(inflight))
					return
				}
				var again []pending
				for _, p := range inflight {
					if !p.tok.WaitTimeout(deadline) || p.tok.Error() != nil {
						again = append(again, pending{p.payload, dev.Publish("vehicles/telemetry", 1, false, p.payload)})
					}
				}
				inflight = again
			}
		}()
	}

	inject() // faults while the devices publish

	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// paho completes a publish's token when it resends the publish after a
	// reconnect, not when the resend is acknowledged: so wait for
	// RocketMQ to hold every message (or the deadline) before counting.
	var lost, dups int
	count := func() bool {
		seen := map[string]int{}
		for _, m := range s.Messages("vehicles") {
			seen[string(m.Body)]++
		}
		lost, dups = 0, 0
		for d := range devices {
			for i := range each {
				n := seen[fmt.Sprintf("%d-%d", d, i)]
				if n == 0 {
					lost++
				}
				dups += max(n-1, 0)
			}
		}
		return lost == 0
	}
	end := time.Now().Add(deadline)
	for !count() && time.Now().Before(end) {
		time.Sleep(10 * time.Millisecond)
	}
	st := g.Stats()
	t.Logf("%d messages: %d lost, %d duplicates; %d send attempts failed, %d publishes given up; %+v", devices*each, lost, dups, st.UplinkSendFailures, st.UplinkGaveUp, st)
	if lost != 0 {
		seen := map[string]int{}
		for _, m := range s.Messages("vehicles") {
			seen[string(m.Body)]++
		}
		var missing []string
		for d := range devices {
			for i := range each {
				if p := fmt.Sprintf("%d-%d", d, i); seen[p] == 0 {
					missing = append(missing, p)
				}
			}
		}
		t.Errorf("%d messages lost: %v", lost, missing)
	}
	if st.UplinkSendFailures == 0 {
		t.Errorf("no send failed: the faults were not exercised")
	}
	if retryFor > 0 && st.UplinkGaveUp == 0 {
		t.Errorf("no publish was given up: the disconnect path was not exercised")
	}
}
