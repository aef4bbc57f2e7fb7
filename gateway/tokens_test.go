package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/gateway"
	"github.com/mqttrmq/mqttrmq/internal/broker"
)

// The AccessKeys of the token tests: the application server's, and another.
var tokenKeys = map[string]string{"LTAI5tApp": "app-secret", "LTAI5tOther": "other-secret"}

const tokenInstance = "mqtt-cn-test"

// tokenGateway starts a gateway with the Token mode on, its token service
// served over HTTP, and returns it with an application server's client of
// that service.
func tokenGateway(t *testing.T, s rocketMQ, edit func(*gateway.Config)) (*gateway.Gateway, *mqttrmq.TokenClient) {
	t.Helper()
	g := startGateway(t, s, func(c *gateway.Config) {
		c.Auth = gateway.Signature{Secrets: tokenKeys, InstanceID: tokenInstance}
		c.RequireHostedClientID = true
		c.Tokens = &gateway.Tokens{Secrets: tokenKeys, InstanceID: tokenInstance, RevocationTopic: "revocations"}
		if edit != nil {
			edit(c)
		}
	})
	srv := httptest.NewServer(g.TokenHandler())
	t.Cleanup(srv.Close)
	return g, &mqttrmq.TokenClient{URL: srv.URL, AccessKeyID: "LTAI5tApp", AccessKeySecret: "app-secret", HTTPClient: srv.Client()}
}

// apply gets a token from the service.
func apply(t *testing.T, api *mqttrmq.TokenClient, actions string, life time.Duration, resources ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	tok, err := api.Apply(ctx, mqttrmq.TokenApplication{Resources: resources, Actions: actions, ExpireTime: time.Now().Add(life)})
	if err != nil {
		t.Fatalf("apply for %s %v: %v", actions, resources, err)
	}
	return tok
}

// withTokens logs a device in with the Token mode.
func withTokens(t *testing.T, tokens ...mqttrmq.Token) deviceOpt {
	t.Helper()
	user, pass, err := mqttrmq.TokenCredentials("LTAI5tApp", tokenInstance, tokens...)
	if err != nil {
		t.Fatal(err)
	}
	return credentials(user, pass)
}

// lost reports, on a channel, when a device's connection is lost.
func lost(ch chan<- error) deviceOpt {
	return func(o *paho.ClientOptions) { o.SetConnectionLostHandler(func(_ paho.Client, err error) { ch <- err }) }
}

// notice waits for the device's next message on a system topic and reads
// its JSON.
func (d *device) notice(t *testing.T, topic string) map[string]any {
	t.Helper()
	for {
		m := d.next(t)
		if m.Topic != topic {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(m.Payload), &v); err != nil {
			t.Fatalf("%s: %s payload %q: %v", d.id, topic, m.Payload, err)
		}
		return v
	}
}

// TestTokens: an app logs in with tokens an application server got from
// the token service; each PUBLISH needs a W token covering its topic and
// each SUBSCRIBE an R token covering its filter; every kind of bad token
// is refused at CONNECT.
func TestTokens(t *testing.T) {
	onBoth(t, tokens)
}

func tokens(t *testing.T, s rocketMQ) {
	freshTopic(t, s, "revocations", 2)
	g, api := tokenGateway(t, s, nil)
	backend := collect(t, s, "vehicles", gateway.UplinkTag)
	be := newBackend(t, s)

	r := apply(t, api, mqttrmq.TokenRead, time.Hour, "vehicles/cmd/+")
	w := apply(t, api, mqttrmq.TokenWrite, time.Hour, "vehicles/status/#", "chat/room1")
	app := connect(t, g, "GID_app@@@u1", withTokens(t, mqttrmq.Token{Type: "R", Value: r}, mqttrmq.Token{Type: "W", Value: w}))

	for filter, want := range map[string]byte{
		"vehicles/cmd/u1":          1,
		"vehicles/cmd/#":           0x80, // reaches below what vehicles/cmd/+ covers
		"vehicles/status/#":        0x80, // the W token's resource: publishing, not subscribing
		"$share/g/vehicles/cmd/u1": 1,
	} {
		if got := app.subscribe(t, filter, 1); got != want {
			t.Errorf("subscribe %s: %#x; want %#x", filter, got, want)
		}
	}
	app.publish(t, "vehicles/status/u1", 1, "covered")
	app.publish(t, "vehicles/status/u1/battery", 0, "covered too")
	app.publish(t, "chat/room1", 1, "covered, the token's second resource")
	app.publish(t, "vehicles/cmd/u1", 1, "refused: no W token covers it")
	app.publish(t, "chat/room2", 1, "refused")

	got := backend.wait(t, 2)
	be.send(t, command(t, "go", func(m *primitive.Message) error { return mqttrmq.SetSecondTopic(m, "/cmd/u1") }))
	if m := app.next(t); m.Topic != "vehicles/cmd/u1" || m.Payload != "go" {
		t.Errorf("app got %+v; want the command", m)
	}
	for _, m := range got {
		if body := string(m.Body); strings.HasPrefix(body, "refused") {
			t.Errorf("backend read a refused publish %q", body)
		}
	}
	chat := collect(t, s, "chat", gateway.UplinkTag).wait(t, 1)
	if len(chat) != 1 || string(chat[0].Body) != "covered, the token's second resource" {
		t.Errorf("chat holds %d messages; want the covered one", len(chat))
	}

	// An RW token does both; an R and a W token of other resources do not.
	rw := apply(t, api, mqttrmq.TokenReadWrite, time.Hour, "vehicles/u2/#")
	both := connect(t, g, "GID_app@@@u2", withTokens(t, mqttrmq.Token{Type: "RW", Value: rw}))
	both.mustSubscribe(t, "vehicles/u2/#", 1)
	both.publish(t, "vehicles/u2/hello", 1, "RW")
	if m := both.next(t); m.Payload != "RW" {
		t.Errorf("RW device got %+v; want its own message back", m)
	}

	// The token service says what it knows.
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if st, err := api.Query(ctx, w); err != nil || !st.Valid || st.Actions != "W" || strings.Join(st.Resources, ",") != "chat/room1,vehicles/status/#" || time.Until(st.ExpireTime) < 50*time.Minute {
		t.Errorf("Query(W token) = %+v, %v", st, err)
	}

	// Bad tokens are refused at CONNECT: the client hears "bad user name
	// or password" and nothing else.
	expired, err := gateway.IssueToken(g, "LTAI5tApp", mqttrmq.TokenApplication{Resources: []string{"vehicles/#"}, Actions: "R", ExpireTime: time.Now().Add(-time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	other, err := gateway.IssueToken(g, "LTAI5tOther", mqttrmq.TokenApplication{Resources: []string{"vehicles/#"}, Actions: "R", ExpireTime: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	forged := r[:len(r)-3] + "AAA"
	tampered := strings.Replace(r, ".", ".e", 1) // the claims changed, the MAC not
	for name, c := range map[string]struct{ user, pass string }{
		"forged MAC":                  {"Token|LTAI5tApp|" + tokenInstance, "R|" + forged},
		"tampered claims":             {"Token|LTAI5tApp|" + tokenInstance, "R|" + tampered},
		"not a token":                 {"Token|LTAI5tApp|" + tokenInstance, "R|abc"},
		"expired":                     {"Token|LTAI5tApp|" + tokenInstance, "R|" + expired},
		"another AccessKey's token":   {"Token|LTAI5tApp|" + tokenInstance, "R|" + other},
		"the token's key, other name": {"Token|LTAI5tNobody|" + tokenInstance, "R|" + r},
		"other instance":              {"Token|LTAI5tApp|mqtt-cn-other", "R|" + r},
		"W token as R (action)":       {"Token|LTAI5tApp|" + tokenInstance, "R|" + w},
		"R token as RW (action)":      {"Token|LTAI5tApp|" + tokenInstance, "RW|" + r},
		"one good, one bad":           {"Token|LTAI5tApp|" + tokenInstance, "R|" + r + "|W|" + forged},
		"malformed password":          {"Token|LTAI5tApp|" + tokenInstance, "R|" + r + "|W"},
		"type given twice":            {"Token|LTAI5tApp|" + tokenInstance, "R|" + r + "|R|" + r},
		"a token as a signature":      {"Signature|LTAI5tApp|" + tokenInstance, r},
	} {
		if d, err := dial(g.Addr(), "GID_app@@@bad", credentials(c.user, c.pass)); err == nil {
			d.Disconnect(0)
			t.Errorf("%s: connected; want refused", name)
		}
	}
	eventually(t, "the refusals counted", func() bool {
		return g.AccessStats().TokenLoginsRefused == 12 && g.AccessStats().PublishesRefused == 2 && g.AccessStats().SubscribesRefused == 2
	})
	if n := g.Stats().Refusals[broker.Refusal{Packet: "CONNACK", Code: broker.BadUsernameOrPassword}]; n != 13 {
		t.Errorf("CONNACK refusals %d; want 13", n)
	}
}

// TestTokenRevocation: a revoked token stops working at once on every
// instance: clients holding it anywhere are told on
// $SYS/tokenInvalidNotice and disconnected, it is refused from then on, and
// an instance started later knows it too, from RocketMQ.
func TestTokenRevocation(t *testing.T) {
	onBoth(t, tokenRevocation)
}

func tokenRevocation(t *testing.T, s rocketMQ) {
	freshTopic(t, s, "revocations", 2)
	g1, api := tokenGateway(t, s, nil)
	g2, _ := tokenGateway(t, s, nil)

	r := apply(t, api, mqttrmq.TokenRead, time.Hour, "vehicles/cmd/+")
	keep := apply(t, api, mqttrmq.TokenRead, time.Hour, "vehicles/cmd/+")
	lost1, lost2 := make(chan error, 1), make(chan error, 1)
	d1 := connect(t, g1, "GID_app@@@on1", withTokens(t, mqttrmq.Token{Type: "R", Value: r}), lost(lost1))
	d2 := connect(t, g2, "GID_app@@@on2", withTokens(t, mqttrmq.Token{Type: "R", Value: r}), lost(lost2))
	unaffected := connect(t, g2, "GID_app@@@keep", withTokens(t, mqttrmq.Token{Type: "R", Value: keep}))

	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if err := api.Revoke(ctx, r); err != nil {
		t.Fatal(err)
	}
	for _, d := range []struct {
		dev  *device
		lost chan error
	}{{d1, lost1}, {d2, lost2}} {
		if n := d.dev.notice(t, gateway.TopicTokenInvalidNotice); n["code"] != float64(mqttrmq.TokenRevoked) || n["type"] != "R" {
			t.Errorf("%s: invalid notice %v; want code 3, type R", d.dev.id, n)
		}
		select {
		case <-d.lost:
		case <-time.After(deadline):
			t.Fatalf("%s was not disconnected", d.dev.id)
		}
	}
	unaffected.mustSubscribe(t, "vehicles/cmd/keep", 1) // still connected, its token still good

	// Refused from now on, everywhere, even by an instance that was not
	// running when it was revoked.
	g3, _ := tokenGateway(t, s, nil)
	for _, g := range []*gateway.Gateway{g1, g2, g3} {
		if d, err := dial(g.Addr(), "GID_app@@@again", withTokens(t, mqttrmq.Token{Type: "R", Value: r})); err == nil {
			d.Disconnect(0)
			t.Errorf("a revoked token connected to %s", g.ConsumerGroup())
		}
	}
	connect(t, g3, "GID_app@@@keep3", withTokens(t, mqttrmq.Token{Type: "R", Value: keep}))
	if st, err := api.Query(ctx, r); err != nil || st.Valid || st.CheckCode != mqttrmq.TokenRevoked {
		t.Errorf("Query(revoked) = %+v, %v; want check code 3", st, err)
	}
	if err := api.Revoke(ctx, r); err != nil {
		t.Errorf("revoking again: %v; want done (it is revoked)", err)
	}
	for _, g := range []*gateway.Gateway{g1, g2, g3} {
		if st := g.AccessStats(); st.Revocations != 1 {
			t.Errorf("%s: %d revocations in force; want 1", g.ConsumerGroup(), st.Revocations)
		}
	}
	if st1, st2 := g1.AccessStats(), g2.AccessStats(); st1.TokensInvalidated != 1 || st2.TokensInvalidated != 1 || st1.RevocationsSent != 1 {
		t.Errorf("stats %+v and %+v; want one client invalidated on each, one revocation sent", st1, st2)
	}
}

// TestTokenRevocationAnnouncedAgain: a revocation nobody announced for
// RevocationRefresh is announced again, once, so that RocketMQ holds it
// after the first message is gone.
func TestTokenRevocationAnnouncedAgain(t *testing.T) {
	s := inProcess{newRocketMQ(t)}
	freshTopic(t, s, "revocations", 1)
	edit := func(c *gateway.Config) { c.Tokens.RevocationRefresh = 300 * time.Millisecond }
	g1, api := tokenGateway(t, s, edit)
	g2, _ := tokenGateway(t, s, edit)
	r := apply(t, api, mqttrmq.TokenRead, time.Hour, "vehicles/cmd/+")
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	revoked := time.Now()
	if err := api.Revoke(ctx, r); err != nil {
		t.Fatal(err)
	}
	revokes := func() int {
		n := 0
		for _, m := range s.Messages("revocations") {
			if m.GetTags() == "revoke" {
				n++
			}
		}
		return n
	}
	eventually(t, "the revocation announced again", func() bool { return revokes() >= 3 })
	// Each instance counts an announcement once RocketMQ answered its
	// send, a moment after the topic holds it.
	eventually(t, "the instances counting the 3 announcements the topic holds", func() bool {
		return g1.AccessStats().RevocationsSent+g2.AccessStats().RevocationsSent >= 3
	})
	// A revocation is announced at most once a period by each instance
	// (and mostly by one of them only: the first announcement resets the
	// other's clock), not on every tick.
	time.Sleep(time.Second)
	periods := int(time.Since(revoked) / (300 * time.Millisecond))
	if n := revokes(); n > 1+2*periods {
		t.Errorf("%d announcements in %d periods of two instances; want at most %d", n, periods, 1+2*periods)
	}
}

// TestTokenExpiryAndUpload: the client is warned on $SYS/tokenExpireNotice
// before its token expires; an upload on $SYS/uploadToken replaces it
// without reconnecting (and never reaches RocketMQ); a token left to expire
// gets $SYS/tokenInvalidNotice and a disconnect; malformed and bad uploads
// are refused and change nothing.
func TestTokenExpiryAndUpload(t *testing.T) {
	onBoth(t, tokenExpiryAndUpload)
}

func tokenExpiryAndUpload(t *testing.T, s rocketMQ) {
	freshTopic(t, s, "revocations", 1)
	g, api := tokenGateway(t, s, func(c *gateway.Config) { c.Tokens.ExpiryNotice = 4 * time.Second })
	short := func(actions string, life time.Duration) string {
		tok, err := gateway.IssueToken(g, "LTAI5tApp", mqttrmq.TokenApplication{Resources: []string{"vehicles/#"}, Actions: actions, ExpireTime: time.Now().Add(life)})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	r := apply(t, api, mqttrmq.TokenRead, time.Hour, "vehicles/#")
	// 5 s: warned after 1 s; replaced long before it expires, even on a
	// slow machine.
	wExpires := time.Now().Add(5 * time.Second)
	w := short(mqttrmq.TokenWrite, 5*time.Second)
	lostUp := make(chan error, 1)
	up := connect(t, g, "GID_app@@@up", withTokens(t, mqttrmq.Token{Type: "R", Value: r}, mqttrmq.Token{Type: "W", Value: w}), lost(lostUp))
	n := up.notice(t, gateway.TopicTokenExpireNotice)
	if n["type"] != "W" || n["expireTime"] == nil {
		t.Errorf("expire notice %v; want the W token's", n)
	}

	// Bad uploads change nothing; a token that does not work is named on
	// $SYS/tokenInvalidNotice, the connection stays.
	forged := w[:len(w)-3] + "AAA"
	for _, payload := range []string{
		`not json`,
		`{"token":5,"type":"W"}`,
		`{"token":"` + w + `"}`,
		`{"token":"` + w + `","type":"X"}`,
		`{"token":"` + forged + `","type":"W"}`,
		`{"token":"` + r + `","type":"W"}`, // an R token for the W place
	} {
		up.publish(t, gateway.TopicUploadToken, 1, payload)
	}
	if n := up.notice(t, gateway.TopicTokenInvalidNotice); n["code"] != float64(mqttrmq.TokenForged) || n["type"] != "W" {
		t.Errorf("forged upload: notice %v; want code 1, type W", n)
	}
	if n := up.notice(t, gateway.TopicTokenInvalidNotice); n["code"] != float64(mqttrmq.TokenActionMismatch) {
		t.Errorf("mismatched upload: notice %v; want code 5", n)
	}
	// Notices come in the order of the uploads.
	var order []float64
	for i := range 20 {
		payload, code := `{"token":"`+forged+`","type":"W"}`, float64(mqttrmq.TokenForged)
		if i%3 == 0 {
			payload, code = `{"token":"`+r+`","type":"W"}`, float64(mqttrmq.TokenActionMismatch)
		}
		up.publish(t, gateway.TopicUploadToken, 0, payload)
		order = append(order, code)
	}
	for i, want := range order {
		if n := up.notice(t, gateway.TopicTokenInvalidNotice); n["code"] != want {
			t.Fatalf("notice %d of 20 bad uploads in a row: %v; want code %v, in the uploads' order", i, n, want)
		}
	}

	// A good upload, and the old token's expiry passes unnoticed.
	w2 := apply(t, api, mqttrmq.TokenWrite, time.Hour, "vehicles/#")
	up.publish(t, gateway.TopicUploadToken, 1, `{"token":"`+w2+`","type":"W"}`)
	time.Sleep(time.Until(wExpires.Add(500 * time.Millisecond)))
	select {
	case err := <-lostUp:
		t.Fatalf("disconnected after uploading a new token: %v", err)
	default:
	}
	up.publish(t, "vehicles/up/after", 1, "published with the uploaded token")
	eventually(t, "the publish in RocketMQ", func() bool {
		for _, m := range s.Messages("vehicles") {
			if string(m.Body) == "published with the uploaded token" {
				return true
			}
		}
		return false
	})

	// A token left to expire: warned (at once: it has less than the
	// notice period left), then told and disconnected.
	lostLate := make(chan error, 1)
	late := connect(t, g, "GID_app@@@late", withTokens(t, mqttrmq.Token{Type: "RW", Value: short(mqttrmq.TokenReadWrite, time.Second)}), lost(lostLate))
	if n := late.notice(t, gateway.TopicTokenExpireNotice); n["type"] != "RW" {
		t.Errorf("expire notice %v; want the RW token's", n)
	}
	if n := late.notice(t, gateway.TopicTokenInvalidNotice); n["code"] != float64(mqttrmq.TokenExpired) || n["type"] != "RW" {
		t.Errorf("invalid notice %v; want code 2, type RW", n)
	}
	select {
	case <-lostLate:
	case <-time.After(deadline):
		t.Fatal("the client whose token expired was not disconnected")
	}

	// Uploads are the gateway's: none reached RocketMQ.
	for _, m := range s.Messages("vehicles") {
		if strings.Contains(string(m.Body), "token") && string(m.Body) != "published with the uploaded token" {
			t.Errorf("RocketMQ holds %q", m.Body)
		}
	}
	// A client not logged in with tokens cannot upload one.
	user, pass, err := mqttrmq.SignatureCredentials("LTAI5tApp", "app-secret", tokenInstance, "GID_app@@@sig")
	if err != nil {
		t.Fatal(err)
	}
	signed := connect(t, g, "GID_app@@@sig", credentials(user, pass))
	signed.publish(t, gateway.TopicUploadToken, 1, `{"token":"`+w2+`","type":"W"}`)

	eventually(t, "uploads counted", func() bool {
		st := g.AccessStats()
		return st.TokenUploads == 1 && st.TokenUploadsRefused == 7+20 && st.ExpiryNotices >= 2 && st.TokensInvalidated == 1
	})
}

// TestTokenService: the token service's answers to what an application
// server may get wrong.
func TestTokenService(t *testing.T) {
	s := inProcess{newRocketMQ(t)}
	freshTopic(t, s, "revocations", 1)
	g, api := tokenGateway(t, s, nil)
	post := func(path string, form url.Values) mqttrmq.TokenAnswer {
		t.Helper()
		res, err := api.HTTPClient.PostForm(api.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: HTTP %d %s", path, res.StatusCode, body)
		}
		a, err := mqttrmq.ParseTokenAnswer(body)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	sign := func(app mqttrmq.TokenApplication, key, secret string) url.Values {
		f, err := app.Form(key, secret, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	good := mqttrmq.TokenApplication{Resources: []string{"vehicles/#"}, Actions: "R", ExpireTime: time.Now().Add(time.Hour)}
	if a := post(mqttrmq.TokenApplyPath, sign(good, "LTAI5tApp", "app-secret")); !a.Success || a.Code != 200 || a.TokenData == "" {
		t.Errorf("apply: %+v; want a token", a)
	}
	// The current demos' shape, with instanceId signed, works too.
	withInstance := good
	withInstance.InstanceID = tokenInstance
	if a := post(mqttrmq.TokenApplyPath, sign(withInstance, "LTAI5tApp", "app-secret")); !a.Success {
		t.Errorf("apply with instanceId: %+v", a)
	}

	resign := func(f url.Values) url.Values {
		f.Set("signature", mqttrmq.TokenSignature("app-secret", mqttrmq.TokenSignedParameters(mqttrmq.TokenApplyPath, f)))
		return f
	}
	for _, c := range []struct {
		name string
		form func() url.Values
		code int
	}{
		{"a signature over other parameters", func() url.Values {
			f := sign(good, "LTAI5tApp", "app-secret")
			f.Set("resources", "#")
			return f
		}, 407},
		{"another key's signature", func() url.Values {
			f := sign(good, "LTAI5tOther", "other-secret")
			f.Set("accessKey", "LTAI5tApp")
			return f
		}, 407},
		{"an unknown AccessKey", func() url.Values { return sign(good, "LTAI5tNobody", "x") }, 407},
		{"no signature", func() url.Values {
			f := sign(good, "LTAI5tApp", "app-secret")
			f.Del("signature")
			return f
		}, 407},
		{"59 seconds", func() url.Values {
			return resign(url.Values{"resources": {"vehicles/#"}, "actions": {"R"}, "serviceName": {"mq"}, "accessKey": {"LTAI5tApp"},
				"expireTime": {strconv.FormatInt(time.Now().Add(59*time.Second).UnixMilli(), 10)}})
		}, 400},
		{"31 days", func() url.Values {
			f := resign(url.Values{"resources": {"vehicles/#"}, "actions": {"R"}, "serviceName": {"mq"}, "accessKey": {"LTAI5tApp"}})
			f.Set("expireTime", "99999999999999")
			return resign(f)
		}, 400},
		{"a malformed filter", func() url.Values {
			f := sign(good, "LTAI5tApp", "app-secret")
			f.Set("resources", "vehicles/#/x")
			return resign(f)
		}, 400},
		{"a topic not served", func() url.Values {
			f := sign(good, "LTAI5tApp", "app-secret")
			f.Set("resources", "elsewhere/#")
			return resign(f)
		}, 400},
		{"actions W,R", func() url.Values {
			f := sign(good, "LTAI5tApp", "app-secret")
			f.Set("actions", "W,R")
			return resign(f)
		}, 400},
		{"another instance", func() url.Values {
			f := sign(good, "LTAI5tApp", "app-secret")
			f.Set("instanceId", "mqtt-cn-other")
			return resign(f)
		}, 400},
	} {
		if a := post(mqttrmq.TokenApplyPath, c.form()); a.Success || a.Code != c.code {
			t.Errorf("%s: %+v; want code %d", c.name, a, c.code)
		}
	}

	// Revoke: only the token's own AccessKey, only a live token.
	tok := apply(t, api, mqttrmq.TokenRead, time.Hour, "vehicles/#")
	otherKey := &mqttrmq.TokenClient{URL: api.URL, AccessKeyID: "LTAI5tOther", AccessKeySecret: "other-secret", HTTPClient: api.HTTPClient}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	var apiErr *mqttrmq.TokenAPIError
	if err := otherKey.Revoke(ctx, tok); !errors.As(err, &apiErr) || apiErr.Code != 410 {
		t.Errorf("revoke another key's token: %v; want 410", err)
	}
	if err := api.Revoke(ctx, "mt1.forged.token"); !errors.As(err, &apiErr) || apiErr.Code != 410 {
		t.Errorf("revoke a forged token: %v; want 410", err)
	}
	expired, _ := gateway.IssueToken(g, "LTAI5tApp", mqttrmq.TokenApplication{Resources: []string{"vehicles/#"}, Actions: "R", ExpireTime: time.Now().Add(-time.Minute)})
	if err := api.Revoke(ctx, expired); !errors.As(err, &apiErr) || apiErr.Code != 410 {
		t.Errorf("revoke an expired token: %v; want 410", err)
	}
	if st, err := otherKey.Query(ctx, tok); err != nil || st.Valid || st.CheckCode != mqttrmq.TokenForged || st.Resources != nil {
		t.Errorf("another key's query: %+v, %v; want forged, nothing said of it", st, err)
	}
	if st, err := api.Query(ctx, expired); err != nil || st.Valid || st.CheckCode != mqttrmq.TokenExpired {
		t.Errorf("query an expired token: %+v, %v; want check code 2", st, err)
	}

	for _, c := range []struct {
		method, path string
		status       int
	}{{http.MethodGet, mqttrmq.TokenApplyPath, 405}, {http.MethodPost, "/token/other", 404}} {
		req, _ := http.NewRequest(c.method, api.URL+c.path, nil)
		res, err := api.HTTPClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.status {
			t.Errorf("%s %s: HTTP %d; want %d", c.method, c.path, res.StatusCode, c.status)
		}
	}
	if st := g.AccessStats(); st.TokensIssued != 3 || st.TokenAPIRefused != 13 {
		t.Errorf("AccessStats = %+v; want 3 issued, 13 refused", st)
	}
}

func TestTokensConfig(t *testing.T) {
	for name, tk := range map[string]gateway.Tokens{
		"no secrets":               {RevocationTopic: "revocations"},
		"no revocation topic":      {Secrets: tokenKeys},
		"revocation topic parent":  {Secrets: tokenKeys, RevocationTopic: "vehicles"},
		"revocation topic invalid": {Secrets: tokenKeys, RevocationTopic: "a/b"},
		"key with |":               {Secrets: map[string]string{"a|b": "s"}, RevocationTopic: "revocations"},
		"empty secret":             {Secrets: map[string]string{"a": ""}, RevocationTopic: "revocations"},
		"negative notice":          {Secrets: tokenKeys, RevocationTopic: "revocations", ExpiryNotice: -time.Second},
	} {
		tk := tk
		c := gateway.Config{NameServer: []string{"127.0.0.1:9876"}, ParentTopics: parents, Tokens: &tk}
		if _, err := gateway.New(c); !errors.Is(err, gateway.ErrConfig) {
			t.Errorf("%s: New = %v; want ErrConfig", name, err)
		}
	}
	c := gateway.Config{NameServer: []string{"127.0.0.1:9876"}, ParentTopics: parents, StatusTopic: "status",
		Tokens: &gateway.Tokens{Secrets: tokenKeys, RevocationTopic: "status"}}
	if _, err := gateway.New(c); !errors.Is(err, gateway.ErrConfig) {
		t.Errorf("revocation topic = status topic: New = %v; want ErrConfig", err)
	}
}
