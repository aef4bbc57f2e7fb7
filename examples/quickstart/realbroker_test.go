package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mqttrmq/mqttrmq/internal/realrocketmq"
)

// TestQuickstartOnRealBroker runs the quickstart with -namesrv against a
// real Apache RocketMQ, as the README tells a user to, in both dialects:
// every message must arrive through the real broker.
func TestQuickstartOnRealBroker(t *testing.T) {
	b := realrocketmq.Connect(t)
	for _, args := range [][]string{
		{"-namesrv", b.NameServer},
		{"-namesrv", b.NameServer, "-dialect", "apache-rocketmq-mqtt"},
	} {
		// The topic the README says must exist, emptied of what earlier
		// runs left, so that the counts are this run's.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := b.ResetTopic(ctx, "vehicles", 4)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		err = run(context.Background(), &out, args)
		t.Logf("%q:\n%s", args, out.String())
		if err != nil {
			t.Fatalf("run(%q) = %v; want nil", args, err)
		}
		if got, want := lastLine(out.String()), "quickstart: uplink 9/9, p2p 3/3, broadcast 3/3"; got != want {
			t.Errorf("run(%q): last line = %q; want %q", args, got, want)
		}
		for _, wrong := range []string{"not counted", "refused", "level=WARN", "level=ERROR"} {
			if strings.Contains(out.String(), wrong) {
				t.Errorf("run(%q): output holds %q", args, wrong)
			}
		}
	}
}
