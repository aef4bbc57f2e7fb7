package gateway_test

import (
	"context"
	"testing"
	"time"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/gateway"
	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

// TestPresenceAndTokensInNamespace: with Config.Namespace, the status
// topic and the revocation topic are in the namespace too, as the parent
// topics are: presence events land on ns1%status, revocations travel on
// ns1%revocations, and an instance started later reads them there.
func TestPresenceAndTokensInNamespace(t *testing.T) {
	const ns = "ns1"
	s := rocketmqtest.NewServer(t)
	for _, topic := range append([]string{"status", "revocations"}, parents...) {
		if err := s.CreateTopic(ns+"%"+topic, 2); err != nil {
			t.Fatal(err)
		}
	}
	edit := func(c *gateway.Config) { c.Namespace, c.StatusTopic = ns, "status" }
	g1, api := tokenGateway(t, inProcess{s}, edit)
	r := apply(t, api, mqttrmq.TokenRead, time.Hour, "vehicles/#")
	lostApp := make(chan error, 1)
	app := connect(t, g1, "GID_app@@@u1", withTokens(t, mqttrmq.Token{Type: "R", Value: r}), lost(lostApp))
	app.mustSubscribe(t, "vehicles/#", 1)
	eventually(t, "a connect event on ns1%status", func() bool {
		for _, m := range s.Messages(ns + "%status") {
			if e, err := mqttrmq.ParsePresenceEvent(m.Body); err == nil && e.ClientID == "GID_app@@@u1" && e.Online() {
				return true
			}
		}
		return false
	})

	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if err := api.Revoke(ctx, r); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lostApp:
	case <-time.After(deadline):
		t.Fatal("the revoked token's holder was not disconnected")
	}
	g2, _ := tokenGateway(t, inProcess{s}, edit)
	if d, err := dial(g2.Addr(), "GID_app@@@u2", withTokens(t, mqttrmq.Token{Type: "R", Value: r})); err == nil {
		d.Disconnect(0)
		t.Error("an instance started after the revocation let the revoked token in")
	}
	revokes := 0
	for _, m := range s.Messages(ns + "%revocations") {
		if m.GetTags() == "revoke" {
			revokes++
		}
	}
	if revokes != 1 {
		t.Errorf("ns1%%revocations holds %d revocations; want 1", revokes)
	}
	for _, topic := range s.Topics() {
		if topic == "status" || topic == "revocations" || topic == ns+"%"+ns+"%status" {
			t.Errorf("the gateway wrote to %q, outside the namespace or twice in it", topic)
		}
	}
}
