package gateway

import (
	"context"
	"errors"
	"hash/fnv"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq/internal/remoting"
)

// sender sends uplink messages to RocketMQ in batches, without delaying
// any of them: each lane sends what it has as soon as its previous send
// is answered, so under load the messages that arrived meanwhile go out
// together as one batch (one round trip, one request for the broker),
// and alone a message goes out at once.
//
// Each client's messages go through one lane, chosen by a hash of its
// client ID, and each lane sends to one queue, one batch at a time, so a
// client's messages keep their order in RocketMQ. A lane sends through a
// remoting.Lane of its own rather than through rocketmq-client-go's
// producer, whose send writes each request in four writes and hands the
// answer over from a reader goroutine: on this path, taken by every
// device message, that was half of the gateway's CPU time.
//
// Once a lane has sent to a broker, its next batches go out without any
// goroutine of the lane's: whoever queues a message on an idle lane (an
// event loop of the MQTT core, handling the PUBLISH) writes the request
// (remoting.Lane.SendAsync), and the event loop that reads RocketMQ's
// answer (transport.Server.Attach) answers the batch's clients and writes the
// next batch. A goroutine parked for every answer and woken by it cost,
// at a fleet's pace (the README's fleet benchmark), 1.7–1.8 context
// switches and 6.9–7.0 system calls a message; on the loops, 1.4 and 5.6. The lane's goroutine
// sends only what cannot go out that way — the first sends, those after
// a route went stale or an attempt failed (retried as remoting.Lane.Send
// retries), and messages with routed copies, sent one after the other —
// and gives the lane back to the loops once it is through.
//
// With a linger (Config.SendLinger), a message that finds its lane idle
// waits up to the linger for others, of any lane, before it goes: at the
// end of the linger every lane that lingered sends what it holds, all of
// them in one write to each broker (remoting.Producer.Cork), and their
// answers come back together, in one read, for one wake-up of a loop.
// At a fleet's pace, lanes are idle almost always and each message cost
// its own write, read and wake-up; a linger trades up to its length of
// latency for a share of one. A busy lane does not linger: what queues
// behind a send in flight goes out as soon as it is answered, as without.
// Nor does a message when no linger is under way and one would not pay
// (lingerPace): at a pace too slow for others to come within the linger,
// or where lingers have been found to send their messages alone.
//
// Queuing never blocks: the MQTT core calls it from its event loops. What
// is queued is bounded by the clients' receive maximum for QoS 1 and 2;
// QoS 0 messages past maxLaneBacklog are dropped and counted.
type sender struct {
	lanes   [numLanes]lane
	timeout time.Duration // of an attempt, its retries included
	p       *remoting.Producer
	linger  time.Duration // Config.SendLinger
	quit    chan struct{}
	wg      sync.WaitGroup // the lanes' goroutines
	flying  sync.WaitGroup // the sends in flight on the loops
	onLoops atomic.Int64   // batches the loops sent and had answered

	// The lanes lingering, their busy theirs to clear, and when they
	// are to send: at lingerUntil, by whoever queues a message past it
	// or by the timer, whichever comes first.
	lingerMu    sync.Mutex
	lingering   []*lane
	spareLanes  []*lane
	lingerUntil atomic.Int64 // on clock; 0 while none lingers
	timer       *time.Timer
	armed       bool // timer is to fire, and lingerTimer has not begun
	closing     bool
	// How the lingers ended: the timer's firings (each its goroutine and
	// a thread woken for it), and the lingers an event loop ended.
	timerFired, loopEnded atomic.Int64
	// The lingers that sent something, and the requests their corked
	// writes sent.
	lingers, lingered atomic.Int64
	// Whether a linger pays, at the pace messages come.
	pace lingerPace
	// epoch is when the sender was made: the linger's times are
	// nanoseconds since (clock), on the monotonic clock, so that a step
	// of the wall clock neither holds a linger nor stops the pace.
	epoch time.Time
}

// clock returns the nanoseconds since the sender was made, monotonic.
func (s *sender) clock() int64 { return int64(time.Since(s.epoch)) }

// lane is one queue of requests, the goroutine that sends what the event
// loops cannot, and the state of the one batch being sent.
type lane struct {
	s     *sender
	index int // the queue the lane sends to

	mu     sync.Mutex
	queue  []*sendRequest
	closed bool
	// busy says that someone is sending the lane's current batch and
	// will take the next: the goroutine, or the event loops while a send
	// of theirs is in flight. Whoever set it is the only one to touch
	// the fields below it, and to clear it.
	busy     bool
	handed   []*sendRequest // a batch handed to the goroutine to send
	handedBy time.Time      // when its attempt ends
	wake     chan struct{}  // a batch was handed

	out    *remoting.Lane
	batch  []*sendRequest // what take took
	flight []*sendRequest // the batch in flight on the loops
	begun  time.Time      // when flight was sent
	msgs   []*primitive.Message
	landed func(remoting.SendResult, error) // l.answered, made once
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
	// maxKeptQueue is the largest queue array a lane keeps once emptied,
	// a few batches' worth: enough for a fleet's steady pace, while a
	// burst's backlog is let go.
	maxKeptQueue = 4 * maxBatch
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
	report func(error) // hears whether RocketMQ took msg and more, without to
	acks   ackHolder   // the client report acknowledges to, or nil
	// to, if not nil, hears it instead of report: a request made by a
	// retry reports to it, a pointer in an interface, rather than
	// through a method value made for every message.
	to outcome
}

// outcome hears whether RocketMQ took a request's messages.
type outcome interface{ report(error) }

// answer tells whoever hears the request's outcome.
func (r *sendRequest) answer(err error) {
	if r.to != nil {
		r.to.report(err)
		return
	}
	r.report(err)
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

// newSender makes a sender whose lanes queue requests and send them
// through p, on p's event loops when it has some, an idle lane lingering
// for linger first; start starts the lanes' goroutines. An attempt is
// given timeout, p's Timeout.
func newSender(p *remoting.Producer, timeout, linger time.Duration) *sender {
	if timeout <= 0 {
		timeout = time.Minute // as remoting.Lane.Send's default
	}
	s := &sender{timeout: timeout, p: p, linger: max(linger, 0), quit: make(chan struct{}), epoch: time.Now()}
	s.pace.linger = s.linger
	for i := range s.lanes {
		l := &s.lanes[i]
		l.s, l.index, l.out = s, i, p.NewAsyncLane()
		l.wake = make(chan struct{}, 1)
		l.landed = l.answered
	}
	return s
}

func (s *sender) start() *sender {
	for i := range s.lanes {
		s.wg.Add(1)
		go s.lanes[i].run()
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
// for a client; report hears the outcome, from an event loop or the
// lane's goroutine (or at once, for a closed sender or a full lane), and
// stored, if not nil, hears from there that RocketMQ took msg, before its
// copies are sent. acks, if not nil, is the client report acknowledges
// to: the lane holds its acknowledgements while it reports a whole batch.
func (s *sender) sendAndForget(clientID string, msg *primitive.Message, more []*primitive.Message, acks ackHolder, stored func(), report func(error)) {
	s.queue(clientID, &sendRequest{msg: msg, more: more, stored: stored, report: report, acks: acks})
}

// queue queues r for a client, as sendAndForget does; r is the sender's
// until it is answered, and not read after.
func (s *sender) queue(clientID string, r *sendRequest) {
	var now int64
	if s.linger > 0 {
		now = s.clock()
		s.pace.seen(now)
	}
	l := &s.lanes[laneOf(clientID)]
	l.mu.Lock()
	if l.closed || len(l.queue) >= maxLaneBacklog {
		closed := l.closed
		l.mu.Unlock()
		if closed {
			r.answer(errSenderClosed)
		} else {
			r.answer(errBacklog)
		}
		return
	}
	l.queue = append(l.queue, r)
	if l.busy {
		l.mu.Unlock()
		s.lingeredEnough(now)
		return
	}
	l.busy = true
	l.mu.Unlock()
	if s.linger > 0 && s.hold(l, now) {
		s.lingeredEnough(now)
		return
	}
	l.next()
}

// hold has l, idle until its message came at now, linger with the others
// until the linger ends; false if the sender is closing or no linger is
// under way and one would not pay (lingerPace), and l is to send now.
// Joining a linger under way costs nothing: its timer and its write are
// shared.
func (s *sender) hold(l *lane, now int64) bool {
	s.lingerMu.Lock()
	defer s.lingerMu.Unlock()
	if s.closing || len(s.lingering) == 0 && !s.pace.pays(now) {
		return false
	}
	s.lingering = append(s.lingering, l)
	if len(s.lingering) == 1 {
		s.lingerUntil.Store(now + int64(s.linger))
		// A timer still armed fires before this linger ends (lingers
		// only end later): it then arms itself for the rest. One is
		// still armed when it fired as a loop ended the last linger;
		// otherwise sendLingering stopped it.
		switch {
		case s.timer == nil:
			s.timer = time.AfterFunc(s.linger, s.lingerTimer)
			s.armed = true
		case !s.armed:
			s.timer.Reset(s.linger)
			s.armed = true
		}
	}
	return true
}

// lingerTimer is the linger's timer firing: it sends what lingers if its
// linger is over, and arms itself for the rest of a linger begun since
// it was armed.
func (s *sender) lingerTimer() {
	s.timerFired.Add(1)
	s.lingerMu.Lock()
	s.armed = false
	u := s.lingerUntil.Load()
	if u == 0 {
		s.lingerMu.Unlock()
		return
	}
	if left := time.Duration(u - s.clock()); left > 0 {
		s.timer.Reset(left)
		s.armed = true
		s.lingerMu.Unlock()
		return
	}
	s.lingerMu.Unlock()
	s.sendLingering()
}

// lingeredEnough sends what lingers if its linger is over or nearly
// over at now, within lingerSlack of its end. At a fleet's pace a message
// comes in that last stretch of nearly every linger, and the event loop
// handling it sends then and stops the timer: ended by the timer, every
// linger cost a wake-up of a thread and a goroutine of its own, a third
// of the gateway's context switches a message.
func (s *sender) lingeredEnough(now int64) {
	if u := s.lingerUntil.Load(); u != 0 && now >= u-int64(s.lingerSlack()) {
		if s.sendLingering() {
			s.loopEnded.Add(1)
		}
	}
}

// lingerSlack is how early an event loop may end a linger: a fifth of
// it, at most a millisecond, so that the linger stays the most a message
// waits, and nearly all of it is still spent gathering others.
func (s *sender) lingerSlack() time.Duration {
	return min(s.linger/5, time.Millisecond)
}

// sendLingering has every lane lingering send what it holds, all the
// requests to one broker in one write; false if none lingered.
func (s *sender) sendLingering() bool {
	s.lingerMu.Lock()
	ls := s.lingering
	// The spare list is handed out once, so that no two callers share
	// one.
	s.lingering, s.spareLanes = s.spareLanes[:0], nil
	s.lingerUntil.Store(0)
	// The timer is stopped when what it was armed for is sent: on close,
	// and when a loop ended the linger. A timer that has fired already
	// (Stop false) has its lingerTimer waiting for lingerMu, which
	// clears armed itself.
	if s.armed && s.timer.Stop() {
		s.armed = false
	}
	s.lingerMu.Unlock()
	if len(ls) == 0 {
		return false
	}
	s.lingers.Add(1)
	s.p.Cork()
	sent := 0
	for _, l := range ls {
		sent += l.next()
	}
	s.p.Uncork()
	s.lingered.Add(int64(sent))
	clear(ls)
	s.lingerMu.Lock()
	s.spareLanes = ls[:0]
	s.pace.lingered(sent, s.clock())
	s.lingerMu.Unlock()
	return true
}

// take takes the next batch off the queue, l.mu held: requests for one
// topic, in the order they came, as many as fit maxBatch and
// maxBatchBytes (a batch over RocketMQ's limit would fail whole), or one
// that must go alone.
func (l *lane) take() []*sendRequest {
	n, size := 0, 0
	for n < len(l.queue) && n < maxBatch {
		r := l.queue[n]
		b := len(r.msg.Body)
		if n > 0 && (r.msg.Topic != l.queue[0].msg.Topic || size+b > maxBatchBytes || r.alone()) {
			break
		}
		size += b
		n++
		if r.alone() {
			break
		}
	}
	l.batch = append(l.batch[:0], l.queue[:n]...)
	clear(l.queue[:n])
	switch {
	case n < len(l.queue):
		l.queue = l.queue[n:]
	case cap(l.queue) > maxKeptQueue:
		l.queue = nil // a backlog's array is let go
	default:
		// Emptied: the array is kept for the next requests, which would
		// otherwise each start a new one.
		l.queue = l.queue[:0]
	}
	return l.batch
}

// next is called by whoever has busy, on an event loop or on a goroutine
// not the lane's: it sends the next batch on the loops, hands it to the
// lane's goroutine if it cannot go that way, or clears busy when there is
// none. It returns how many requests the batch holds.
func (l *lane) next() int {
	batch := l.takeOrRest()
	if batch == nil {
		return 0
	}
	n := len(batch)
	if !l.sendAsync(batch) {
		l.handOver(slices.Clone(batch), time.Now().Add(l.s.timeout))
	}
	return n
}

// takeOrRest takes the next batch, or clears busy and returns nil when
// there is none; it is called by whoever has busy.
func (l *lane) takeOrRest() []*sendRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	if batch := l.take(); len(batch) > 0 {
		return batch
	}
	l.busy = false
	return nil
}

// handOver gives batch, and busy with it, to the lane's goroutine, to
// send by deadline; a closed lane answers it itself.
func (l *lane) handOver(batch []*sendRequest, deadline time.Time) {
	l.mu.Lock()
	if l.closed {
		l.busy = false
		l.mu.Unlock()
		reportAll(batch, errSenderClosed)
		return
	}
	l.handed, l.handedBy = batch, deadline
	l.mu.Unlock()
	l.wake <- struct{}{} // never full: a batch is handed only to a lane waiting for one
}

// sendAsync sends batch on the event loops, and reports whether it could.
func (l *lane) sendAsync(batch []*sendRequest) bool {
	if len(batch[0].more) > 0 {
		return false // the copies go out one after the other, after it
	}
	l.msgs = l.msgs[:0]
	for _, r := range batch {
		l.msgs = append(l.msgs, r.msg)
	}
	l.flight, l.begun = batch, time.Now()
	l.s.flying.Add(1)
	if l.out.SendAsync(l.index, l.msgs, l.landed) {
		return true // the lane is answered's now: nothing more here
	}
	clear(l.msgs)
	l.flight = nil
	l.s.flying.Done()
	return false
}

// answered hears, on an event loop, how the batch in flight went: it
// answers its clients and sends the next batch, or hands it to the lane's
// goroutine to try again as Send does.
func (l *lane) answered(_ remoting.SendResult, err error) {
	defer l.s.flying.Done()
	batch := l.flight
	l.flight = nil
	clear(l.msgs)
	if errors.Is(err, remoting.ErrRetry) {
		// What was tried on the loops is given what is left of its
		// attempt's time.
		l.handOver(slices.Clone(batch), l.begun.Add(l.s.timeout))
		return
	}
	l.s.onLoops.Add(1)
	if err == nil {
		storedAll(batch)
	}
	reportAll(batch, err)
	l.next()
}

// run is the lane's goroutine: it sends what was handed to it, and what
// queues up meanwhile, until the loops can take over again.
func (l *lane) run() {
	defer l.s.wg.Done()
	for {
		select {
		case <-l.wake:
		case <-l.s.quit:
			l.drain()
			return
		}
		l.mu.Lock()
		batch, deadline := l.handed, l.handedBy
		l.handed = nil
		l.mu.Unlock()
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		l.sendBatch(ctx, batch)
		cancel()
		// Then what queued meanwhile, until none is left or the loops
		// take a batch.
		for batch := l.takeOrRest(); batch != nil && !l.sendAsync(batch); batch = l.takeOrRest() {
			l.sendBatch(context.Background(), batch)
		}
	}
}

// drain answers what a closing sender still holds.
func (l *lane) drain() {
	l.mu.Lock()
	q := append(l.handed, l.queue...)
	l.handed, l.queue, l.closed = nil, nil, true
	l.mu.Unlock()
	for _, r := range q {
		r.answer(errSenderClosed)
	}
}

// sendBatch sends a batch of one topic, then the routed copies of one
// sent alone, within ctx and the producer's timeout, and answers every
// request.
func (l *lane) sendBatch(ctx context.Context, batch []*sendRequest) {
	msgs := make([]*primitive.Message, len(batch))
	for i, r := range batch {
		msgs[i] = r.msg
	}
	_, err := l.out.Send(ctx, l.index, msgs...)
	if err == nil {
		storedAll(batch)
	}
	if len(batch) == 1 {
		for _, m := range batch[0].more {
			if err != nil {
				break
			}
			_, err = l.out.Send(context.Background(), l.index, m)
		}
	}
	reportAll(batch, err)
}

// storedAll tells every request of a batch RocketMQ took that it did.
func storedAll(batch []*sendRequest) {
	for _, r := range batch {
		if r.stored != nil {
			r.stored()
		}
	}
}

// reportAll answers every request of a batch RocketMQ took or refused as
// one: each client's acknowledgements are held until all are answered, so
// that a client with several publishes in the batch gets their
// acknowledgements in one write.
func reportAll(batch []*sendRequest, err error) {
	if len(batch) == 1 {
		batch[0].answer(err)
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
		r.answer(err)
	}
	for _, h := range held {
		h.ReleaseAcks()
	}
}

// close stops the lanes: what lingers is sent, requests still queued are
// answered as closed, and sends in flight on the loops are waited for.
func (s *sender) close() {
	s.lingerMu.Lock()
	s.closing = true // nothing lingers from here on
	s.lingerMu.Unlock()
	s.sendLingering() // and stops the timer
	close(s.quit)
	s.wg.Wait()
	s.flying.Wait()
	for i := range s.lanes {
		s.lanes[i].out.Close()
	}
}
