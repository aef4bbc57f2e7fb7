package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqttrmq/mqttrmq/gateway"
	"github.com/mqttrmq/mqttrmq/internal/gatewaytest"
	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

// TestPresence: with -presence the backend prints every client status
// notification of the gateway's status topic, and who is online.
func TestPresence(t *testing.T) {
	srv := rocketmqtest.NewServer(t)
	for _, topic := range []string{"vehicles", "status"} {
		if err := srv.CreateTopic(topic, 2); err != nil {
			t.Fatal(err)
		}
	}
	g := gatewaytest.Start(t, srv, gateway.Config{ParentTopics: []string{"vehicles"}, StatusTopic: "status"})
	group := uniq("readers")
	var out gatewaytest.Output
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), &out, []string{"-namesrv", srv.Addr(), "-topic", "vehicles", "-presence", "status",
			"-group", group, "-instance", uniq("be"), "-expect", "3", "-wait", "20s"})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if err := srv.WaitForConsumers(ctx, group, 1); err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + g.Addr()).SetClientID("GID_vehicle@@@car1").SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(deadline) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	c.Disconnect(50)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run() = %v\n%s", err, out.String())
		}
	case <-time.After(deadline):
		t.Fatalf("the backend did not read 3 events:\n%s", out.String())
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`● GID_vehicle@@@car1 connect on channel \S+ from 127\.0\.0\.1:\d+ at [\d:.]+: online; 1 online\n`),
		regexp.MustCompile(`○ GID_vehicle@@@car1 (disconnect|tcpclean) on channel \S+ from 127\.0\.0\.1:\d+ at [\d:.]+: offline; 0 online\n`),
	} {
		if !want.MatchString(out.String()) {
			t.Errorf("output does not match %v:\n%s", want, out.String())
		}
	}
	if !strings.Contains(out.String(), "consuming presence events of status") {
		t.Errorf("output lacks the presence line:\n%s", out.String())
	}
}

func TestPresenceFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-presence", "a/b"}, "-presence: "},
		{[]string{"-namesrv", "127.0.0.1:9876", "-topic", "v", "-presence", "v"}, "-presence names -topic"},
	} {
		var out gatewaytest.Output
		if err := run(context.Background(), &out, tc.args); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v; want an error containing %q", tc.args, err, tc.want)
		}
	}
}
