// Command rocketmqtest runs package rocketmqtest's RocketMQ name server and
// broker as a process of its own, so that a benchmark measures a gateway
// process without the RocketMQ it talks to, and RocketMQ's cost apart.
// Like the package, it keeps everything in memory on one node: it is for
// tests and benchmarks, not for keeping messages.
//
//	rocketmqtest -listen 127.0.0.1:9876 -topics vehicles,bench
//
// It prints "listening ADDRESS" once clients can reach it; SIGINT or
// SIGTERM stops it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9876", "name server and broker `ip:port`")
	topics := flag.String("topics", "", "`topics` to create, comma-separated")
	queues := flag.Int("queues", 4, "queues per topic")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *listen, *topics, *queues); err != nil {
		fmt.Fprintln(os.Stderr, "rocketmqtest:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, listen, topics string, queues int) error {
	if _, err := netip.ParseAddrPort(listen); err != nil {
		return fmt.Errorf("-listen %q: want ip:port (RocketMQ clients do not resolve host names)", listen)
	}
	if queues < 1 {
		return fmt.Errorf("-queues %d: want at least 1", queues)
	}
	var names []string
	if topics != "" {
		for _, t := range strings.Split(topics, ",") {
			t = strings.TrimSpace(t)
			if err := mqttrmq.ValidateParentTopic(t); err != nil {
				return fmt.Errorf("-topics: %w", err)
			}
			names = append(names, t)
		}
	}
	s, err := rocketmqtest.Start(rocketmqtest.WithAddr(listen))
	if err != nil {
		return err
	}
	for _, t := range names {
		if err := s.CreateTopic(t, queues); err != nil {
			return errors.Join(err, s.Close())
		}
	}
	fmt.Println("listening", s.Addr())
	<-ctx.Done()
	return s.Close()
}
