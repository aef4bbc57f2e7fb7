package gateway_test

import (
	"testing"
	"time"

	"github.com/mqttrmq/mqttrmq/gateway"
	"github.com/mqttrmq/mqttrmq/internal/broker"
	"github.com/mqttrmq/mqttrmq/internal/conformance"
	"github.com/mqttrmq/mqttrmq/internal/gatewaytest"
	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

// conformanceParent is the parent topic of every conformance case.
const conformanceParent = "conformance"

// The limits the conformance cases run the gateway with, each set through
// Config and checked by the cases: advertised in the CONNACK and
// enforced.
const (
	conformanceReceiveMaximum   = 20
	conformanceMaxPayload       = 16 << 10
	conformanceServerKeepAlive  = 6 // seconds
	conformanceMaxSubscriptions = 10
)

// conformanceMaxPacketSize is the Maximum Packet Size the gateway
// advertises: room for a topic and properties around the largest payload.
const conformanceMaxPacketSize = conformanceMaxPayload + 8<<10

// TestConformance runs the MQTT 3.1.1 and 5.0 conformance suite against
// the gateway, every message through rocketmqtest: one RocketMQ and one
// gateway per case. Its limits are those the gateway is configured with
// here, and the core's fixed Topic Alias Maximum. The gateway declares no
// known breaks: every case must pass.
func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) conformance.Target {
		s := rocketmqtest.NewServer(t)
		if err := s.CreateTopic(conformanceParent, 4); err != nil {
			t.Fatal(err)
		}
		g := gatewaytest.Start(t, s, gateway.Config{
			ParentTopics:              []string{conformanceParent},
			InstanceID:                uniq(t, "gw"),
			ReceiveMaximum:            conformanceReceiveMaximum,
			MaxPayload:                conformanceMaxPayload,
			ServerKeepAlive:           conformanceServerKeepAlive * time.Second,
			MaxSubscriptionsPerClient: conformanceMaxSubscriptions,
			Logger:                    testLogger(t),
		})
		return conformance.Target{
			Addr:        g.Addr(),
			TopicPrefix: conformanceParent,
			Limits: conformance.Limits{
				ReceiveMaximum:            conformanceReceiveMaximum,
				MaximumPacketSize:         conformanceMaxPacketSize,
				MaxPayload:                conformanceMaxPayload,
				TopicAliasMaximum:         broker.DefaultTopicAliasMaximum,
				ServerKeepAlive:           conformanceServerKeepAlive,
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
