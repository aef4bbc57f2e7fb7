package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/rlog"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/internal/gatewaytest"
	"github.com/mqttrmq/mqttrmq/internal/testenv"
	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(childArgsEnv); ok {
		runAsCommand(args) // the test binary as the command, for TestSIGTERMDrains
	}
	rlog.SetLogLevel("fatal")
	testenv.Main(m, testenv.PahoGoroutines()...)
}

// deadline bounds every wait; a healthy run is far quicker.
const deadline = gatewaytest.Deadline

// TestServe runs the command against an in-process RocketMQ: a device
// signing in with an AccessKey from the file is mapped onto RocketMQ and
// gets its own message back through it, a wrong secret is refused, the
// metrics count both, and cancelling the context stops it cleanly.
func TestServe(t *testing.T) {
	srv := rocketmqtest.NewServer(t)
	if err := srv.CreateTopic("vehicles", 4); err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(t.TempDir(), "keys.txt")
	if err := os.WriteFile(keys, []byte("# AccessKeys\nLTAI-demo: s3cret\n\nLTAI-other:x:y\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const instance = "GW_TEST_INSTANCE"
	id := fmt.Sprintf("examples-gateway-test-%d", time.Now().UnixNano())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out gatewaytest.Output
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, &out, []string{
			"-listen", "127.0.0.1:0", "-namesrv", srv.Addr(), "-topics", "vehicles",
			"-instance-id", id, "-access-keys-file", keys, "-mqtt-instance", instance,
			"-require-hosted-client-id", "-metrics", "127.0.0.1:0", "-pprof", "-drain-grace", "100ms",
		})
	}()
	addr := out.WaitFor(t, regexp.MustCompile(`msg=serving mqtt=(\S+)`))
	metricsURL := out.WaitFor(t, regexp.MustCompile(`metrics=(\S+)`))
	group := out.WaitFor(t, regexp.MustCompile(`group=(\S+)`))
	if err := srv.WaitForConsumers(ctx, group, 1); err != nil {
		t.Fatal(err)
	}

	client := "GID_car@@@v1"
	got := make(chan paho.Message, 1)
	user, pass, err := mqttrmq.SignatureCredentials("LTAI-demo", "s3cret", instance, client)
	if err != nil {
		t.Fatal(err)
	}
	dev := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(client).
		SetUsername(user).SetPassword(pass).SetAutoReconnect(false).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { got <- m }))
	if tok := dev.Connect(); !tok.WaitTimeout(deadline) || tok.Error() != nil {
		t.Fatalf("connect with a valid signature: %v", tok.Error())
	}
	defer dev.Disconnect(0)
	if tok := dev.Subscribe("vehicles/status/#", 1, nil); !tok.WaitTimeout(deadline) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	if tok := dev.Publish("vehicles/status/v1", 1, false, "online"); !tok.WaitTimeout(deadline) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	select {
	case m := <-got:
		if m.Topic() != "vehicles/status/v1" || string(m.Payload()) != "online" {
			t.Errorf("device got %s %q; want vehicles/status/v1 \"online\"", m.Topic(), m.Payload())
		}
	case <-time.After(deadline):
		t.Fatal("the device's message did not come back through RocketMQ")
	}
	stored := srv.Messages("vehicles")
	if len(stored) != 1 {
		t.Fatalf("RocketMQ holds %d messages; want 1", len(stored))
	}
	if m := stored[0]; m.GetTags() != "MQTT2MQ" || mqttrmq.SecondTopicOf(m) != "/status/v1" || mqttrmq.ClientIDOf(m) != client {
		t.Errorf("stored tag %q, mqttSecondTopic %q, clientId %q; want MQTT2MQ, /status/v1, %s",
			m.GetTags(), mqttrmq.SecondTopicOf(m), mqttrmq.ClientIDOf(m), client)
	}

	// A second key from the file, whose secret holds ':'; a wrong secret.
	for _, tc := range []struct {
		key, secret string
		ok          bool
	}{{"LTAI-other", "x:y", true}, {"LTAI-demo", "wrong", false}} {
		user, pass, err := mqttrmq.SignatureCredentials(tc.key, tc.secret, instance, "GID_car@@@v2")
		if err != nil {
			t.Fatal(err)
		}
		c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("GID_car@@@v2").
			SetUsername(user).SetPassword(pass).SetAutoReconnect(false).
			SetProtocolVersion(4)) // else paho retries a refused CONNECT as MQTT 3.1
		tok := c.Connect()
		if !tok.WaitTimeout(deadline) {
			t.Fatalf("connect as %s: no answer", tc.key)
		}
		if (tok.Error() == nil) != tc.ok {
			t.Errorf("connect as %s with secret %q: %v; want success %v", tc.key, tc.secret, tok.Error(), tc.ok)
		}
		c.Disconnect(0)
	}

	res, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{"mqttrmq_uplink_sent_total 1\n", "mqttrmq_connections_refused_total 1\n", "mqttrmq_downlink_delivered_total 1\n"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}

	// -pprof: Go's profiles beside the metrics.
	res, err = http.Get(strings.TrimSuffix(metricsURL, "/metrics") + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "heap profile:") {
		t.Errorf("GET /debug/pprof/heap: %s %.200q; want 200 and a heap profile", res.Status, body)
	}

	// Let the gateway's consumer catch up before it shuts down; see
	// rocketmqtest.ConsumerGuard.
	waitCtx, stop := context.WithTimeout(context.Background(), deadline)
	if err := srv.WaitForCaughtUp(waitCtx, group); err != nil {
		t.Error(err)
	}
	stop()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run() = %v after cancel; want nil", err)
		}
	case <-time.After(deadline):
		t.Fatal("run did not return after its context was cancelled")
	}
	if !strings.Contains(out.String(), "msg=stopping") {
		t.Errorf("output lacks the stopping line:\n%s", out.String())
	}
}

// TestTrialRocketMQ: with -rocketmqtest the command runs its own RocketMQ,
// and a device's message makes the round trip through it, in a RocketMQ
// namespace (-namespace) or without one.
func TestTrialRocketMQ(t *testing.T) {
	for _, ns := range []string{"", "ns1"} {
		t.Run("namespace="+ns, func(t *testing.T) { trial(t, ns) })
	}
}

func trial(t *testing.T, namespace string) {
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
		done <- run(ctx, &out, []string{"-rocketmqtest", rmq, "-topics", "vehicles,chat", "-auth", "allow-all", "-namespace", namespace,
			"-listen", "127.0.0.1:0", "-drain-grace", "100ms", "-instance-id", fmt.Sprintf("examples-gateway-trial-%d", time.Now().UnixNano())})
	}()
	addr := out.WaitFor(t, regexp.MustCompile(`msg=serving mqtt=(\S+)`))
	if !strings.Contains(out.String(), "namesrv="+rmq) {
		t.Errorf("output does not name the in-process RocketMQ %s:\n%s", rmq, out.String())
	}

	got := make(chan paho.Message, 1)
	dev := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("GID_chat@@@u1").
		SetAutoReconnect(false).SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { got <- m }))
	if tok := dev.Connect(); !tok.WaitTimeout(deadline) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer dev.Disconnect(0)
	if tok := dev.Subscribe("chat/room1", 1, nil); !tok.WaitTimeout(deadline) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	// The gateway's consumer starts at its start-up time, so this
	// message reaches it whenever its first rebalance ends.
	if tok := dev.Publish("chat/room1", 1, false, "hello"); !tok.WaitTimeout(deadline) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	select {
	case m := <-got:
		if string(m.Payload()) != "hello" {
			t.Errorf("got %q; want hello", m.Payload())
		}
	case <-time.After(deadline):
		t.Fatal("the message did not come back through the in-process RocketMQ")
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

// Flag errors name the flag and what it wants, before anything starts.
var flagErrors = []struct {
	args []string
	want string
}{
	{[]string{"-topics", "vehicles"}, "-namesrv is required"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-rocketmqtest", "127.0.0.1:9877", "-topics", "v"}, "not both"},
	{[]string{"-rocketmqtest", "localhost:9876", "-topics", "v"}, `-rocketmqtest "localhost:9876": want ip:port`},
	{[]string{"-namesrv", "127.0.0.1:9876"}, "-topics is required"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topics", "v", "-pprof"}, "-pprof serves on the -metrics address"},
	{[]string{"-namesrv", "localhost:9876", "-topics", "v"}, `-namesrv "localhost:9876": want ip:port`},
	{[]string{"-namesrv", "127.0.0.1:9876,10.0.0.1", "-topics", "v"}, `-namesrv "10.0.0.1": want ip:port`},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topics", "v,a/b", "-auth", "allow-all"}, "-topics: "},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topics", "v,", "-auth", "allow-all"}, "-topics: "},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topics", "v", "-listen", "1883", "-auth", "allow-all"}, `-listen "1883": want host:port`},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topics", "v", "-metrics", "9100", "-auth", "allow-all"}, `-metrics "9100": want host:port`},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topics", "v", "-max-payload", "0", "-auth", "allow-all"}, "-max-payload 0: want a positive number"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topics", "v", "-max-subscriptions", "-1", "-auth", "allow-all"}, "-max-subscriptions -1"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topics", "v", "-send-timeout", "0s", "-auth", "allow-all"}, "-send-timeout 0s: want a positive duration"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topics", "v"}, "-auth signature needs AccessKeys"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topics", "v", "-auth", "token"}, `-auth "token": want signature or allow-all`},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topics", "v", "-auth", "allow-all", "-access-keys", "a:b"}, "need -auth signature"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topics", "v", "-access-keys", "a"}, "-access-keys entry 1: want id:secret"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topics", "v", "-access-keys", "a:b,:c"}, "-access-keys entry 2: want id:secret"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topics", "v", "-access-keys", "a:b,a:c"}, `AccessKey ID "a" given twice`},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topics", "v", "-access-keys", "a|b:c"}, "holds '|'"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topics", "v", "-access-keys-file", "/nonexistent/keys"}, "-access-keys-file: open /nonexistent/keys"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topics", "v", "-access-keys", "a:b", "-mqtt-instance", "x|y"}, "holds no '|'"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topics", "v", "-auth", "allow-all", "-instance-id", "a b"}, "InstanceID"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topics", "v", "-auth", "allow-all", "-uplink-tag", "MQ2MQTT"}, "UplinkTag"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topics", "v", "-auth", "allow-all", "-dialect", "x"}, "-dialect: "},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topics", "v", "-auth", "allow-all", "-dialect", "apache-rocketmq-mqtt", "-uplink-tag", "UP"}, "-uplink-tag does not apply"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topics", "v", "-auth", "allow-all", "-namespace", "a%b"}, "-namespace: "},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topics", "v", "-auth", "allow-all", "-namespace", strings.Repeat("n", 126)}, "-namespace: "},
	{[]string{"-nosuch"}, "flag provided but not defined: -nosuch"},
}

func TestFlagErrors(t *testing.T) {
	for _, tc := range flagErrors {
		var out gatewaytest.Output
		err := run(context.Background(), &out, tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v; want an error containing %q", tc.args, err, tc.want)
		}
	}
}

func TestAccessKeysFileErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, []byte("# ok\nid1:s1\n\nid2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := accessKeys("", path)
	if want := "line 4: want id:secret"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("accessKeys(%s) = %v; want an error containing %q", path, err, want)
	}
	got, err := accessKeys("id0:s0", "")
	if err != nil || len(got) != 1 || got["id0"] != "s0" {
		t.Errorf("accessKeys(id0:s0) = %v, %v; want map[id0:s0]", got, err)
	}
}

func TestHelp(t *testing.T) {
	var out gatewaytest.Output
	if err := run(context.Background(), &out, []string{"-h"}); err != nil {
		t.Fatalf("run(-h) = %v; want nil", err)
	}
	for _, want := range []string{"-namesrv ip:port", "-access-keys-file file", "-metrics address"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, out.String())
		}
	}
}
