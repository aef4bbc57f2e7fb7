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

// pipe is the producer's connection to one broker whose answers an event
// loop reads (ProducerConfig.Loops), shared by its async lanes: a send
// writes its request (or, corked, adds it to the requests to write
// together) and returns, and the loop that reads the answer hands it to
// the send it answers, found by its opaque. One connection a broker
// rather than one a lane: requests sent together go out in one write,
// and their answers, which the broker writes together, come back in one
// read.
type pipe struct {
	addr string
	c    io.WriteCloser
	p    *Producer
	in   []byte  // the loop's: a frame begun, not yet whole
	ans  Command // the loop's: the answer being handed on

	wmu sync.Mutex // held while writing to c, so frames never interleave

	mu       sync.Mutex
	lastUsed time.Time
	flights  map[int32]flight // the sends in flight, by opaque
	pending  []byte           // corked requests, to write at Uncork
	spare    []byte           // pending's other buffer
	dirty    bool             // listed in the producer's dirty pipes
	dead     bool             // closed, or closing
	expired  bool             // closed for want of an answer by the deadline
}

// flight is one send in flight on a pipe.
type flight struct {
	lane     *Lane
	deadline time.Time
	q        brokerQueue
	code     int
	done     func(SendResult, error)
}

// dialPipe dials addr within timeout and hands the connection to the
// producer's loops.
func (p *Producer) dialPipe(addr string, timeout time.Duration) (*pipe, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	pp := &pipe{addr: addr, p: p, lastUsed: time.Now(), flights: map[int32]flight{}}
	c, err := p.cfg.Loops.Attach(nc, pp)
	if err != nil {
		return nil, err
	}
	pp.c = c
	return pp, nil
}

// start records the send about to be written, and adds frame to the
// pending requests if corked; false if the pipe is dead. p.corkMu is
// held.
func (pp *pipe) start(opaque int32, f flight, now time.Time, corked bool, frame []byte) bool {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.dead {
		return false
	}
	pp.flights[opaque] = f
	pp.lastUsed = now
	if corked {
		pp.pending = append(pp.pending, frame...)
		if !pp.dirty {
			pp.dirty = true
			pp.p.dirty = append(pp.p.dirty, pp)
		}
	}
	return true
}

// unstart takes back the send opaque if nobody answered it yet, and
// reports whether it did.
func (pp *pipe) unstart(opaque int32) bool {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if _, ok := pp.flights[opaque]; !ok {
		return false
	}
	delete(pp.flights, opaque)
	return true
}

// usable reports whether the pipe is open and was used within maxIdle.
func (pp *pipe) usable(now time.Time) bool {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	return !pp.dead && now.Sub(pp.lastUsed) < maxIdle
}

// isDead reports whether the pipe was closed, or is closing.
func (pp *pipe) isDead() bool {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	return pp.dead
}

// write writes frame, and closes the pipe if it cannot.
func (pp *pipe) write(frame []byte) error {
	pp.wmu.Lock()
	_, err := pp.c.Write(frame)
	pp.wmu.Unlock()
	if err != nil {
		pp.close()
	}
	return err
}

// flush writes the pending requests in one write; a failed write closes
// the pipe, which fails their sends.
func (pp *pipe) flush() {
	pp.wmu.Lock()
	defer pp.wmu.Unlock()
	pp.mu.Lock()
	b := pp.pending
	pp.pending, pp.spare, pp.dirty = pp.spare[:0], nil, false
	pp.mu.Unlock()
	if len(b) == 0 {
		return
	}
	_, err := pp.c.Write(b)
	pp.mu.Lock()
	if cap(b) <= maxKeptBuffer {
		pp.spare = b[:0]
	}
	pp.mu.Unlock()
	if err != nil {
		pp.close()
	}
}

// Data reads the frames in b, and whatever began in earlier reads; a
// frame the protocol does not allow closes the connection. The producer
// is corked while the answers are handed on, so that the sends they
// start (the senders' next batches) go out in one write.
func (pp *pipe) Data(b []byte) error {
	pp.p.Cork()
	defer pp.p.Uncork()
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
		if err := decodeFrameInto(b[4:4+n], &pp.ans); err != nil {
			return fmt.Errorf("remoting: from %s: %w", pp.addr, err)
		}
		pp.ans.Body = nil // b is the loop's; a send's answer has no body to read
		b = b[4+n:]
		pp.answer(&pp.ans)
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

// answer hands cmd to the send in flight it answers. A request from the
// broker, or the late answer of a send given up on, answers none. cmd is
// the pipe's, read into again for the next answer: what the send hears is
// what sendOutcome copied out of it.
func (pp *pipe) answer(cmd *Command) {
	if cmd.Flag&responseFlag == 0 {
		return
	}
	pp.mu.Lock()
	f, ok := pp.flights[cmd.Opaque]
	delete(pp.flights, cmd.Opaque)
	pp.mu.Unlock()
	if ok {
		f.done(sendOutcome(cmd, f.q, f.code))
	}
}

// Closed fails the sends in flight, as ones to try again.
func (pp *pipe) Closed(err error) {
	pp.p.removePipe(pp)
	pp.mu.Lock()
	flights := pp.flights
	pp.dead, pp.flights = true, map[int32]flight{}
	if pp.expired {
		err = os.ErrDeadlineExceeded
	}
	pp.mu.Unlock()
	if err == nil {
		err = ErrClosed
	}
	for _, f := range flights {
		f.done(SendResult{}, fmt.Errorf("remoting: send to %s: %w: %w", pp.addr, err, ErrRetry))
	}
}

// failLane fails the sends of l in flight, as ones to try again: l was
// closed, and their answers will answer nobody.
func (pp *pipe) failLane(l *Lane) {
	var failed []flight
	pp.mu.Lock()
	for o, f := range pp.flights {
		if f.lane == l {
			failed = append(failed, f)
			delete(pp.flights, o)
		}
	}
	pp.mu.Unlock()
	for _, f := range failed {
		f.done(SendResult{}, fmt.Errorf("remoting: send to %s: %w: %w", pp.addr, ErrClosed, ErrRetry))
	}
}

// expire closes the pipe if a send in flight on it is past its deadline;
// Closed then fails every send on it.
func (pp *pipe) expire(now time.Time) {
	pp.mu.Lock()
	late := false
	if !pp.expired {
		for _, f := range pp.flights {
			if now.After(f.deadline) {
				late = true
				break
			}
		}
	}
	if late {
		pp.expired, pp.dead = true, true
	}
	pp.mu.Unlock()
	if late {
		pp.c.Close() // Closed fails the sends
	}
}

// close closes the pipe; the sends in flight fail.
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

// pipeTo returns the producer's pipe to addr, nil if it has none.
func (p *Producer) pipeTo(addr string) *pipe {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pipes[addr]
}

// dropPipe closes pp and forgets it, if it is still the producer's pipe
// to its broker.
func (p *Producer) dropPipe(pp *pipe) {
	pp.close()
	p.removePipe(pp)
}

// openPipe opens the producer's pipe to addr if it has Loops and none,
// unless one failed to open within pipeRetryAfter or another lane is
// opening one.
func (p *Producer) openPipe(addr string) {
	p.mu.Lock()
	if pp := p.pipes[addr]; p.cfg.Loops == nil || p.closed || p.dialing[addr] || pp != nil && !pp.isDead() {
		p.mu.Unlock()
		return
	}
	if t, ok := p.tried[addr]; ok && time.Since(t) < pipeRetryAfter {
		p.mu.Unlock()
		return
	}
	p.dialing[addr] = true
	p.mu.Unlock()

	pp, err := p.dialPipe(addr, pipeDialTimeout)

	p.mu.Lock()
	delete(p.dialing, addr)
	if err != nil {
		p.tried[addr] = time.Now()
		p.mu.Unlock()
		return
	}
	delete(p.tried, addr)
	if p.closed {
		p.mu.Unlock()
		pp.close()
		return
	}
	p.pipes[addr] = pp
	if p.sweeping == nil {
		p.sweeping = make(chan struct{})
		p.swept.Add(1)
		go p.sweep(p.sweeping)
	}
	p.mu.Unlock()
}

// removePipe forgets pp, if it is the producer's pipe to its broker.
func (p *Producer) removePipe(pp *pipe) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pipes[pp.addr] == pp {
		delete(p.pipes, pp.addr)
	}
}

// allPipes returns the producer's pipes.
func (p *Producer) allPipes() []*pipe {
	p.mu.Lock()
	defer p.mu.Unlock()
	pipes := make([]*pipe, 0, len(p.pipes))
	for _, pp := range p.pipes {
		pipes = append(pipes, pp)
	}
	return pipes
}

// sweep closes, every sweepEvery until quit, the pipes with a send in
// flight past its deadline.
func (p *Producer) sweep(quit chan struct{}) {
	defer p.swept.Done()
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-quit:
			return
		case now := <-t.C:
			for _, pp := range p.allPipes() {
				pp.expire(now) // not under p.mu: Closed takes it
			}
		}
	}
}
