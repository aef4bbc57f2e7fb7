package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mqttrmq/mqttrmq/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m, testenv.PahoGoroutines()...) }

// lastLine returns the last line run wrote.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	return lines[len(lines)-1]
}

// TestQuickstart runs the README's first command, go run ./examples/quickstart,
// in process: every message must arrive, and the output must show the
// mapping both ways.
func TestQuickstart(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), &out, nil)
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatalf("run() = %v; want nil", err)
	}
	if got, want := lastLine(out.String()), "quickstart: uplink 9/9, p2p 3/3, broadcast 3/3"; got != want {
		t.Errorf("last line = %q; want %q", got, want)
	}
	for _, want := range []string{
		// The backend reads the device's topic, client ID and QoS back.
		"backend  ← vehicles/telemetry/car2 from GID_vehicle@@@car2, qos 1: {\"vehicle\":\"car2\",\"seq\":3,",
		"RocketMQ topic=vehicles tag=MQTT2MQ mqttSecondTopic=/telemetry/car2 qoslevel=1 cleansessionflag=true clientId=GID_vehicle@@@car2",
		// A P2P command reaches its vehicle on its own P2P topic.
		"RocketMQ topic=vehicles tag=MQ2MQTT mqttSecondTopic=/p2p/GID_vehicle@@@car3 qoslevel=1",
		"car3     ← vehicles/p2p/GID_vehicle@@@car3 qos 1: {\"cmd\":\"unlock\",\"run\":",
		// The broadcast reaches every subscriber.
		"car1     ← vehicles/cmd/all qos 1: {\"cmd\":\"return-to-depot\",\"run\":",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, wrong := range []string{"not counted", "refused", "level=WARN", "level=ERROR"} {
		if strings.Contains(out.String(), wrong) {
			t.Errorf("output holds %q", wrong)
		}
	}
}

// TestQuickstartCounts: the counts follow the flags, and no vehicle gets
// another's P2P command.
func TestQuickstartCounts(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), &out, []string{"-vehicles", "5", "-n", "2", "-topic", "fleet"})
	if err != nil {
		t.Fatalf("run() = %v; want nil\n%s", err, out.String())
	}
	if got, want := lastLine(out.String()), "quickstart: uplink 10/10, p2p 5/5, broadcast 5/5"; got != want {
		t.Errorf("last line = %q; want %q", got, want)
	}
	if n := strings.Count(out.String(), "/p2p/"); n != 2*5 { // sent and received, once each
		t.Errorf("output mentions a P2P topic %d times; want 10 (5 sent, 5 received):\n%s", n, out.String())
	}
}

// TestQuickstartApacheDialect: the same exchange with the mapping written
// in Apache RocketMQ-MQTT's dialect.
func TestQuickstartApacheDialect(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), &out, []string{"-dialect", "apache-rocketmq-mqtt"})
	if err != nil {
		t.Fatalf("run() = %v; want nil\n%s", err, out.String())
	}
	if got, want := lastLine(out.String()), "quickstart: uplink 9/9, p2p 3/3, broadcast 3/3"; got != want {
		t.Errorf("last line = %q; want %q", got, want)
	}
	for _, want := range []string{
		"RocketMQ topic=vehicles tag=MQTT_COMMON originMqttTopic=vehicles/telemetry/car1 qosLevel=1 cleanSessionFlag=true clientId=GID_vehicle@@@car1",
		"originMqttTopic=vehicles/p2p/GID_vehicle@@@car2 qosLevel=1",
		"INNER_MULTI_DISPATCH=%LMQ%%p2p%GID_vehicle@@@car2%",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// TestQuickstartNamespace: the same exchange in a RocketMQ namespace, in
// both dialects: the broker holds the topic as ns1%vehicles, and the MQTT
// topics do not change.
func TestQuickstartNamespace(t *testing.T) {
	for _, d := range []string{"alibaba-cloud", "apache-rocketmq-mqtt"} {
		var out bytes.Buffer
		err := run(context.Background(), &out, []string{"-namespace", "ns1", "-dialect", d})
		if err != nil {
			t.Fatalf("run(-namespace ns1 -dialect %s) = %v; want nil\n%s", d, err, out.String())
		}
		if got, want := lastLine(out.String()), "quickstart: uplink 9/9, p2p 3/3, broadcast 3/3"; got != want {
			t.Errorf("-dialect %s: last line = %q; want %q", d, got, want)
		}
		for _, want := range []string{"topic ns1%vehicles", "backend  ← vehicles/telemetry/car1 from GID_vehicle@@@car1", "RocketMQ topic=ns1%vehicles"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("-dialect %s: output lacks %q:\n%s", d, want, out.String())
			}
		}
	}
}

// TestQuickstartTimeout: a run that cannot finish says what was missing
// and fails.
func TestQuickstartTimeout(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), &out, []string{"-timeout", "1ns"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("run(-timeout 1ns) = %v; want context.DeadlineExceeded", err)
	}
	if got, want := lastLine(out.String()), "quickstart: uplink 0/9, p2p 0/3, broadcast 0/3"; got != want {
		t.Errorf("last line = %q; want %q", got, want)
	}
}

// Flag errors name the flag and what it wants.
var flagErrors = []struct {
	args []string
	want string
}{
	{[]string{"-namesrv", "localhost:9876"}, `-namesrv "localhost:9876": want ip:port`},
	{[]string{"-namesrv", "127.0.0.1"}, `-namesrv "127.0.0.1": want ip:port`},
	{[]string{"-namesrv", "127.0.0.1:9876,"}, `-namesrv "": want ip:port`},
	{[]string{"-topic", "a/b"}, "-topic: "},
	{[]string{"-topic", "TBW102"}, "-topic: "},
	{[]string{"-dialect", "mosquitto"}, "-dialect: "},
	{[]string{"-vehicles", "0"}, "-vehicles 0: want 1 to 100"},
	{[]string{"-n", "-1"}, "-n -1: want 1 to 1000"},
	{[]string{"-timeout", "0s"}, "-timeout 0s: want a positive duration"},
	{[]string{"-namespace", "a%b"}, "-namespace: "},
	{[]string{"-nosuch"}, "flag provided but not defined: -nosuch"},
	{[]string{"extra"}, `unexpected argument "extra"`},
}

func TestFlagErrors(t *testing.T) {
	for _, tc := range flagErrors {
		var out bytes.Buffer
		err := run(context.Background(), &out, tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v; want an error containing %q", tc.args, err, tc.want)
		}
		if out.Len() != 0 {
			t.Errorf("run(%q) wrote %q; want nothing before the flags are valid", tc.args, out.String())
		}
	}
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, []string{"-h"}); err != nil {
		t.Fatalf("run(-h) = %v; want nil", err)
	}
	for _, want := range []string{"-namesrv ip:port", "-timeout"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, out.String())
		}
	}
}
