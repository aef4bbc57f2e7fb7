package main

import (
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/rlog"

	"github.com/mqttrmq/mqttrmq/gateway"
	"github.com/mqttrmq/mqttrmq/internal/gatewaytest"
	"github.com/mqttrmq/mqttrmq/internal/testenv"
	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

func TestMain(m *testing.M) {
	rlog.SetLogLevel("fatal")
	testenv.Main(m, testenv.PahoGoroutines()...)
}

// deadline bounds every wait; a healthy run is far quicker.
const deadline = gatewaytest.Deadline

// The AccessKey the test gateway knows.
const (
	accessKey = "LTAI-device-test"
	secret    = "s3cret"
	instance  = "mqtt-test"
)

// startGateway runs a gateway checking Signature credentials against an
// in-process RocketMQ, and closes both when the test ends.
func startGateway(t *testing.T) *gateway.Gateway {
	t.Helper()
	srv := rocketmqtest.NewServer(t)
	if err := srv.CreateTopic("vehicles", 4); err != nil {
		t.Fatal(err)
	}
	return gatewaytest.Start(t, srv, gateway.Config{
		ParentTopics: []string{"vehicles"},
		Auth:         gateway.Signature{Secrets: map[string]string{accessKey: secret}, InstanceID: instance},
	})
}

// TestExchange: one device subscribes and waits; another publishes to its
// subscription and sends it a P2P message. Both sign in with the hosted
// service's Signature mode, and both messages travel through RocketMQ.
func TestExchange(t *testing.T) {
	g := startGateway(t)
	broker := "tcp://" + g.Addr()
	creds := []string{"-mode", "signature", "-ak", accessKey, "-sk", secret, "-instance", instance}

	var listener gatewaytest.Output
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), &listener, append([]string{
			"-broker", broker, "-group", "GID_car", "-device", "a",
			"-sub", "vehicles/cmd/#", "-expect", "2", "-wait", "20s"}, creds...))
	}()
	listener.WaitFor(t, regexp.MustCompile(`subscribed to vehicles/cmd/# \(granted qos 1\)`))

	var sender gatewaytest.Output
	err := run(context.Background(), &sender, append([]string{
		"-broker", broker, "-client", "GID_car@@@b",
		"-pub", "vehicles/cmd/all", "-msg", "stop {seq} from {client}",
		"-p2p-to", "GID_car@@@a", "-parent", "vehicles"}, creds...))
	if err != nil {
		t.Fatalf("sender: %v\n%s", err, sender.String())
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("listener: %v\n%s", err, listener.String())
		}
	case <-time.After(deadline):
		t.Fatalf("listener did not get its 2 messages:\n%s", listener.String())
	}
	for _, want := range []string{
		"connected to " + broker + " as GID_car@@@a\n",
		"← vehicles/cmd/all qos 1: stop 1 from GID_car@@@b\n",
		"← vehicles/p2p/GID_car@@@a qos 1: stop 1 from GID_car@@@b (P2P)\n",
	} {
		if !strings.Contains(listener.String(), want) {
			t.Errorf("listener output lacks %q:\n%s", want, listener.String())
		}
	}
	for _, want := range []string{
		"→ vehicles/cmd/all qos 1: stop 1 from GID_car@@@b\n",
		"→ vehicles/p2p/GID_car@@@a qos 1: stop 1 from GID_car@@@b\n",
	} {
		if !strings.Contains(sender.String(), want) {
			t.Errorf("sender output lacks %q:\n%s", want, sender.String())
		}
	}
}

// TestRefused: a wrong secret fails the connection, and a subscription
// the gateway refuses (another client's P2P topic) fails the run.
func TestRefused(t *testing.T) {
	g := startGateway(t)
	broker := "tcp://" + g.Addr()
	err := run(context.Background(), io.Discard, []string{"-broker", broker, "-client", "GID_car@@@c",
		"-mode", "signature", "-ak", accessKey, "-sk", "wrong", "-instance", instance, "-pub", "vehicles/x"})
	if err == nil || !strings.Contains(err.Error(), "bad user name or password") {
		t.Errorf("run with a wrong secret = %v; want a refused connection", err)
	}
	err = run(context.Background(), io.Discard, []string{"-broker", broker, "-client", "GID_car@@@c",
		"-mode", "signature", "-ak", accessKey, "-sk", secret, "-instance", instance, "-sub", "vehicles/p2p/GID_car@@@d"})
	if err == nil || !strings.Contains(err.Error(), "subscribe vehicles/p2p/GID_car@@@d: refused by the broker") {
		t.Errorf("run snooping on another's P2P topic = %v; want the subscription refused", err)
	}
}

func TestExpectTimesOut(t *testing.T) {
	g := startGateway(t)
	err := run(context.Background(), io.Discard, []string{"-broker", "tcp://" + g.Addr(), "-client", "GID_car@@@e",
		"-mode", "signature", "-ak", accessKey, "-sk", secret, "-instance", instance,
		"-sub", "vehicles/quiet", "-expect", "1", "-wait", "50ms"})
	if want := "received 0 of -expect 1 messages within -wait 50ms"; err == nil || err.Error() != want {
		t.Errorf("run = %v; want %q", err, want)
	}
}

// Credentials are the hosted service's, mode by mode [SPEC §7].
func TestCredentials(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		user, pass string
	}{
		{[]string{"-mode", "signature", "-ak", "AK", "-sk", "SK", "-instance", "I"}, "Signature|AK|I", "3uaiUeE1pxYl/HiOyzteqF7A6NM="},
		{[]string{"-mode", "device", "-ak", "DAK", "-sk", "SK", "-instance", "I"}, "DeviceCredential|DAK|I", "3uaiUeE1pxYl/HiOyzteqF7A6NM="},
		{[]string{"-mode", "token", "-ak", "AK", "-instance", "I", "-tokens", "R:abc,W:def"}, "Token|AK|I", "R|abc|W|def"},
		{nil, "", ""},
	} {
		o, err := parseFlags(io.Discard, append([]string{"-client", "GID_xyz@@@d1"}, tc.args...))
		if err != nil {
			t.Errorf("parseFlags(%q): %v", tc.args, err)
			continue
		}
		if o.username != tc.user || o.password != tc.pass {
			t.Errorf("parseFlags(%q) gives %q, %q; want %q, %q", tc.args, o.username, o.password, tc.user, tc.pass)
		}
	}
}

// Flag errors name the flag and what it wants, before anything connects.
var flagErrors = []struct {
	args []string
	want string
}{
	{nil, "-client is required"},
	{[]string{"-client", "GID_xyz@@@d", "-group", "GID_xyz"}, "not both"},
	{[]string{"-client", "GID_x@@@d", "-mode", "signature", "-ak", "a", "-sk", "b", "-instance", "i"}, "group ID shorter than 7"},
	{[]string{"-group", "GID_x", "-device", "d"}, "-group/-device: "},
	{[]string{"-group", "GID_xyz", "-device", "d/e"}, "-group/-device: "},
	{[]string{"-client", "a/b"}, "-client: "},
	{[]string{"-client", "dev1", "-mode", "signature", "-ak", "a", "-sk", "b", "-instance", "i"}, "-client: "},
	{[]string{"-client", "GID_xyz@@@d", "-broker", "127.0.0.1:1883"}, `-broker "127.0.0.1:1883"`},
	{[]string{"-client", "GID_xyz@@@d", "-broker", "http://h:1883"}, `scheme "http"`},
	{[]string{"-client", "GID_xyz@@@d", "-mode", "signature", "-ak", "a", "-instance", "i"}, "-mode signature needs -sk"},
	{[]string{"-client", "GID_xyz@@@d", "-mode", "token", "-ak", "a", "-instance", "i"}, "-mode token needs -tokens"},
	{[]string{"-client", "GID_xyz@@@d", "-mode", "token", "-ak", "a", "-instance", "i", "-tokens", "abc"}, `-tokens "abc": want type:token`},
	{[]string{"-client", "GID_xyz@@@d", "-mode", "token", "-ak", "a", "-instance", "i", "-tokens", "X:abc"}, "-tokens: "},
	{[]string{"-client", "GID_xyz@@@d", "-mode", "token", "-ak", "a", "-sk", "s", "-instance", "i", "-tokens", "R:abc"}, "leave out -sk"},
	{[]string{"-client", "GID_xyz@@@d", "-ak", "a"}, "-ak needs -mode"},
	{[]string{"-client", "GID_xyz@@@d", "-mode", "password"}, `-mode "password"`},
	{[]string{"-client", "GID_xyz@@@d", "-qos", "3"}, "-qos 3: want 0, 1 or 2"},
	{[]string{"-client", "GID_xyz@@@d", "-sub", "a/#/b"}, "-sub: "},
	{[]string{"-client", "GID_xyz@@@d", "-sub", "a/b,a/\x01"}, "-sub: "},
	{[]string{"-client", "GID_xyz@@@d", "-pub", "a/+"}, "-pub: "},
	{[]string{"-client", "GID_xyz@@@d", "-pub", "/a/b"}, "-pub: "},
	{[]string{"-client", "GID_xyz@@@d", "-pub", "a/b", "-n", "0"}, "-n 0: want 1 or more"},
	{[]string{"-client", "GID_xyz@@@d", "-p2p-to", "GID_xyz@@@e"}, "-p2p-to needs -parent"},
	{[]string{"-client", "GID_xyz@@@d", "-p2p-to", "a/b", "-parent", "p"}, "-p2p-to: "},
	{[]string{"-client", "GID_xyz@@@d", "-parent", "p"}, "-parent is for -p2p-to"},
	{[]string{"-client", "GID_xyz@@@d", "-expect", "-1"}, "cannot be negative"},
	{[]string{"-client", "GID_xyz@@@d", "-respond", "-pub", "a/b"}, "leave out -pub and -p2p-to"},
	{[]string{"-client", "GID_xyz@@@d", "-respond", "-broker", "ws://h:80/mqtt"}, "-respond speaks MQTT 5 over TCP or TLS"},
	{[]string{"-client", "GID_xyz@@@d", "-reply", "ok"}, "add -respond"},
}

func TestFlagErrors(t *testing.T) {
	for _, tc := range flagErrors {
		err := run(context.Background(), io.Discard, tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v; want an error containing %q", tc.args, err, tc.want)
		}
	}
}
