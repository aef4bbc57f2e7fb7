package gateway

import (
	"context"
	"sync"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq/internal/remoting"
)

// maxSpareLanes is how many lanes the pool keeps for the next send; more
// are closed when returned.
const maxSpareLanes = 8

// lanePool lends remoting lanes to the sends that wait for their answer
// and are not a device's message — the router's copies, the directory's
// records, revocations and their markers — which come from several
// goroutines at once; a lane serves one at a time.
type lanePool struct {
	p      *remoting.Producer
	mu     sync.Mutex
	idle   []*remoting.Lane
	closed bool
}

func (lp *lanePool) get() *remoting.Lane {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	if n := len(lp.idle); n > 0 {
		l := lp.idle[n-1]
		lp.idle = lp.idle[:n-1]
		return l
	}
	return lp.p.NewLane()
}

func (lp *lanePool) put(l *remoting.Lane) {
	lp.mu.Lock()
	if lp.closed || len(lp.idle) >= maxSpareLanes {
		lp.mu.Unlock()
		l.Close()
		return
	}
	lp.idle = append(lp.idle, l)
	lp.mu.Unlock()
}

// close closes the idle lanes, and those returned from now on.
func (lp *lanePool) close() {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	lp.closed = true
	for _, l := range lp.idle {
		l.Close()
	}
	lp.idle = nil
}

// sendSync sends m alone to its topic's queue numbered pick (modulo how
// many there are), within Config.SendTimeout, and returns where RocketMQ
// stored it. The same pick goes to the same queue while the topic's
// route stays as it is, as with the sender's lanes.
func (g *Gateway) sendSync(ctx context.Context, pick int, m *primitive.Message) (remoting.SendResult, error) {
	l := g.spare.get()
	defer g.spare.put(l)
	return l.Send(ctx, pick, m)
}
