package rocketmqtest

import (
	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"

	"github.com/mqttrmq/mqttrmq/internal/consumerguard"
)

// ConsumerGuard shuts rocketmq-client-go push consumers down without the
// data race the race detector finds in the client itself, so that tests run
// with -race pass reliably.
//
// The race: the client's Shutdown sets a plain bool (rmqClient.close) that
// its rebalances read, on the client's own goroutines, when they ask the
// broker for the group's members and offsets. A rebalance that a
// NOTIFY_CONSUMER_IDS_CHANGED or the client's 20-second timer started, or
// one that ran without any later synchronisation with the test, is
// reported against the Shutdown. A guard narrows that gap to what a
// request slower than a bound could still hit: Shutdown first suspends the
// consumer, which makes it skip notified and timed rebalances; its Strategy
// takes a lock the guard's Shutdown takes too, so every rebalance that
// reached its allocation happens before the Shutdown; and Shutdown waits
// until a rebalance still in flight has had time to finish its requests
// (a quarter of a second after the suspension and after the last
// allocation, a second after the last that took on a queue).
// Wait for the group with Server.WaitForConsumers before the test ends, so
// that the start-up rebalance is over too.
//
// A second race the guard cannot close: the client's Shutdown closes a
// channel that a pull answered at that moment still sends its messages on.
// Only the test knows when no more messages will come, so the guard does
// not wait for that itself: once the test has stopped sending, call
// Server.WaitForCaughtUp, which returns when every pull of the group is
// held at the server with nothing to deliver, then shut down.
//
//	var guard rocketmqtest.ConsumerGuard
//	c, _ := rocketmq.NewPushConsumer(
//		consumer.WithNameServer(primitive.NamesrvAddr{s.Addr()}),
//		consumer.WithGroupName("G"),
//		consumer.WithStrategy(guard.Strategy(nil)),
//	)
//	…
//	defer guard.Shutdown(c)
//	…
//	s.WaitForCaughtUp(ctx, "G") // before the deferred Shutdown
//
// One guard may serve several consumers. The zero value is ready to use.
type ConsumerGuard struct {
	g consumerguard.Guard
}

// Strategy wraps an allocation strategy for consumer.WithStrategy so that
// the guard can synchronise with the rebalances that call it. A nil next
// means consumer.AllocateByAveragely, the client's default.
func (g *ConsumerGuard) Strategy(next consumer.AllocateStrategy) consumer.AllocateStrategy {
	return g.g.Strategy(next)
}

// Shutdown suspends the consumers, waits until none of their rebalances
// can be in flight, and shuts them down, returning their Shutdown errors
// joined. Every consumer must use the guard's Strategy.
func (g *ConsumerGuard) Shutdown(cs ...rocketmq.PushConsumer) error { return g.g.Shutdown(cs...) }
