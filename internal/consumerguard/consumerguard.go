// Package consumerguard shuts rocketmq-client-go push consumers down
// without racing the client's own rebalances: the one mechanism behind
// rocketmqtest.ConsumerGuard, for tests, and the gateway's Close.
//
// The client's Shutdown sets a plain bool that its rebalance goroutines
// read. A Guard's Strategy takes a lock that its Shutdown takes too, so
// every rebalance that reached its allocation happens before the
// Shutdown; and Shutdown first suspends the consumer, which makes it skip
// later rebalances.
//
// A rebalance that takes on new queues goes on after its allocation: it
// asks the broker where to start in each (an offset by timestamp, a
// committed offset), and those requests read the flag Shutdown writes. So
// Shutdown also waits, up to settleTime after the last allocation that
// took on a queue, for them to be done: a consumer closed within moments
// of starting (as tests do) would otherwise race them. The wait shrinks
// the window rather than closing it; the client offers no signal for the
// end of a rebalance.
package consumerguard

import (
	"slices"
	"sync"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// Guard orders a consumer's rebalances before its Shutdown. The zero value
// is ready to use; one Guard may serve several consumers.
type Guard struct {
	mu     sync.Mutex
	held   map[string][]string // queues allocated, by group and topic
	gained time.Time           // the last allocation that took on a queue
}

// settleTime is how long a rebalance that took on queues is given to ask
// the broker where to start in them.
const settleTime = time.Second

// Strategy wraps an allocation strategy for consumer.WithStrategy; a nil
// next means consumer.AllocateByAveragely, the client's default.
func (g *Guard) Strategy(next consumer.AllocateStrategy) consumer.AllocateStrategy {
	if next == nil {
		next = consumer.AllocateByAveragely
	}
	return func(group, clientID string, mqAll []*primitive.MessageQueue, cidAll []string) []*primitive.MessageQueue {
		g.mu.Lock()
		defer g.mu.Unlock()
		got := next(group, clientID, mqAll, cidAll)
		var names []string
		topic := ""
		for _, q := range got {
			names = append(names, q.String())
			topic = q.Topic
		}
		slices.Sort(names)
		if g.held == nil {
			g.held = map[string][]string{}
		}
		key := group + "\x00" + topic
		for _, n := range names {
			if _, ok := slices.BinarySearch(g.held[key], n); !ok {
				g.gained = time.Now()
				break
			}
		}
		g.held[key] = names
		return got
	}
}

// Shutdown suspends c, waits for any allocation in progress, and shuts c
// down, returning its Shutdown error. c must use the guard's Strategy.
func (g *Guard) Shutdown(c rocketmq.PushConsumer) error {
	c.Suspend()
	g.mu.Lock()
	wait := time.Until(g.gained.Add(settleTime))
	g.mu.Unlock() // it orders every allocation before the Shutdown
	if wait > 0 {
		time.Sleep(wait)
	}
	return c.Shutdown()
}
