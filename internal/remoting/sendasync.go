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
// producer's connection to the queue's broker that its Loops read (or,
// while the producer is corked, adds it to the requests written together
// at Uncork), and done hears the outcome once, on one of those loops —
// nil once RocketMQ stored the messages; an error wrapping ErrRetry for an
// outcome Send would have tried again after (no answer within the
// producer's Timeout among them, and the lane closed first); a *Error for
// a refusal. It tries once: retrying is the caller's, with Send.
//
// SendAsync reports false, having sent nothing and without calling done,
// when it cannot start without waiting: the lane is not NewAsyncLane's or
// the producer has no Loops; the topic's route is not in the cache or is
// stale; the producer has no such connection to that broker yet (a
// successful Send opens one) or it failed or was idle too long; msgs is
// empty or names several topics. The lane is done's until done is
// called.
func (l *Lane) SendAsync(pick int, msgs []*primitive.Message, done func(SendResult, error)) bool {
	if !l.async || len(msgs) == 0 {
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
	pp := l.p.pipeTo(q.addr)
	if pp == nil {
		return false
	}
	now := time.Now()
	if !pp.usable(now) {
		l.p.dropPipe(pp)
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
	opaque := l.p.nextOpaque()
	// The frame is built in a buffer of the pool's, not the lane's: once
	// the send is recorded, the lane is done's, which may send again on
	// another goroutine (an event loop with the answer, or the lane's
	// user after a close) before Write returns here.
	bp := l.p.frames.Get().(*[]byte)
	frame := l.appendSend((*bp)[:0], opaque, q, msgs)
	// Recorded before the write: the answer may be read before Write
	// returns. From here on, only pp (under its lock) and what is local.
	f := flight{lane: l, deadline: now.Add(timeout), q: q, code: sendCode(msgs), done: done}
	l.p.corkMu.Lock()
	corked := l.p.corked > 0
	started := pp.start(opaque, f, now, corked, frame)
	l.p.corkMu.Unlock()
	if !started {
		l.p.putFrame(bp, frame)
		l.p.dropPipe(pp)
		return false
	}
	if corked {
		l.p.putFrame(bp, frame)
		return true // written at Uncork; a failed write fails the send
	}
	err := pp.write(frame)
	l.p.putFrame(bp, frame)
	if err != nil {
		// The connection's close may have failed the send already, and
		// then done heard of it.
		return !pp.unstart(opaque)
	}
	return true
}

// Cork holds SendAsync's writes until as many calls of Uncork: meanwhile
// each request is added to its connection's pending requests, and the
// last Uncork writes each connection's in one write. A caller about to
// start several sends (the gateway's lanes, sending together) corks the
// producer first, and the loops reading answers cork it while they hand
// them on, so that the sends the answers start go out together.
func (p *Producer) Cork() {
	p.corkMu.Lock()
	p.corked++
	p.corkMu.Unlock()
}

// Uncork undoes a Cork; the last one writes what the corks held. An
// Uncork with no Cork to undo does nothing: were the count to go below
// zero, the next Cork would hold nothing back, and the one after would
// hold requests that no Uncork writes.
func (p *Producer) Uncork() {
	p.corkMu.Lock()
	if p.corked == 0 {
		p.corkMu.Unlock()
		return
	}
	p.corked--
	var dirty []*pipe
	if p.corked == 0 && len(p.dirty) > 0 {
		// The spare list is handed out once, so that no two Uncorks
		// share one.
		dirty = p.dirty
		p.dirty, p.spareDirty = p.spareDirty[:0], nil
	}
	p.corkMu.Unlock()
	for _, pp := range dirty {
		pp.flush()
	}
	if dirty != nil {
		clear(dirty)
		p.corkMu.Lock()
		p.spareDirty = dirty[:0]
		p.corkMu.Unlock()
	}
}

// nextOpaque numbers a request on the producer's pipes, never 0.
func (p *Producer) nextOpaque() int32 {
	for {
		if o := p.opaques.Add(1); o != 0 {
			return o
		}
	}
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
