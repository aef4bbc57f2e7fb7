package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// Health. A gateway is live while its process serves HTTP at all
// (HealthHandler), and ready for new connections (Ready, ReadyHandler)
// while all of these hold:
//
//   - it started, and is neither draining nor closed;
//   - its listeners are up;
//   - RocketMQ takes its sends: no send failed within sendHealthWindow
//     after the last one that succeeded;
//   - its router has been given its share of every parent topic (which
//     may be none, with more instances than queues), so that it takes part
//     in routing what backends send.
//
// Sends are judged by their outcomes rather than by a probe of their own,
// which RocketMQ's client cannot make without storing a message: a gateway
// whose sends fail turns unready with the first failure and ready again
// with the next success. An idle gateway has no news, and after the window
// counts as ready again; its devices' next publishes are the test, and
// with them RocketMQ's state is known again at once.

// readiness keeps what Ready judges from.
type readiness struct {
	mu          sync.Mutex
	lastSuccess time.Time
	lastFailure time.Time
	failure     error
	queues      map[string]int // queues the consumer holds, by parent topic
}

// sendHealthWindow is how long a failed send keeps the gateway unready
// when nothing succeeds after it: longer than one attempt, its backoff and
// the next attempt, so that a device retrying through an outage keeps it
// unready throughout.
func (g *Gateway) sendHealthWindow() time.Duration { return 2*g.cfg.SendTimeout + 2*time.Second }

// sendOutcome records the outcome of one send to RocketMQ.
func (r *readiness) sendOutcome(err error) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		r.lastSuccess = now
		return
	}
	r.lastFailure, r.failure = now, err
}

// allocated records the queues of one topic the consumer's rebalance gave
// this instance.
func (r *readiness) allocated(topic string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.queues == nil {
		r.queues = map[string]int{}
	}
	r.queues[topic] = n
}

// allocate is the consumer's allocation strategy: the client's own, with
// what it allocates recorded for Ready.
func (g *Gateway) allocate(group, clientID string, mqAll []*primitive.MessageQueue, cidAll []string) []*primitive.MessageQueue {
	mine := consumer.AllocateByAveragely(group, clientID, mqAll, cidAll)
	if len(mqAll) > 0 {
		g.ready.allocated(mqAll[0].Topic, len(mine))
	}
	return mine
}

// Errors Ready reports.
var (
	ErrNotStarted = errors.New("gateway: not started")
	ErrDraining   = errors.New("gateway: draining")
)

// Ready returns nil when the gateway is ready for new connections, and
// otherwise an error saying why not: ErrNotStarted, ErrDraining,
// ErrClosed, or what keeps RocketMQ from serving it.
func (g *Gateway) Ready() error {
	switch {
	case g.state.Load() == stateCreated:
		return ErrNotStarted
	case g.state.Load() == stateClosed:
		return ErrClosed
	case g.draining.Load():
		return ErrDraining
	case !g.up.Load():
		return ErrNotStarted // still starting
	}
	r := &g.ready
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lastFailure.After(r.lastSuccess) && time.Since(r.lastFailure) < g.sendHealthWindow() {
		return fmt.Errorf("gateway: RocketMQ is not taking sends: %w", r.failure)
	}
	// The router's consumer has had its first rebalance of every parent
	// topic. It may hold no queue of one: with more instances than queues
	// some route nothing, and serve their clients all the same.
	for _, t := range g.cfg.ParentTopics {
		if _, ok := r.queues[t]; !ok {
			return fmt.Errorf("gateway: the router has not been given its share of %s yet", t)
		}
	}
	return nil
}

// HealthHandler answers 200 "ok" to every request: the process serves.
// It is what a liveness probe (/healthz) asks.
func (g *Gateway) HealthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
}

// ReadyHandler answers 200 "ready" while Ready holds, and 503 with
// Ready's reason otherwise. It is what a readiness probe (/readyz) asks.
func (g *Gateway) ReadyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := g.Ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, err)
			return
		}
		fmt.Fprintln(w, "ready")
	})
}
