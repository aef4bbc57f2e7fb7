// Package consumerguard shuts rocketmq-client-go push consumers down
// without racing the client's own rebalances: the one mechanism behind
// rocketmqtest.ConsumerGuard, for tests, and the gateway's Close.
//
// The client's Shutdown sets a plain bool that its rebalance goroutines
// read. A Guard's Strategy takes a lock that its Shutdown takes too, so
// every rebalance that reached its allocation happens before the
// Shutdown; and Shutdown first suspends the consumer, which makes it skip
// later rebalances.
package consumerguard

import (
	"sync"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// Guard orders a consumer's rebalances before its Shutdown. The zero value
// is ready to use; one Guard may serve several consumers.
type Guard struct {
	mu sync.Mutex
}

// Strategy wraps an allocation strategy for consumer.WithStrategy; a nil
// next means consumer.AllocateByAveragely, the client's default.
func (g *Guard) Strategy(next consumer.AllocateStrategy) consumer.AllocateStrategy {
	if next == nil {
		next = consumer.AllocateByAveragely
	}
	return func(group, clientID string, mqAll []*primitive.MessageQueue, cidAll []string) []*primitive.MessageQueue {
		g.mu.Lock()
		defer g.mu.Unlock()
		return next(group, clientID, mqAll, cidAll)
	}
}

// Shutdown suspends c, waits for any allocation in progress, and shuts c
// down, returning its Shutdown error. c must use the guard's Strategy.
func (g *Guard) Shutdown(c rocketmq.PushConsumer) error {
	c.Suspend()
	g.mu.Lock()
	g.mu.Unlock() // empty on purpose: it orders every allocation before the Shutdown
	return c.Shutdown()
}
