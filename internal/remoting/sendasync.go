package remoting

import (
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// pipeDialTimeout bounds the dial of a pipe, and pipeRetryAfter is how
// long a lane waits before it dials again one that failed: a lane that
// cannot open one sends through Send meanwhile.
const (
	pipeDialTimeout = 2 * time.Second
	pipeRetryAfter  = 10 * time.Second
)

// SendAsync starts sending msgs, all to one topic, to the queue numbered
// pick as Send does, without waiting: it writes the request on the
// lane's connection to the queue's broker that the producer's Loops read,
// and done hears the outcome once, on one of those loops — nil once
// RocketMQ stored the messages; an error wrapping ErrRetry for an outcome
// Send would have tried again after (no answer within the producer's
// Timeout among them); a *Error for a refusal. It tries once: retrying
// is the caller's, with Send.
//
// SendAsync reports false, having sent nothing and without calling done,
// when it cannot start without waiting: the lane is not NewAsyncLane's or
// the producer has no Loops; the
// topic's route is not in the cache or is stale; the lane has no such
// connection to that broker yet (a successful Send opens one) or it
// failed or was idle too long; msgs is empty or names several topics.
// The lane is done's until done is called.
func (l *Lane) SendAsync(pick int, msgs []*primitive.Message, done func(SendResult, error)) bool {
	if l.pipes == nil || len(msgs) == 0 {
		return false
	}
	topic := msgs[0].Topic
	for _, m := range msgs[1:] {
		if m.Topic != topic {
			return false
		}
	}
	r := l.p.cachedRoute(topic)
	if r == nil {
		return false
	}
	q := r.queues[max(pick, 0)%len(r.queues)]
	pp := l.pipes[q.addr]
	if pp == nil {
		return false
	}
	now := time.Now()
	if pp.isDead() || now.Sub(pp.lastUsed) >= maxIdle {
		pp.close()
		delete(l.pipes, q.addr)
		return false
	}
	for _, m := range msgs {
		if m.GetProperty(primitive.PropertyUniqueClientMessageIdKeyIndex) == "" {
			m.WithProperty(primitive.PropertyUniqueClientMessageIdKeyIndex, l.p.ids.New())
		}
	}
	timeout := l.p.cfg.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	l.opaque++
	opaque := l.opaque
	// The frame is built in a buffer of the pool's, not the lane's: once
	// the send is recorded, the lane is done's, which may send again on
	// another goroutine (an event loop with the answer, or the lane's
	// user after a close) before Write returns here.
	bp := l.p.frames.Get().(*[]byte)
	frame := l.appendSend((*bp)[:0], opaque, q, msgs)
	pp.lastUsed = now
	// Recorded before the write: the answer may be read before Write
	// returns. From here on, only pp (under its lock) and what is local.
	if !pp.start(opaque, now.Add(timeout), q, sendCode(msgs), done) {
		l.p.putFrame(bp, frame)
		pp.close()
		delete(l.pipes, q.addr)
		return false
	}
	_, err := pp.c.Write(frame)
	l.p.putFrame(bp, frame)
	if err != nil {
		// The connection's close may have failed the send already, and
		// then done heard of it; the lane drops the dead pipe when it
		// next comes to it.
		return !pp.unstart(opaque)
	}
	return true
}

// putFrame returns a frame's buffer to the producer's pool, unless it
// grew past maxKeptBuffer (a batch near RocketMQ's limit).
func (p *Producer) putFrame(bp *[]byte, frame []byte) {
	if cap(frame) > maxKeptBuffer {
		return
	}
	*bp = frame[:0]
	p.frames.Put(bp)
}

// openPipe opens the lane's pipe to addr if the producer has Loops and
// the lane has none, unless one failed to open within pipeRetryAfter.
func (l *Lane) openPipe(addr string) {
	if l.pipes == nil {
		return
	}
	if pp := l.pipes[addr]; pp != nil && !pp.isDead() {
		return
	}
	if t, ok := l.tried[addr]; ok && time.Since(t) < pipeRetryAfter {
		return
	}
	pp, err := l.p.dialPipe(addr, pipeDialTimeout)
	if err != nil {
		l.tried[addr] = time.Now()
		return
	}
	delete(l.tried, addr)
	l.pipes[addr] = pp
}
