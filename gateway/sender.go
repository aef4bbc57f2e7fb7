package gateway

import (
	"context"
	"errors"
	"hash/fnv"
	"slices"
	"sync"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq/internal/remoting"
)

// sender sends uplink messages to RocketMQ in batches, without delaying
// any of them: each lane sends what it has as soon as its previous send
// returns, so under load the messages that arrived meanwhile go out
// together as one batch (one round trip, one request for the broker),
// and alone a message goes out at once.
//
// Each client's messages go through one lane, chosen by a hash of its
// client ID, and each lane sends to one queue, so a client's messages keep
// their order in RocketMQ. A lane sends through a remoting.Lane of its
// own — one write a request, its answer read by the lane itself — rather
// than through rocketmq-client-go's producer, whose send writes each
// request in four writes and hands the answer over from a reader
// goroutine: on this path, taken by every device message, that was half
// of the gateway's CPU time. Queuing never blocks: the MQTT core calls it
// from its event loops. What is queued is bounded by the clients' receive
// maximum for QoS 1 and 2; QoS 0 messages past maxLaneBacklog are dropped
// and counted.
type sender struct {
	producer *remoting.Producer
	lanes    [numLanes]lane
	quit     chan struct{}
	wg       sync.WaitGroup
}

// lane is one queue of requests and the goroutine that sends them.
type lane struct {
	mu     sync.Mutex
	queue  []*sendRequest
	closed bool
	wake   chan struct{} // a request arrived
}

const (
	// numLanes bounds how many batches are in flight at once.
	numLanes = 8
	// maxBatch and maxBatchBytes keep a batch of several messages well
	// under RocketMQ's 4 MB message limit.
	maxBatch      = 64
	maxBatchBytes = 1 << 20
	// maxLaneBacklog is how many requests a lane holds before it refuses
	// those nobody waits for.
	maxLaneBacklog = 100_000
)

// errSenderClosed answers a send asked of a closed sender.
var errSenderClosed = errors.New("gateway: closed")

// errBacklog answers a QoS 0 send that found its lane full.
var errBacklog = errors.New("gateway: RocketMQ send backlog full")

type sendRequest struct {
	msg  *primitive.Message
	more []*primitive.Message // routed copies, sent after msg
	// stored, if not nil, hears that RocketMQ took msg, before more is
	// sent: what must hold before anyone can have a copy (a retained
	// message kept here) is done there, not in report.
	stored func()
	report func(error) // hears whether RocketMQ took msg and more
	acks   ackHolder   // the client report acknowledges to, or nil
}

// ackHolder is a client whose acknowledgements can wait while several of
// its publishes are answered, to go out in one write (broker.Client).
type ackHolder interface {
	HoldAcks()
	ReleaseAcks()
}

// alone reports whether a request must be sent by itself: the broker
// dispatches a message to the queues it lists (the routed copies', and
// an Apache-dialect message's own) only when it is sent alone, not in a
// batch.
func (r *sendRequest) alone() bool {
	return len(r.more) > 0 || r.msg.GetProperty(propDispatch) != ""
}

// newSender makes a sender whose lanes queue requests; start sets them
// sending through p.
func newSender(p *remoting.Producer) *sender {
	s := &sender{producer: p, quit: make(chan struct{})}
	for i := range s.lanes {
		s.lanes[i].wake = make(chan struct{}, 1)
	}
	return s
}

func (s *sender) start() *sender {
	for i := range s.lanes {
		s.wg.Add(1)
		go s.run(i)
	}
	return s
}

// laneOf picks the lane of a client, and so the queue its messages go to.
func laneOf(clientID string) int {
	h := fnv.New32a()
	h.Write([]byte(clientID))
	return int(h.Sum32() % numLanes)
}

// sendAndForget queues msg, and the routed copies more to send after it,
// for a client; report hears the outcome, from the lane's goroutine (or
// at once, for a closed sender or a full lane), and stored, if not nil,
// hears from there that RocketMQ took msg, before its copies are sent.
// acks, if not nil, is the client report acknowledges to: the lane holds
// its acknowledgements while it reports a whole batch.
func (s *sender) sendAndForget(clientID string, msg *primitive.Message, more []*primitive.Message, acks ackHolder, stored func(), report func(error)) {
	l := &s.lanes[laneOf(clientID)]
	l.mu.Lock()
	if l.closed || len(l.queue) >= maxLaneBacklog {
		closed := l.closed
		l.mu.Unlock()
		if closed {
			report(errSenderClosed)
		} else {
			report(errBacklog)
		}
		return
	}
	l.queue = append(l.queue, &sendRequest{msg: msg, more: more, stored: stored, report: report, acks: acks})
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// run is one lane: it takes what has queued up, and sends it.
func (s *sender) run(i int) {
	defer s.wg.Done()
	l := &s.lanes[i]
	out := s.producer.NewLane()
	defer out.Close()
	var batch []*sendRequest
	for {
		l.mu.Lock()
		n, size := 0, 0
		for n < len(l.queue) && n < maxBatch {
			b := len(l.queue[n].msg.Body)
			if n > 0 && (size+b > maxBatchBytes || l.queue[n].alone()) {
				break // a batch over RocketMQ's limit would fail whole
			}
			if l.queue[n].alone() {
				n++
				break
			}
			size += b
			n++
		}
		batch = append(batch[:0], l.queue[:n]...)
		clear(l.queue[:n])
		l.queue = l.queue[n:]
		if len(l.queue) == 0 {
			l.queue = nil
		}
		l.mu.Unlock()
		if n == 0 {
			select {
			case <-l.wake:
				continue
			case <-s.quit:
				s.drain(l)
				return
			}
		}
		s.sendBatch(out, i, batch)
	}
}

// drain answers what a closing sender still holds.
func (s *sender) drain(l *lane) {
	l.mu.Lock()
	q := l.queue
	l.queue, l.closed = nil, true
	l.mu.Unlock()
	for _, r := range q {
		r.report(errSenderClosed)
	}
}

// sendBatch sends the messages of one topic together, topic by topic in
// the order they came, through out to its topic's queue numbered queue,
// and answers every request.
func (s *sender) sendBatch(out *remoting.Lane, queue int, batch []*sendRequest) {
	for len(batch) > 0 {
		n := 1
		for n < len(batch) && batch[n].msg.Topic == batch[0].msg.Topic {
			n++
		}
		msgs := make([]*primitive.Message, n)
		for i, r := range batch[:n] {
			msgs[i] = r.msg
		}
		err := s.send(out, queue, msgs...)
		if err == nil {
			for _, r := range batch[:n] {
				if r.stored != nil {
					r.stored()
				}
			}
		}
		if n == 1 {
			for _, m := range batch[0].more {
				if err != nil {
					break
				}
				err = s.send(out, queue, m)
			}
		}
		reportAll(batch[:n], err)
		batch = batch[n:]
	}
}

// reportAll answers every request of a batch RocketMQ took or refused as
// one: each client's acknowledgements are held until all are answered, so
// that a client with several publishes in the batch gets their
// acknowledgements in one write.
func reportAll(batch []*sendRequest, err error) {
	if len(batch) == 1 {
		batch[0].report(err)
		return
	}
	held := make([]ackHolder, 0, len(batch))
	for _, r := range batch {
		if r.acks != nil && !slices.Contains(held, r.acks) {
			r.acks.HoldAcks()
			held = append(held, r.acks)
		}
	}
	for _, r := range batch {
		r.report(err)
	}
	for _, h := range held {
		h.ReleaseAcks()
	}
}

// send sends one message, or a batch of messages to one topic, within
// the producer's timeout.
func (s *sender) send(out *remoting.Lane, queue int, msgs ...*primitive.Message) error {
	_, err := out.Send(context.Background(), queue, msgs...)
	return err
}

// close stops the lanes; requests still queued are answered as closed.
func (s *sender) close() {
	close(s.quit)
	s.wg.Wait()
}
