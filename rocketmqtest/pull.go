package rocketmqtest

import (
	"sync"
	"sync/atomic"
	"time"
)

// pullCommands are the requests of a consuming client's pull loop.
var pullCommands = []registration{
	{PullMessage, (*Server).handlePull},
}

// Pull request sysFlag bits (Java's PullSysFlag).
const (
	pullFlagCommitOffset = 1 << 0
	pullFlagSuspend      = 1 << 1
	pullFlagSubscription = 1 << 2
)

// Broker limits on one pull answered from memory (MessageStoreConfig
// defaults: maxTransferCountOnMessageInMemory, maxTransferBytesOnMessageInMemory,
// and maxFilterMessageSize over the 20-byte consume-queue unit).
const (
	pullMaxCount   = 32
	pullMaxBytes   = 256 << 10
	pullScanLimit  = 16000 / 20
	defaultSuspend = 15 * time.Second
)

// Outcomes of reading a queue (Java's GetMessageStatus); the names travel
// as the pull response's remark.
const (
	statusFound             = "FOUND"
	statusNoMatchedMessage  = "NO_MATCHED_MESSAGE"
	statusNoMessageInQueue  = "NO_MESSAGE_IN_QUEUE"
	statusOffsetTooSmall    = "OFFSET_TOO_SMALL"
	statusOffsetOverflowOne = "OFFSET_OVERFLOW_ONE"
	statusOffsetOverflowBad = "OFFSET_OVERFLOW_BADLY"
)

// pendingPull is a pull held open (long polling) until a matching message
// arrives or its suspend time runs out. Its fields after timer are guarded
// by s.store.mu.
type pendingPull struct {
	s      *Server
	c      *conn
	req    *request
	q      *queue
	offset int64
	filter tagFilter
	timer  *time.Timer
	done   bool
}

// detachLocked marks p answered and unlinks it from its connection; the
// caller unlinks it from its queue.
func (p *pendingPull) detachLocked() {
	p.done = true
	delete(p.c.pulls, p)
	if p.timer.Stop() {
		p.s.wg.Done() // the timer's callback will not run
	}
}

func (q *queue) removeWaiterLocked(p *pendingPull) {
	for i, w := range q.waiters {
		if w == p {
			copy(q.waiters[i:], q.waiters[i+1:])
			q.waiters[len(q.waiters)-1] = nil
			q.waiters = q.waiters[:len(q.waiters)-1]
			return
		}
	}
}

// expire answers p when its suspend time is up.
func (p *pendingPull) expire() {
	defer p.s.wg.Done()
	st := &p.s.store
	st.mu.Lock()
	if p.done {
		st.mu.Unlock()
		return
	}
	p.done = true
	delete(p.c.pulls, p)
	p.q.removeWaiterLocked(p)
	st.mu.Unlock()
	p.s.answerHeld(p)
}

// waker answers the held pulls that new messages satisfied, on its own
// goroutine and after reputInterval, as the broker's reput service does:
// it makes new messages visible to held pulls in passes, sleeping 1 ms
// between them. So the sender's response does not wait for the pulls, and
// a busy queue is answered with the messages of a millisecond rather than
// with one message per pull.
type waker struct {
	mu     sync.Mutex
	queue  []*pendingPull
	signal chan struct{}
}

func (w *waker) init() { w.signal = make(chan struct{}, 1) }

// wake queues held pulls, already detached from their queues, for answering.
func (s *Server) wake(ps []*pendingPull) {
	if len(ps) == 0 {
		return
	}
	s.waker.mu.Lock()
	s.waker.queue = append(s.waker.queue, ps...)
	s.waker.mu.Unlock()
	select {
	case s.waker.signal <- struct{}{}:
	default:
	}
}

// reputInterval is ReputMessageService's sleep between passes.
const reputInterval = time.Millisecond

// holdCheckInterval is how often PullRequestHoldService, in long-polling
// mode, looks at every held pull whatever arrived: a pull whose queue has
// grown, if only by messages its filter excludes, is then answered, and
// its consumer pulls on from past them.
const holdCheckInterval = 5 * time.Second

func (w *waker) run(s *Server) {
	defer s.wg.Done()
	pass := time.NewTimer(reputInterval)
	defer pass.Stop()
	check := time.NewTicker(holdCheckInterval)
	defer check.Stop()
	for {
		select {
		case <-w.signal:
		case <-check.C:
			for _, p := range s.store.takeOutgrown() {
				s.answerHeld(p)
			}
			continue
		case <-s.done:
			return
		}
		pass.Reset(reputInterval)
		select {
		case <-pass.C:
		case <-s.done:
			return
		}
		w.mu.Lock()
		ps := w.queue
		w.queue = nil
		w.mu.Unlock()
		for _, p := range ps {
			s.answerHeld(p)
		}
	}
}

// answerHeld re-runs a held pull, this time without holding it again, and
// sends the result.
func (s *Server) answerHeld(p *pendingPull) {
	if rep := s.pull(p.c, p.req, false); rep != nil {
		p.c.respond(p.req, rep)
		rep.release()
	}
}

// takeOutgrown detaches and returns the held pulls whose queues hold
// messages at or past their offsets: messages their filters excluded.
func (s *store) takeOutgrown() []*pendingPull {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*pendingPull
	for _, t := range s.topics {
		for _, q := range t.queues {
			if len(q.waiters) == 0 {
				continue
			}
			kept := q.waiters[:0]
			for _, p := range q.waiters {
				if p.offset < int64(len(q.msgs)) {
					p.detachLocked()
					out = append(out, p)
				} else {
					kept = append(kept, p)
				}
			}
			clear(q.waiters[len(kept):])
			q.waiters = kept
		}
	}
	return out
}

// cancelPulls drops c's held pulls without answering them; c is gone.
func (s *Server) cancelPulls(c *conn) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	for p := range c.pulls {
		p.q.removeWaiterLocked(p)
		p.detachLocked()
	}
}

func (s *Server) handlePull(c *conn, req *request) *reply {
	return s.pull(c, req, true)
}

// pull implements PULL_MESSAGE (Java's PullMessageProcessor over
// DefaultMessageStore.getMessage). With allowSuspend, a pull that finds
// nothing new is held and nil is returned.
func (s *Server) pull(c *conn, req *request, allowSuspend bool) *reply {
	var h headerReader
	group := h.str(req, "consumerGroup")
	topicName := h.str(req, "topic")
	queueID := h.int(req, "queueId")
	offset := h.int64(req, "queueOffset")
	maxNums := h.int(req, "maxMsgNums")
	sysFlag := h.int(req, "sysFlag")
	commitOffset := h.optInt64(req, "commitOffset", 0)
	suspend := time.Duration(h.optInt64(req, "suspendTimeoutMillis", int64(defaultSuspend/time.Millisecond))) * time.Millisecond
	if h.err != nil {
		return h.errReply()
	}

	if !s.groups.createGroup(group) {
		return responsef(CodeSubscriptionGroupNotExist, "subscription group [%s] does not exist, %s", group, faqSuffix)
	}
	t := s.store.info(topicName)
	if t.topic == nil {
		return responsef(CodeTopicNotExist, "topic[%s] not exist, apply first please! %s", topicName, faqSuffix)
	}
	if t.perm&permRead == 0 {
		return responsef(CodeNoPermission, "the topic[%s] pulling message is forbidden", topicName)
	}
	if queueID < 0 || queueID >= t.nQueues {
		return responsef(CodeInvalidParameter, "queueId[%d] is illegal, topic:[%s] topicConfig.readQueueNums:[%d] consumer:[%s]",
			queueID, topicName, t.nQueues, c.remoteString)
	}

	var filter tagFilter
	if sysFlag&pullFlagSubscription != 0 {
		typ := req.ext.get("expressionType")
		if typ != "" && typ != expressionTag {
			return responsef(CodeSystemError, "The broker does not support consumer to filter message by %s", typ)
		}
		f, err := parseTagFilter(req.ext.get("subscription"))
		if err != nil {
			return response(CodeSubscriptionParseFailed, err.Error())
		}
		filter = f
	} else {
		f, rep := s.groups.filterFor(group, topicName)
		if rep != nil {
			return rep
		}
		filter = f
	}
	if allowSuspend {
		s.groups.recordPull(group, topicName, queueID, offset, c)
	}
	if allowSuspend && sysFlag&pullFlagCommitOffset != 0 {
		s.groups.commitOffset(group, topicName, queueID, commitOffset)
	}
	if maxNums < 1 {
		maxNums = 1
	}

	s.store.mu.Lock()
	q := t.queues[queueID]
	maxOffset := int64(len(q.msgs))
	var (
		status string
		code   ResponseCode
		next   int64
		body   [][]byte
	)
	switch {
	case maxOffset == 0:
		status, next = statusNoMessageInQueue, 0
		code = CodePullNotFound
		if offset != 0 {
			code = CodePullOffsetMoved
		}
	case offset < 0:
		status, code, next = statusOffsetTooSmall, CodePullOffsetMoved, 0
	case offset == maxOffset:
		status, code, next = statusOffsetOverflowOne, CodePullNotFound, offset
	case offset > maxOffset:
		status, code, next = statusOffsetOverflowBad, CodePullOffsetMoved, maxOffset
	default:
		status, code, next = statusNoMatchedMessage, CodePullRetryImmediately, offset
		size := 0
		for i := offset; i < maxOffset && i-offset < int64(max(pullScanLimit, maxNums)); i++ {
			st := q.msgs[i]
			if n := len(body); n > 0 && (n+1 > maxNums || n >= pullMaxCount || size+len(st.data) > pullMaxBytes) {
				break
			}
			next = i + 1
			if !filter.matches(st.tags) {
				continue
			}
			body = append(body, st.data)
			size += len(st.data)
		}
		if len(body) > 0 {
			status, code = statusFound, CodeSuccess
		}
	}

	if code == CodePullNotFound && allowSuspend && sysFlag&pullFlagSuspend != 0 && suspend > 0 {
		// req is the connection's, reused for its next request.
		p := &pendingPull{s: s, c: c, req: req.clone(), q: q, offset: offset, filter: filter}
		select {
		case <-c.closed:
			// The connection is gone; cancelPulls may already have run.
			s.store.mu.Unlock()
			return nil
		default:
		}
		s.wg.Add(1) // for p.expire; this goroutine is counted
		p.timer = time.AfterFunc(suspend, p.expire)
		q.waiters = append(q.waiters, p)
		c.pulls[p] = struct{}{}
		s.store.mu.Unlock()
		return nil
	}
	s.store.mu.Unlock()

	if len(body) > 0 {
		s.pulled.add(group, len(body))
	}
	rep := response(code, status)
	rep.addInt("suggestWhichBrokerId", 0)
	rep.addInt("nextBeginOffset", next)
	rep.addInt("minOffset", 0)
	rep.addInt("maxOffset", maxOffset)
	rep.body = body
	return rep
}

// pullCounts counts the messages pull responses carried: in all, and by
// consumer group.
type pullCounts struct {
	all     atomic.Uint64
	byGroup sync.Map // consumer group -> *atomic.Uint64
}

func (pc *pullCounts) add(group string, n int) {
	pc.all.Add(uint64(n))
	v, ok := pc.byGroup.Load(group)
	if !ok {
		v, _ = pc.byGroup.LoadOrStore(group, new(atomic.Uint64))
	}
	v.(*atomic.Uint64).Add(uint64(n))
}

func (pc *pullCounts) get(group string) uint64 {
	if group == "" {
		return pc.all.Load()
	}
	if v, ok := pc.byGroup.Load(group); ok {
		return v.(*atomic.Uint64).Load()
	}
	return 0
}
