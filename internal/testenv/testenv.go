// Package testenv holds what the project's tests share about their
// environment: which goroutines of the RocketMQ client library outlive it.
package testenv

import "go.uber.org/goleak"

// ClientGoroutines lists goroutines of rocketmq-client-go that outlive a
// client's Shutdown: its background loops sleep (10 s, or a consumer's
// 15-minute ConsumeTimeout) before they first look at the shutdown signal,
// and a pull in flight waits out its 30 s timeout. They belong to the client
// library, not to this project, so goleak checks ignore them.
func ClientGoroutines() []goleak.Option {
	const client = "github.com/apache/rocketmq-client-go/v2/"
	return []goleak.Option{
		goleak.IgnoreAnyFunction(client + "primitive.WithRecover"),
		goleak.IgnoreAnyFunction(client + "consumer.(*pushConsumer).pullMessage"),
		goleak.IgnoreAnyFunction(client + "consumer.(*defaultPullConsumer).pullMessage"),
		goleak.IgnoreAnyFunction(client + "internal/remote.(*ResponseFuture).waitResponse"),
		// A consumer's start-up rebalance can still wait for the client's
		// lock when the consumer is shut down.
		goleak.IgnoreAnyFunction(client + "internal.(*rmqClient).RebalanceImmediately"),
		// The client's process-wide cache runs a janitor for good.
		goleak.IgnoreTopFunction("github.com/patrickmn/go-cache.(*janitor).Run"),
	}
}
