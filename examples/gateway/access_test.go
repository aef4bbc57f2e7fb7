package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/internal/gatewaytest"
	"github.com/mqttrmq/mqttrmq/internal/testenv"
)

// TestTokensAndPermissions runs the command with the Token mode, its token
// service, presence events and a permission file, on an in-process
// RocketMQ: an application server gets a token from the service with
// mqttrmq.TokenClient, an app logs in with it, and what the token and the
// table allow makes the round trip; what they do not, does not.
func TestTokensAndPermissions(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys.txt")
	perms := filepath.Join(dir, "permissions.txt")
	os.WriteFile(keys, []byte("LTAI-app:app-secret\n"), 0o600)
	os.WriteFile(perms, []byte("allow all group:GID_app chat/#\ndeny publish * chat/announcements\n"), 0o600)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rmq := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out gatewaytest.Output
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, &out, []string{"-rocketmqtest", rmq, "-topics", "chat", "-listen", "127.0.0.1:0",
			"-instance-id", fmt.Sprintf("examples-gateway-tokens-%d", time.Now().UnixNano()),
			"-access-keys-file", keys, "-mqtt-instance", "mqtt-cn-test",
			"-token-revocation-topic", "revocations", "-token-api", "127.0.0.1:0",
			"-status-topic", "status", "-permissions", perms})
	}()
	addr := out.WaitFor(t, regexp.MustCompile(`msg=serving mqtt=(\S+)`))
	api := out.WaitFor(t, regexp.MustCompile(`tokens=(\S+)`))

	tokens := &mqttrmq.TokenClient{URL: api, AccessKeyID: "LTAI-app", AccessKeySecret: "app-secret"}
	tctx, tcancel := context.WithTimeout(ctx, deadline)
	defer tcancel()
	tok, err := tokens.Apply(tctx, mqttrmq.TokenApplication{Resources: []string{"chat/#"}, Actions: mqttrmq.TokenReadWrite, ExpireTime: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	user, pass, err := mqttrmq.TokenCredentials("LTAI-app", "mqtt-cn-test", mqttrmq.Token{Type: "RW", Value: tok})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan paho.Message, 10)
	dev := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("GID_app@@@u1").
		SetUsername(user).SetPassword(pass).SetAutoReconnect(false).SetProtocolVersion(4).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { got <- m }))
	if tok := dev.Connect(); !tok.WaitTimeout(deadline) || tok.Error() != nil {
		t.Fatalf("connect with a token: %v", tok.Error())
	}
	defer dev.Disconnect(0)
	if tok := dev.Subscribe("chat/#", 1, nil); !tok.WaitTimeout(deadline) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	for _, topic := range []string{"chat/announcements", "chat/room1"} { // the first is denied by the table
		if tok := dev.Publish(topic, 1, false, topic); !tok.WaitTimeout(deadline) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
	select {
	case m := <-got:
		if m.Topic() != "chat/room1" {
			t.Errorf("got %s; want chat/room1 only: chat/announcements is denied", m.Topic())
		}
	case <-time.After(deadline):
		t.Fatal("the allowed message did not come back")
	}
	if !strings.Contains(out.String(), "revocations loaded") {
		t.Errorf("output lacks the revocations line:\n%s", out.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run() = %v after cancel; want nil", err)
		}
	case <-time.After(deadline):
		t.Fatal("run did not return after its context was cancelled")
	}
}

// TestAccessFlagErrors: the flags of tokens, presence and permissions
// refuse what cannot work, before anything starts; a permission file with
// an invalid filter is refused naming its line.
func TestAccessFlagErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "permissions.txt")
	os.WriteFile(bad, []byte("# rules\nallow publish * chat/#\nallow subscribe group:GID_app chat/#/x\n"), 0o600)
	base := []string{"-namesrv", "127.0.0.1:9876", "-topics", "chat"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-auth", "allow-all", "-permissions", bad}, "permissions.txt line 3: filter \"chat/#/x\""},
		{[]string{"-auth", "allow-all", "-permissions", "/nonexistent/perms"}, "-permissions: "},
		{[]string{"-auth", "allow-all", "-token-api", ":8080"}, "-token-api needs -token-revocation-topic"},
		{[]string{"-auth", "allow-all", "-token-revocation-topic", "revocations"}, "needs AccessKeys"},
		{[]string{"-access-keys", "a:b", "-token-revocation-topic", "revocations", "-token-api", "8080"}, `-token-api "8080": want host:port`},
		{[]string{"-access-keys", "a:b", "-token-revocation-topic", "chat"}, "RevocationTopic"},
		{[]string{"-access-keys", "a:b", "-token-revocation-topic", "revocations", "-token-expiry-notice", "0s"}, "-token-expiry-notice 0s"},
		{[]string{"-auth", "allow-all", "-status-topic", "chat"}, "StatusTopic"},
		{[]string{"-auth", "allow-all", "-status-topic", "status", "-status-backlog", "0"}, "-status-backlog 0"},
	} {
		var out gatewaytest.Output
		args := append(append([]string(nil), base...), tc.args...)
		err := run(context.Background(), &out, args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v; want an error containing %q", args, err, tc.want)
		}
	}
}

// TestTokenAPIOverTLS: with -tls-cert and -tls-key the token service is
// served over HTTPS, with the gateway's certificate.
func TestTokenAPIOverTLS(t *testing.T) {
	ca := testenv.NewCA(t)
	certFile, keyFile, pool := ca.CertFile, ca.KeyFile, ca.Pool

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rmq := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out gatewaytest.Output
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, &out, []string{"-rocketmqtest", rmq, "-topics", "chat", "-listen", "127.0.0.1:0",
			"-instance-id", fmt.Sprintf("examples-gateway-tls-%d", time.Now().UnixNano()),
			"-access-keys", "LTAI-app:app-secret", "-tls-cert", certFile, "-tls-key", keyFile,
			"-token-revocation-topic", "revocations", "-token-api", "127.0.0.1:0"})
	}()
	api := out.WaitFor(t, regexp.MustCompile(`tokens=(\S+)`))
	if !strings.HasPrefix(api, "https://") {
		t.Fatalf("token service at %s; want https", api)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	tokens := &mqttrmq.TokenClient{URL: api, AccessKeyID: "LTAI-app", AccessKeySecret: "app-secret", HTTPClient: client}
	tctx, tcancel := context.WithTimeout(ctx, deadline)
	defer tcancel()
	if _, err := tokens.Apply(tctx, mqttrmq.TokenApplication{Resources: []string{"chat/#"}, Actions: mqttrmq.TokenRead, ExpireTime: time.Now().Add(time.Hour)}); err != nil {
		t.Fatalf("apply over HTTPS: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run() = %v after cancel; want nil", err)
		}
	case <-time.After(deadline):
		t.Fatal("run did not return after its context was cancelled")
	}
}
