package gateway_test

import (
	"errors"
	"testing"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/gateway"
)

// TestSignatureAuth: a device using mqttrmq.SignatureCredentials, as it
// would for the hosted service, connects unchanged; anything else is refused.
func TestSignatureAuth(t *testing.T) {
	s := newRocketMQ(t)
	g := startGateway(t, s, func(c *gateway.Config) {
		c.Auth = gateway.Signature{Secrets: map[string]string{"LTAI5tKey": "s3cret"}, InstanceID: "mqtt-cn-test"}
		c.RequireHostedClientID = true
	})
	id := mqttrmq.ClientID{GroupID: "GID_car", DeviceID: "v1"}.String()
	user, pass, err := mqttrmq.SignatureCredentials("LTAI5tKey", "s3cret", "mqtt-cn-test", id)
	if err != nil {
		t.Fatal(err)
	}
	d := connect(t, g, id, credentials(user, pass))
	d.publish(t, "vehicles/ok", 1, "signed in")

	duser, dpass, err := mqttrmq.DeviceCredentials("LTAI5tKey", "s3cret", "mqtt-cn-test", "GID_car@@@v2")
	if err != nil {
		t.Fatal(err)
	}
	connect(t, g, "GID_car@@@v2", credentials(duser, dpass)) // DeviceCredential mode too

	for name, c := range map[string]struct{ id, user, pass string }{
		"wrong secret":         {id, user, mqttrmq.Sign("other", id)},
		"signature of another": {id, user, mqttrmq.Sign("s3cret", "GID_car@@@v9")},
		"unknown access key":   {id, "Signature|LTAI5tOther|mqtt-cn-test", pass},
		"other instance":       {id, "Signature|LTAI5tKey|mqtt-cn-other", pass},
		"token mode":           {id, "Token|LTAI5tKey|mqtt-cn-test", "R|abc"},
		"no username":          {id, "", ""},
		"plain client ID":      {"car-1", "Signature|LTAI5tKey|mqtt-cn-test", mqttrmq.Sign("s3cret", "car-1")},
		"reserved client ID":   {"inline", "Signature|LTAI5tKey|mqtt-cn-test", mqttrmq.Sign("s3cret", "inline")},
	} {
		if dev, err := dial(g.Addr(), c.id, credentials(c.user, c.pass)); err == nil {
			dev.Disconnect(0)
			t.Errorf("%s: connected; want refused", name)
		}
	}
	if st := g.Stats(); st.ConnectionsRefused != 8 {
		t.Errorf("stats = %+v; want 8 refused connections", st)
	}
}

func TestSignatureAuthenticate(t *testing.T) {
	a := gateway.Signature{Secrets: map[string]string{"k": "s"}}
	if err := a.Authenticate("c", "Signature|k|any", []byte(mqttrmq.Sign("s", "c"))); err != nil {
		t.Errorf("Authenticate = %v; want nil (no instance check configured)", err)
	}
	if err := a.Authenticate("c", "Signature|k|any", []byte("bad")); !errors.Is(err, gateway.ErrAuth) {
		t.Errorf("Authenticate(bad password) = %v; want ErrAuth", err)
	}
}
