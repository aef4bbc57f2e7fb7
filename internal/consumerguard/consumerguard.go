// Package consumerguard shuts rocketmq-client-go push consumers down
// without racing the client's own rebalances: the one mechanism behind
// rocketmqtest.ConsumerGuard, for tests, and the gateway's Close.
//
// The client's Shutdown sets a plain bool that its rebalance goroutines
// read before every request they make. A rebalance runs through every
// topic a consumer subscribes to: it asks the broker for the group's
// members, calls the allocation strategy, and then, for each queue it
// takes on, asks the broker where to start; the client offers no signal
// for its end. So a Guard watches the one step it can see, the
// allocation, through its Strategy, and Shutdown:
//
//  1. suspends the consumers, which makes every later rebalance skip;
//  2. waits until no rebalance can still be in flight: grace after the
//     suspension (one that passed its pause check just before reaches an
//     allocation within it), grace after the last allocation of any kind
//     (one in flight moves on to its next topic within it), and settleTime
//     after the last allocation that took on a queue (its requests for
//     where to start are done within it). An allocation seen while
//     waiting starts the wait again;
//  3. shuts them down.
//
// The lock Strategy and Shutdown share orders every allocation before the
// shutdown. The waits are bounds on requests to a broker, not proofs:
// they shrink the window the client leaves open to what a request slower
// than them could still hit.
package consumerguard

import (
	"errors"
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
	last   time.Time           // the last allocation
	gained time.Time           // the last allocation that took on a queue
}

const (
	// grace bounds how long a rebalance in flight takes from one
	// allocation, or from its pause check, to the next allocation: one
	// request to the broker for the group's members.
	grace = 250 * time.Millisecond
	// settleTime bounds how long a rebalance that took on queues takes to
	// ask the broker where to start in them.
	settleTime = time.Second
)

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
		g.last = time.Now()
		key := group + "\x00" + topic
		for _, n := range names {
			if _, ok := slices.BinarySearch(g.held[key], n); !ok {
				g.gained = g.last
				break
			}
		}
		g.held[key] = names
		return got
	}
}

// Shutdown suspends the consumers, waits until none of their rebalances
// can be in flight, and shuts them down, returning their Shutdown errors
// joined. Every consumer must use the guard's Strategy. Shutting several
// down in one call waits once for all of them.
func (g *Guard) Shutdown(cs ...rocketmq.PushConsumer) error {
	for _, c := range cs {
		c.Suspend()
	}
	suspended := time.Now()
	for {
		g.mu.Lock()
		until := latest(suspended.Add(grace), g.last.Add(grace), g.gained.Add(settleTime))
		g.mu.Unlock() // it orders every allocation so far before the Shutdown
		wait := time.Until(until)
		if wait <= 0 {
			break
		}
		time.Sleep(wait)
	}
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.Shutdown())
	}
	return errors.Join(errs...)
}

func latest(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}
