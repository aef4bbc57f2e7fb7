package gateway_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mqttrmq/mqttrmq/gateway"
	"github.com/mqttrmq/mqttrmq/internal/conformance"
	"github.com/mqttrmq/mqttrmq/internal/gatewaytest"
	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

// conformanceParent is the parent topic of every conformance case.
const conformanceParent = "conformance"

// conformanceMaxSubscriptions is the subscription quota the cases check.
const conformanceMaxSubscriptions = 10

// TestConformance runs the MQTT 3.1.1 and 5.0 conformance suite against
// the gateway, every message through rocketmqtest: one RocketMQ and one
// gateway per case.
//
// The limits are those the gateway advertises today, fixed by its
// embedded broker: Receive Maximum 1024, Topic Alias Maximum 65535, and no
// Maximum Packet Size or Server Keep Alive, which the cases that exercise
// them report as missing. A core that makes them configurable sets them
// here.
func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) conformance.Target {
		s := rocketmqtest.NewServer(t)
		if err := s.CreateTopic(conformanceParent, 4); err != nil {
			t.Fatal(err)
		}
		g := gatewaytest.Start(t, s, gateway.Config{
			ParentTopics:              []string{conformanceParent},
			InstanceID:                uniq(t, "gw"),
			MaxSubscriptionsPerClient: conformanceMaxSubscriptions,
			Logger:                    testLogger(t),
		})
		t.Cleanup(func() { waitDisconnected(t, g) })
		return conformance.Target{
			Addr:        g.Addr(),
			TopicPrefix: conformanceParent,
			Limits: conformance.Limits{
				ReceiveMaximum:            1024,
				TopicAliasMaximum:         65535,
				MaxSubscriptionsPerClient: conformanceMaxSubscriptions,
			},
			Refusals: []conformance.Refusal{
				{Filter: "unserved/#", Code: 0x8F, Why: "its first level is no parent topic the gateway serves"},
				{Topic: "unserved/x", Code: 0x90, Why: "its first level is no parent topic the gateway serves"},
				{Filter: conformanceParent + "/p2p/someone-else", Code: 0x87, Why: "another client's P2P topic"},
			},
		}
	})
}

// waitDisconnected waits, before the gateway closes, until the case's
// clients are all gone from it. The embedded broker's Close takes its
// client table's read lock twice (Clients.GetByListener calls Len): a
// client still detaching asks for the write lock in between, and Close
// deadlocks. Connections end at the end of each case, so without the wait
// one run in a few hangs.
func waitDisconnected(t *testing.T, g *gateway.Gateway) {
	const gauge = "\nmqttrmq_clients_connected "
	for end := time.Now().Add(gatewaytest.Deadline); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		rec := httptest.NewRecorder()
		g.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		body := rec.Body.String()
		i := strings.Index(body, gauge)
		if i < 0 {
			t.Fatalf("no %s gauge in the metrics", strings.TrimSpace(gauge))
		}
		if strings.HasPrefix(body[i+len(gauge):], "0\n") {
			return
		}
	}
	t.Errorf("clients still connected %v after the case ended", gatewaytest.Deadline)
}
