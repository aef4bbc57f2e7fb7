package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/rlog"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqttrmq/mqttrmq"
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

var seq int

// uniq names one RocketMQ client or group: the client shares one
// connection per instance name in a process.
func uniq(kind string) string {
	seq++
	return fmt.Sprintf("%s-%d-%d", kind, time.Now().UnixNano(), seq)
}

// env is an in-process RocketMQ and a gateway on it, in one dialect.
type env struct {
	srv *rocketmqtest.Server
	gw  *gateway.Gateway
}

func start(t *testing.T, dialect *mqttrmq.Dialect) env { return startIn(t, "", dialect) }

// startIn starts the gateway in a RocketMQ namespace, on a topic that the
// broker holds as namespace%vehicles.
func startIn(t *testing.T, namespace string, dialect *mqttrmq.Dialect) env {
	t.Helper()
	srv := rocketmqtest.NewServer(t)
	topic, err := mqttrmq.NamespaceTopic(namespace, "vehicles")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateTopic(topic, 4); err != nil {
		t.Fatal(err)
	}
	g := gatewaytest.Start(t, srv, gateway.Config{ParentTopics: []string{"vehicles"}, Dialect: dialect, Namespace: namespace})
	return env{srv, g}
}

// device connects a paho client; every message it gets lands in the channel.
func (e env) device(t *testing.T, id string, filters ...string) (paho.Client, chan paho.Message) {
	t.Helper()
	got := make(chan paho.Message, 10)
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + e.gw.Addr()).SetClientID(id).
		SetAutoReconnect(false).SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { got <- m }))
	if tok := c.Connect(); !tok.WaitTimeout(deadline) || tok.Error() != nil {
		t.Fatalf("%s: connect: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	for _, f := range filters {
		if tok := c.Subscribe(f, 1, nil); !tok.WaitTimeout(deadline) || tok.Error() != nil {
			t.Fatalf("%s: subscribe %s: %v", id, f, tok.Error())
		}
	}
	return c, got
}

func next(t *testing.T, got chan paho.Message) paho.Message {
	t.Helper()
	select {
	case m := <-got:
		return m
	case <-time.After(deadline):
		t.Fatal("no message arrived")
		return nil
	}
}

func (e env) backend(t *testing.T, args ...string) string {
	t.Helper()
	var out gatewaytest.Output
	base := []string{"-namesrv", e.srv.Addr(), "-topic", "vehicles", "-instance", uniq("be"), "-group", uniq("readers")}
	if err := run(context.Background(), &out, append(base, args...)); err != nil {
		t.Fatalf("run(%q) = %v\n%s", args, err, out.String())
	}
	return out.String()
}

// TestCommands: P2P commands reach their one device without a
// subscription, at the QoS asked and on mqttRealTopic when set; a
// broadcast reaches every subscriber of its subtopic.
func TestCommands(t *testing.T) {
	e := start(t, nil)
	_, car1 := e.device(t, "GID_vehicle@@@car1", "vehicles/cmd/#")
	_, car2 := e.device(t, "GID_vehicle@@@car2", "vehicles/cmd/#")

	out := e.backend(t, "-p2p", "GID_vehicle@@@car1", "-msg", "unlock", "-qos", "0")
	if m := next(t, car1); m.Topic() != "vehicles/p2p/GID_vehicle@@@car1" || string(m.Payload()) != "unlock" || m.Qos() != 0 {
		t.Errorf("car1 got %s %q qos %d; want vehicles/p2p/GID_vehicle@@@car1 \"unlock\" qos 0", m.Topic(), m.Payload(), m.Qos())
	}
	if want := "tag=MQ2MQTT mqttSecondTopic=/p2p/GID_vehicle@@@car1 qoslevel=0\n"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}

	e.backend(t, "-p2p", "GID_vehicle@@@car2", "-msg", "open trunk", "-real-topic", "vehicles/inbox")
	if m := next(t, car2); m.Topic() != "vehicles/inbox" || string(m.Payload()) != "open trunk" {
		t.Errorf("car2 got %s %q; want vehicles/inbox \"open trunk\"", m.Topic(), m.Payload())
	}

	e.backend(t, "-broadcast", "/cmd/all", "-msg", "stop")
	for i, got := range []chan paho.Message{car1, car2} {
		if m := next(t, got); m.Topic() != "vehicles/cmd/all" || string(m.Payload()) != "stop" {
			t.Errorf("car%d got %s %q; want vehicles/cmd/all \"stop\"", i+1, m.Topic(), m.Payload())
		}
	}
	select {
	case m := <-car1:
		t.Errorf("car1 got %s %q as well", m.Topic(), m.Payload())
	case m := <-car2:
		t.Errorf("car2 got %s %q as well", m.Topic(), m.Payload())
	default:
	}
}

// TestConsume: the backend reads device messages as the MQTT publishes
// they were, in both dialects.
func TestConsume(t *testing.T) {
	for _, d := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
		t.Run(d.String(), func(t *testing.T) {
			e := start(t, d)
			car, _ := e.device(t, "GID_vehicle@@@car1")
			group := uniq("readers")
			var out gatewaytest.Output
			done := make(chan error, 1)
			go func() {
				done <- run(context.Background(), &out, []string{"-namesrv", e.srv.Addr(), "-topic", "vehicles",
					"-dialect", d.String(), "-group", group, "-instance", uniq("be"), "-expect", "2", "-wait", "20s"})
			}()
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			if err := e.srv.WaitForConsumers(ctx, group, 1); err != nil {
				t.Fatal(err)
			}
			for i, qos := range []byte{0, 1} {
				tok := car.Publish(fmt.Sprintf("vehicles/telemetry/car1/%d", i), qos, false, fmt.Sprintf(`{"seq":%d}`, i))
				if !tok.WaitTimeout(deadline) || tok.Error() != nil {
					t.Fatal(tok.Error())
				}
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("run() = %v\n%s", err, out.String())
				}
			case <-time.After(deadline):
				t.Fatalf("the backend did not read 2 messages:\n%s", out.String())
			}
			for _, want := range []*regexp.Regexp{
				regexp.MustCompile(`← vehicles/telemetry/car1/0 from GID_vehicle@@@car1, qos 0: \{"seq":0\}\n  RocketMQ topic=vehicles tag=\S+ .*clientId=GID_vehicle@@@car1`),
				regexp.MustCompile(`← vehicles/telemetry/car1/1 from GID_vehicle@@@car1, qos 1: \{"seq":1\}\n`),
			} {
				if !want.MatchString(out.String()) {
					t.Errorf("output does not match %v:\n%s", want, out.String())
				}
			}
		})
	}
}

// TestApacheCommand: in Apache RocketMQ-MQTT's dialect a P2P command names
// the whole topic and the client's P2P queue.
func TestApacheCommand(t *testing.T) {
	e := start(t, mqttrmq.ApacheRocketMQMQTT)
	_, car1 := e.device(t, "GID_vehicle@@@car1")
	out := e.backend(t, "-dialect", "apache-rocketmq-mqtt", "-p2p", "GID_vehicle@@@car1", "-msg", "unlock")
	if m := next(t, car1); m.Topic() != "vehicles/p2p/GID_vehicle@@@car1" || string(m.Payload()) != "unlock" {
		t.Errorf("car1 got %s %q; want vehicles/p2p/GID_vehicle@@@car1 \"unlock\"", m.Topic(), m.Payload())
	}
	if want := "tag=MQTT_COMMON originMqttTopic=vehicles/p2p/GID_vehicle@@@car1 qosLevel=1"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}

// TestNamespace: with -namespace the backend's consumer hands over messages
// on ns1%vehicles, which it reads as the MQTT publishes they were (it
// refused every one), and its producer sends commands a device on a gateway
// in that namespace receives, in both dialects.
func TestNamespace(t *testing.T) {
	for _, d := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
		t.Run(d.String(), func(t *testing.T) {
			e := startIn(t, "ns1", d)
			car, got := e.device(t, "GID_vehicle@@@car1")
			out := e.backend(t, "-namespace", "ns1", "-dialect", d.String(), "-p2p", "GID_vehicle@@@car1", "-msg", "unlock")
			if m := next(t, got); m.Topic() != "vehicles/p2p/GID_vehicle@@@car1" || string(m.Payload()) != "unlock" {
				t.Errorf("car1 got %s %q; want vehicles/p2p/GID_vehicle@@@car1 \"unlock\"\n%s", m.Topic(), m.Payload(), out)
			}

			group := uniq("readers")
			var read gatewaytest.Output
			done := make(chan error, 1)
			go func() {
				done <- run(context.Background(), &read, []string{"-namesrv", e.srv.Addr(), "-topic", "vehicles", "-namespace", "ns1",
					"-dialect", d.String(), "-group", group, "-instance", uniq("be"), "-expect", "1", "-wait", "20s"})
			}()
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			if err := e.srv.WaitForConsumers(ctx, "ns1%"+group, 1); err != nil {
				t.Fatal(err)
			}
			if tok := car.Publish("vehicles/telemetry/car1", 1, false, "42"); !tok.WaitTimeout(deadline) || tok.Error() != nil {
				t.Fatal(tok.Error())
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("run() = %v\n%s", err, read.String())
				}
			case <-time.After(deadline):
				t.Fatalf("the backend did not read the message:\n%s", read.String())
			}
			if want := "← vehicles/telemetry/car1 from GID_vehicle@@@car1, qos 1: 42\n  RocketMQ topic=ns1%vehicles"; !strings.Contains(read.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, read.String())
			}
		})
	}
}

// Flag errors name the flag and what it wants, before anything connects.
var flagErrors = []struct {
	args []string
	want string
}{
	{[]string{"-topic", "v"}, "-namesrv is required"},
	{[]string{"-namesrv", "localhost:9876", "-topic", "v"}, `-namesrv "localhost:9876": want ip:port`},
	{[]string{"-namesrv", "127.0.0.1:9876"}, "-topic is required"},
	{[]string{"-namesrv", "ftp://ns.example:80", "-topic", "v"}, `-namesrv "ftp://ns.example:80"`},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-access-key", "ak"}, "-access-key and -secret-key go together"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-namespace", "a%b"}, `-namespace "a%b"`},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", strings.Repeat("v", 120), "-namespace", "namespace"}, "-namespace with -topic: "},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v/w"}, "-topic: "},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-dialect", "x"}, "-dialect: "},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-tag", "a||b"}, `-tag "a||b": one tag`},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-group", "a b"}, `-group "a b"`},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-p2p", "GID_x@@@a/b", "-msg", "m"}, "-p2p: "},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-p2p", "GID_xyz@@@a,", "-msg", "m"}, "-p2p: "},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-broadcast", "cmd", "-msg", "m"}, "-broadcast: "},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-broadcast", "/cmd/+", "-msg", "m"}, "-broadcast: "},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-broadcast", "/p2p/GID_xyz@@@a", "-msg", "m"}, "use -p2p"},
	// Apache RocketMQ-MQTT delivers by queue: a topic without one of its own is refused.
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-dialect", "apache-rocketmq-mqtt", "-p2p", "GID_xyz@@@a%b", "-msg", "m"}, "-p2p: "},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-dialect", "apache-rocketmq-mqtt", "-broadcast", "/cmd/", "-msg", "m"}, "-broadcast: "},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-p2p", "GID_xyz@@@a"}, "-msg is required"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-msg", "m"}, "add -p2p or -broadcast"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-p2p", "GID_xyz@@@a", "-msg", "m", "-qos", "3"}, "-qos 3"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-p2p", "GID_xyz@@@a", "-msg", "m", "-real-topic", "a/#"}, "-real-topic: "},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-broadcast", "/b", "-msg", "m", "-clean=false"}, "-clean is for -p2p"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-expect", "-2"}, "cannot be negative"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-request", "GID_xyz@@@a", "-p2p", "GID_xyz@@@b", "-msg", "m"}, "leave out -p2p"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-request", "GID_xyz@@@a"}, "-msg is required with -request"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-request", "GID_xyz@@@a/b", "-msg", "m"}, "-request: "},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-request", "GID_xyz@@@a", "-msg", "m", "-reply-to", "w/replies"}, "want a topic under it"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-request", "GID_xyz@@@a", "-msg", "m", "-reply-to", "v/+"}, "-reply-to: "},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-reply-to", "v/r"}, "-reply-to is for -request"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-p2p", "GID_xyz@@@a", "-msg", "m", "-expiry", "1500ms"}, "whole seconds"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-p2p", "GID_xyz@@@a", "-msg", "m", "-expiry", "-1s"}, "-expiry -1s"},
	{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-expiry", "10s"}, "-expiry is for commands"},
}

func TestNameServerEndpoint(t *testing.T) {
	o, err := parseFlags(io.Discard, []string{"-namesrv", "http://ns.example.com:80, 10.0.0.5:9876", "-topic", "v"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"http://ns.example.com:80", "10.0.0.5:9876"}; !slices.Equal(o.nameServers, want) {
		t.Errorf("name servers %q; want %q", o.nameServers, want)
	}
}

func TestFlagErrors(t *testing.T) {
	for _, tc := range flagErrors {
		err := run(context.Background(), io.Discard, tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v; want an error containing %q", tc.args, err, tc.want)
		}
	}
}
