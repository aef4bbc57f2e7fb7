package gateway

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// sender sends uplink messages to RocketMQ in batches, without delaying
// any of them: each lane sends what it has as soon as its previous send
// returns, so under load the messages that arrived meanwhile go out
// together as one batch (one round trip, one request for the broker),
// and alone a message goes out at once.
//
// Each client's messages go through one lane, chosen by a hash of its
// client ID, and each lane sends to one queue, so a client's messages keep
// their order in RocketMQ.
type sender struct {
	producer rocketmq.Producer
	timeout  time.Duration
	lanes    [numLanes]chan *sendRequest
	quit     chan struct{}
	wg       sync.WaitGroup
}

const (
	// numLanes bounds how many batches are in flight at once.
	numLanes = 8
	// maxBatch and maxBatchBytes keep a batch of several messages well
	// under RocketMQ's 4 MB message limit.
	maxBatch      = 64
	maxBatchBytes = 1 << 20
)

// errSenderClosed answers a send asked of a closed sender.
var errSenderClosed = errors.New("gateway: closed")

type sendRequest struct {
	msg    *primitive.Message
	report func(error) // hears whether RocketMQ took msg
}

// newSender makes a sender whose lanes queue requests; start sets them
// sending.
func newSender(p rocketmq.Producer, timeout time.Duration) *sender {
	s := &sender{producer: p, timeout: timeout, quit: make(chan struct{})}
	for i := range s.lanes {
		s.lanes[i] = make(chan *sendRequest, maxBatch)
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

// send sends msg for a client and waits until RocketMQ took it or refused.
func (s *sender) send(clientID string, msg *primitive.Message) error {
	done := make(chan error, 1)
	if err := s.enqueue(clientID, &sendRequest{msg: msg, report: func(err error) { done <- err }}); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-s.quit:
		return errSenderClosed
	}
}

// sendAndForget sends msg for a client without waiting; report hears the
// outcome, unless the sender closes first.
func (s *sender) sendAndForget(clientID string, msg *primitive.Message, report func(error)) error {
	return s.enqueue(clientID, &sendRequest{msg: msg, report: report})
}

func (s *sender) enqueue(clientID string, r *sendRequest) error {
	lane := laneOf(clientID)
	r.msg.Queue = &primitive.MessageQueue{QueueId: lane} // read by laneSelector
	select {
	case s.lanes[lane] <- r:
		return nil
	case <-s.quit:
		return errSenderClosed
	}
}

// run is one lane: it takes what has queued up, and sends it.
func (s *sender) run(lane int) {
	defer s.wg.Done()
	var batch []*sendRequest
	var next *sendRequest // taken from the lane, but too big for the batch before
	for {
		if next == nil {
			select {
			case next = <-s.lanes[lane]:
			case <-s.quit:
				return
			}
		}
		batch = append(batch[:0], next)
		size := len(next.msg.Body)
		next = nil
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-s.lanes[lane]:
				if size+len(r.msg.Body) > maxBatchBytes {
					next = r // a batch over RocketMQ's limit would fail whole
					break more
				}
				batch = append(batch, r)
				size += len(r.msg.Body)
			default:
				break more
			}
		}
		s.sendBatch(batch)
	}
}

// sendBatch sends the messages of one topic together, topic by topic in
// the order they came, and answers every request.
func (s *sender) sendBatch(batch []*sendRequest) {
	for len(batch) > 0 {
		n := 1
		for n < len(batch) && batch[n].msg.Topic == batch[0].msg.Topic {
			n++
		}
		msgs := make([]*primitive.Message, n)
		for i, r := range batch[:n] {
			msgs[i] = r.msg
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		res, err := s.producer.SendSync(ctx, msgs...)
		cancel()
		if err == nil && res.Status != primitive.SendOK {
			err = fmt.Errorf("RocketMQ send status %d", res.Status)
		}
		for _, r := range batch[:n] {
			r.report(err)
		}
		batch = batch[n:]
	}
}

// close stops the lanes; requests still queued are answered as closed by
// send's wait.
func (s *sender) close() {
	close(s.quit)
	s.wg.Wait()
}

// laneSelector sends a message (or a batch, which carries its first
// message's marker) to the queue its lane maps to.
type laneSelector struct{}

func (laneSelector) Select(msg *primitive.Message, mqs []*primitive.MessageQueue, _ string) *primitive.MessageQueue {
	lane := 0
	if msg.Queue != nil {
		lane = msg.Queue.QueueId
	}
	return mqs[lane%len(mqs)]
}
