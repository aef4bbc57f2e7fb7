package remoting

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// ErrRetry marks an outcome of Lane.SendAsync that Send would have tried
// again after: the connection lost, no answer within the producer's
// Timeout, or an answer RocketMQ's clients retry on. RocketMQ may or may
// not have stored the messages.
var ErrRetry = errors.New("remoting: not settled, to be tried again")

// sweepEvery is how often the producer looks for sends on event loops
// that are past their deadline.
const sweepEvery = 100 * time.Millisecond

// pipe is a lane's connection to one broker whose answers an event loop
// reads (ProducerConfig.Loops): a send writes its request and returns, and the
// loop that reads the answer hands it on. One send is in flight at a time.
type pipe struct {
	addr     string
	c        io.WriteCloser
	p        *Producer
	lastUsed time.Time // the lane's
	in       []byte    // the loop's: a frame begun, not yet whole

	mu       sync.Mutex
	waiting  int32 // the opaque of the send in flight; 0 for none
	deadline time.Time
	q        brokerQueue
	code     int
	done     func(SendResult, error)
	dead     bool // closed, or closing
	expired  bool // closed for want of an answer by the deadline
}

// dialPipe dials addr within timeout and hands the connection to the
// producer's loops.
func (p *Producer) dialPipe(addr string, timeout time.Duration) (*pipe, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	pp := &pipe{addr: addr, p: p, lastUsed: time.Now()}
	c, err := p.cfg.Loops.Attach(nc, pp)
	if err != nil {
		return nil, err
	}
	pp.c = c
	p.addPipe(pp)
	return pp, nil
}

// start records the send about to be written; false if the pipe is dead.
func (pp *pipe) start(opaque int32, deadline time.Time, q brokerQueue, code int, done func(SendResult, error)) bool {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.dead {
		return false
	}
	pp.waiting, pp.deadline, pp.q, pp.code, pp.done = opaque, deadline, q, code, done
	return true
}

// unstart takes back the send opaque if nobody answered it yet, and
// reports whether it did.
func (pp *pipe) unstart(opaque int32) bool {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.waiting != opaque {
		return false
	}
	pp.waiting, pp.done = 0, nil
	return true
}

// isDead reports whether the pipe was closed.
func (pp *pipe) isDead() bool {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	return pp.dead
}

// Data reads the frames in b, and whatever began in earlier reads; a
// frame the protocol does not allow closes the connection.
func (pp *pipe) Data(b []byte) error {
	if len(pp.in) > 0 {
		pp.in = append(pp.in, b...)
		b = pp.in
	}
	for len(b) >= 4 {
		n := binary.BigEndian.Uint32(b)
		if n < 4 || n > maxFrame {
			return fmt.Errorf("remoting: frame of %d bytes from %s", n, pp.addr)
		}
		if uint32(len(b)-4) < n {
			break
		}
		cmd, err := decodeFrame(b[4 : 4+n])
		if err != nil {
			return fmt.Errorf("remoting: from %s: %w", pp.addr, err)
		}
		cmd.Body = nil // b is the loop's; a send's answer has no body to read
		b = b[4+n:]
		pp.answer(cmd)
	}
	switch {
	case len(b) == 0:
		pp.in = pp.in[:0]
		if cap(pp.in) > maxKeptBuffer {
			pp.in = nil
		}
	case len(pp.in) > 0: // b is pp.in's tail
		pp.in = pp.in[:copy(pp.in, b)]
	default:
		pp.in = append(pp.in, b...)
	}
	return nil
}

// answer hands cmd to the send in flight if it is that send's answer. A
// request from the broker, or the late answer of a send given up on, is
// not.
func (pp *pipe) answer(cmd *Command) {
	if cmd.Flag&responseFlag == 0 {
		return
	}
	pp.mu.Lock()
	if pp.waiting == 0 || cmd.Opaque != pp.waiting {
		pp.mu.Unlock()
		return
	}
	done, q, code := pp.done, pp.q, pp.code
	pp.waiting, pp.done = 0, nil
	pp.mu.Unlock()
	done(sendOutcome(cmd, q, code))
}

// Closed fails the send in flight, as one to try again.
func (pp *pipe) Closed(err error) {
	pp.p.removePipe(pp)
	pp.mu.Lock()
	done := pp.done
	pp.dead, pp.waiting, pp.done = true, 0, nil
	if pp.expired {
		err = os.ErrDeadlineExceeded
	}
	pp.mu.Unlock()
	if done == nil {
		return
	}
	if err == nil {
		err = ErrClosed
	}
	done(SendResult{}, fmt.Errorf("remoting: send to %s: %w: %w", pp.addr, err, ErrRetry))
}

// expire closes the pipe if its send in flight is past its deadline.
func (pp *pipe) expire(now time.Time) {
	pp.mu.Lock()
	late := pp.waiting != 0 && !pp.expired && now.After(pp.deadline)
	if late {
		pp.expired = true
	}
	pp.mu.Unlock()
	if late {
		pp.c.Close() // Closed fails the send
	}
}

// close closes the pipe; a send in flight fails.
func (pp *pipe) close() {
	pp.mu.Lock()
	pp.dead = true
	pp.mu.Unlock()
	pp.c.Close()
}

// sendOutcome reads a send's answer as Send does: stored, to be tried
// again (an answer RocketMQ's clients retry on), or refused.
func sendOutcome(resp *Command, q brokerQueue, code int) (SendResult, error) {
	switch resp.Code {
	case respSuccess:
		return SendResult{Broker: q.broker, Queue: q.id, Offset: queueOffset(resp)}, nil
	case respTopicNotExist, respServiceNotAvailable, respSystemError, respNoPermission:
		return SendResult{}, fmt.Errorf("%w: %w", &Error{q.addr, code, resp.Code, resp.Remark}, ErrRetry)
	}
	return SendResult{}, &Error{q.addr, code, resp.Code, resp.Remark}
}

// addPipe has the producer's sweeper watch pp, and starts the sweeper
// with the first pipe.
func (p *Producer) addPipe(pp *pipe) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pipes == nil {
		p.pipes = map[*pipe]struct{}{}
		p.sweeping = make(chan struct{})
		p.swept.Add(1)
		go p.sweep(p.sweeping)
	}
	p.pipes[pp] = struct{}{}
}

func (p *Producer) removePipe(pp *pipe) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.pipes, pp)
}

// sweep closes, every sweepEvery until quit, the pipes whose send in
// flight is past its deadline.
func (p *Producer) sweep(quit chan struct{}) {
	defer p.swept.Done()
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	var pipes []*pipe
	for {
		select {
		case <-quit:
			return
		case now := <-t.C:
			p.mu.Lock()
			pipes = pipes[:0]
			for pp := range p.pipes {
				pipes = append(pipes, pp)
			}
			p.mu.Unlock()
			for _, pp := range pipes {
				pp.expire(now) // not under p.mu: Closed takes it
			}
			clear(pipes)
		}
	}
}
