// Command rmqready waits until a real RocketMQ takes sends and creates
// topics on it; `.ci/rocketmq start` runs it once the broker listens.
//
//	go run ./internal/realrocketmq/rmqready -namesrv 127.0.0.1:9876 -topics vehicles,chat
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"

	"github.com/mqttrmq/mqttrmq/internal/realrocketmq"
)

// readyTopic is where the probe message goes.
const readyTopic = "mqttrmq_ready"

func main() {
	ns := flag.String("namesrv", "", "the name server, ip:port")
	topics := flag.String("topics", "", "comma-separated topics to create (4 queues each)")
	timeout := flag.Duration("timeout", 3*time.Minute, "how long to wait for the broker")
	flag.Parse()
	if err := run(*ns, *topics, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "rmqready:", err)
		os.Exit(1)
	}
}

func run(ns, topicList string, timeout time.Duration) error {
	if ns == "" {
		return errors.New("-namesrv is required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	b, err := realrocketmq.WaitDial(ctx, ns)
	if err != nil {
		return err
	}
	defer b.Close()
	if err := b.CreateTopic(ctx, readyTopic, 1); err != nil {
		return fmt.Errorf("create topic %s: %w", readyTopic, err)
	}
	if err := probe(ctx, ns); err != nil {
		return err
	}
	for _, t := range strings.Split(topicList, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if err := b.CreateTopic(ctx, t, 4); err != nil {
			return fmt.Errorf("create topic %s: %w", t, err)
		}
	}
	return nil
}

// probe sends one message with the real client until the broker stores it.
func probe(ctx context.Context, ns string) error {
	rlog.SetLogLevel("fatal")
	p, err := rocketmq.NewProducer(producer.WithNameServer([]string{ns}),
		producer.WithGroupName("mqttrmq_ready"), producer.WithSendMsgTimeout(3*time.Second))
	if err != nil {
		return err
	}
	if err := p.Start(); err != nil {
		return fmt.Errorf("start a producer: %w", err)
	}
	defer p.Shutdown()
	for {
		r, err := p.SendSync(ctx, primitive.NewMessage(readyTopic, []byte("ready")))
		if err == nil && r.Status == primitive.SendOK {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("send status %d", r.Status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the broker takes no sends: %w", err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
