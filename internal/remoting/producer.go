package remoting

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// Send request codes [RequestCode.SEND_MESSAGE_V2, SEND_BATCH_MESSAGE].
const (
	codeSendMessageV2    = 310
	codeSendBatchMessage = 320
)

// Send response codes a send is tried again after, as RocketMQ's own
// clients do [DefaultMQProducer.retryResponseCodes].
const (
	respSystemError         = 1
	respServiceNotAvailable = 14
	respNoPermission        = 16
)

// defaultTopic is the topic whose route a producer uses for a topic the
// name server does not know, and which the broker creates the topic from
// [TopicValidator.AUTO_CREATE_TOPIC_KEY_TOPIC]; defaultTopicQueues is how
// many queues such a topic gets.
const (
	defaultTopic       = "TBW102"
	defaultTopicQueues = 4
)

// routeTTL is how long a producer sends by a route before it asks the
// name server again, as RocketMQ's clients poll routes every 30 s.
const routeTTL = 30 * time.Second

// maxIdle is how long a lane's connection may stay unused before it is
// dialled anew rather than trusted: a broker closes connections idle for
// 120 s [NettyServerConfig.serverChannelMaxIdleTimeSeconds].
const maxIdle = 60 * time.Second

// ProducerConfig configures a Producer.
type ProducerConfig struct {
	// NameServers are RocketMQ's name servers, "ip:port", asked in turn.
	NameServers []string
	// Group is the producer group the requests name.
	Group string
	// Credentials sign every request for an ACL-enabled RocketMQ; zero
	// for none.
	Credentials primitive.Credentials
	// Retries is how many times a send is tried again after a failure
	// (a connection lost, or an answer RocketMQ's clients retry on).
	Retries int
	// Timeout bounds a send, its retries included (as a context's
	// deadline would, without a timer for each send); 0 for none but
	// the context's.
	Timeout time.Duration
	// Loops, if not nil, are the event loops that read the answers to
	// Lane.SendAsync's sends; the producer does not close them. Without,
	// SendAsync never starts one.
	Loops Attacher
}

// Attacher hands a dialled connection to event loops that read it (the
// gateway's raw MQTT loops, transport.Server.Attach): s hears every byte
// read, on a loop, and Closed once when the connection ends; the
// WriteCloser returned writes without blocking and closes it. Attach
// fails, and closes nc, when it cannot; the lane then sends by Send only.
type Attacher interface {
	Attach(nc net.Conn, s Session) (io.WriteCloser, error)
}

// Session is what an Attacher's loops hand a connection's bytes to.
type Session interface {
	Data(b []byte) error // an error closes the connection
	Closed(err error)
}

// Producer sends messages to RocketMQ's brokers through Lanes: each lane
// sends one request at a time on connections of its own, writing each
// request with one write and reading its answer itself, so a send costs
// the two system calls it must and no goroutine hand-offs. Routes are
// shared by the lanes and asked of the name server again after routeTTL.
type Producer struct {
	cfg ProducerConfig
	ns  []*Conn

	mu       sync.Mutex
	routes   map[string]*publishRoute
	pipes    map[string]*pipe     // the async lanes' connections on Loops, by broker address
	dialing  map[string]bool      // the addresses a pipe is being dialled to
	tried    map[string]time.Time // when a pipe to an address last failed to open
	closed   bool
	sweeping chan struct{} // closed to stop the sweeper, once pipes exist
	swept    sync.WaitGroup
	frames   sync.Pool // *[]byte: the buffers SendAsync builds its frames in
	ids      *MessageIDs
	opaques  atomic.Int32 // the pipes' request numbers

	corkMu     sync.Mutex
	corked     int     // Cork's count
	dirty      []*pipe // the pipes with corked requests
	spareDirty []*pipe
}

// publishRoute is where a topic's messages can go: its writable queues in
// the order RocketMQ's clients list them (by broker name, then queue).
type publishRoute struct {
	queues  []brokerQueue
	fetched time.Time
}

type brokerQueue struct {
	broker, addr string
	id           int
}

// NewProducer returns a Producer; nothing is dialled until a lane sends.
func NewProducer(cfg ProducerConfig) *Producer {
	p := &Producer{cfg: cfg, routes: map[string]*publishRoute{}, ids: NewMessageIDs(),
		pipes: map[string]*pipe{}, dialing: map[string]bool{}, tried: map[string]time.Time{}}
	p.frames.New = func() any { return new([]byte) }
	for _, a := range cfg.NameServers {
		p.ns = append(p.ns, NewConn(a, cfg.Credentials))
	}
	return p
}

// NewMessageID returns a unique ID for a message to send (its UNIQ_KEY
// property); Send and SendAsync give one to each message that has none.
func (p *Producer) NewMessageID() string { return p.ids.New() }

// Close closes the connections to the name servers and stops watching
// the deadlines of SendAsync's sends. Lanes are closed by whoever uses
// them, before.
func (p *Producer) Close() {
	for _, c := range p.ns {
		c.Close()
	}
	p.mu.Lock()
	quit := p.sweeping
	p.sweeping, p.closed = nil, true
	p.mu.Unlock()
	for _, pp := range p.allPipes() {
		pp.close() // its sends in flight fail
	}
	if quit != nil {
		close(quit)
		p.swept.Wait()
	}
}

// cachedRoute returns topic's route if the cache holds it fresh, nil if
// not.
func (p *Producer) cachedRoute(topic string) *publishRoute {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r := p.routes[topic]; r != nil && time.Since(r.fetched) < routeTTL {
		return r
	}
	return nil
}

// route returns where topic's messages go, from the cache while it is
// fresh, and asks the name servers again, before deadline, when it is not
// or when fresh is false.
func (p *Producer) route(ctx context.Context, deadline time.Time, topic string, fresh bool) (*publishRoute, error) {
	p.mu.Lock()
	r := p.routes[topic]
	p.mu.Unlock()
	if fresh && r != nil && time.Since(r.fetched) < routeTTL {
		return r, nil
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	nr, err := p.fetchRoute(ctx, topic)
	if err != nil {
		if r != nil {
			return r, nil // the route we had beats none
		}
		return nil, err
	}
	p.mu.Lock()
	p.routes[topic] = nr
	p.mu.Unlock()
	return nr, nil
}

// fetchRoute asks the name servers for topic's route, and for the default
// topic's when none knows topic (the broker creates the topic as it takes
// the first message).
func (p *Producer) fetchRoute(ctx context.Context, topic string) (*publishRoute, error) {
	if len(p.ns) == 0 {
		return nil, errors.New("remoting: no name server")
	}
	var err error
	for _, ns := range p.ns {
		var rt Route
		rt, err = GetRoute(ctx, ns, topic)
		var re *Error
		if errors.As(err, &re) && re.Status == respTopicNotExist {
			rt, err = GetRoute(ctx, ns, defaultTopic)
			for b, n := range rt.Writable {
				rt.Writable[b] = min(n, defaultTopicQueues)
			}
		}
		if err != nil {
			continue
		}
		r := &publishRoute{fetched: time.Now()}
		brokers := make([]string, 0, len(rt.Writable))
		for b := range rt.Writable {
			if rt.Brokers[b] != "" {
				brokers = append(brokers, b)
			}
		}
		slices.Sort(brokers)
		for _, b := range brokers {
			for i := range rt.Writable[b] {
				r.queues = append(r.queues, brokerQueue{b, rt.Brokers[b], i})
			}
		}
		if len(r.queues) == 0 {
			err = fmt.Errorf("remoting: topic %s has no writable queue", topic)
			continue
		}
		return r, nil
	}
	return nil, err
}

// SendResult is where RocketMQ stored what one send took.
type SendResult struct {
	Broker string
	Queue  int
	Offset int64 // the queue offset of the first message
}

// Lane sends one request at a time; it is not safe for concurrent use,
// and a SendAsync's send is its until done is called.
type Lane struct {
	p      *Producer
	conns  map[string]*laneConn
	async  bool // NewAsyncLane's, on a producer with Loops
	opaque int32
	buf    []byte
	fields []field
	body   []byte // a batch's body, being framed

	// born is the last born timestamp framed, in milliseconds, and its
	// text: a lane's sends come many a millisecond at a fleet's pace,
	// and each would otherwise format it again, an allocation each.
	born     int64
	bornText string
}

// laneConn is a lane's connection to one broker.
type laneConn struct {
	nc       net.Conn
	r        *bufio.Reader
	lastUsed time.Time
}

// NewLane returns a lane sending through p, by Send only.
func (p *Producer) NewLane() *Lane {
	return &Lane{p: p, conns: map[string]*laneConn{}}
}

// NewAsyncLane returns a lane sending through p by Send and SendAsync:
// each successful Send opens p a connection to its broker on p's Loops,
// if it has none, for the SendAsync sends of all its async lanes.
func (p *Producer) NewAsyncLane() *Lane {
	l := p.NewLane()
	l.async = p.cfg.Loops != nil
	return l
}

// Close closes the lane's connections; a SendAsync's send in flight
// fails with ErrRetry.
func (l *Lane) Close() {
	for a, c := range l.conns {
		c.nc.Close()
		delete(l.conns, a)
	}
	if l.async {
		for _, pp := range l.p.allPipes() {
			pp.failLane(l)
		}
	}
}

// maxKeptBuffer is the largest frame buffer a lane keeps for its next
// send; a bigger one (a batch near RocketMQ's limit) is let go.
const maxKeptBuffer = 64 << 10

// Send sends msgs, all to one topic, to the queue numbered pick (modulo
// how many the topic has; a negative pick is taken as 0) — one message
// alone, several as one batch —
// and returns once RocketMQ stored them. Each message without a
// UNIQ_KEY gets one, kept for a retry. It fails when ctx ends or the
// producer's Timeout passes first, or with a *Error when RocketMQ
// refused them.
func (l *Lane) Send(ctx context.Context, pick int, msgs ...*primitive.Message) (SendResult, error) {
	if len(msgs) == 0 {
		return SendResult{}, errors.New("remoting: send of no message")
	}
	pick = max(pick, 0)
	defer func() {
		if cap(l.buf) > maxKeptBuffer {
			l.buf = nil
		}
	}()
	topic := msgs[0].Topic
	for _, m := range msgs {
		if m.Topic != topic {
			return SendResult{}, fmt.Errorf("remoting: a batch for topics %s and %s", topic, m.Topic)
		}
		if m.GetProperty(primitive.PropertyUniqueClientMessageIdKeyIndex) == "" {
			m.WithProperty(primitive.PropertyUniqueClientMessageIdKeyIndex, l.p.ids.New())
		}
	}
	deadline, ok := ctx.Deadline()
	if t := l.p.cfg.Timeout; t > 0 && (!ok || time.Until(deadline) > t) {
		deadline, ok = time.Now().Add(t), true
	}
	if !ok {
		deadline = time.Now().Add(time.Minute)
	}
	var err error
	fresh := true
	for range 1 + l.p.cfg.Retries {
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			break
		}
		var r *publishRoute
		r, err = l.p.route(ctx, deadline, topic, fresh)
		if err != nil {
			continue
		}
		q := r.queues[pick%len(r.queues)]
		var resp *Command
		resp, err = l.roundTrip(ctx, deadline, q, msgs)
		if err != nil {
			continue
		}
		switch resp.Code {
		case respSuccess:
			if l.async {
				l.p.openPipe(q.addr)
			}
			return SendResult{Broker: q.broker, Queue: q.id, Offset: queueOffset(resp)}, nil
		case respTopicNotExist, respServiceNotAvailable, respSystemError, respNoPermission:
			err = &Error{q.addr, sendCode(msgs), resp.Code, resp.Remark}
			fresh = resp.Code != respTopicNotExist && resp.Code != respNoPermission
			continue
		}
		return SendResult{}, &Error{q.addr, sendCode(msgs), resp.Code, resp.Remark}
	}
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = fmt.Errorf("remoting: send to %s: %w", topic, os.ErrDeadlineExceeded)
	}
	return SendResult{}, err
}

// queueOffset is where a send's first message went in its queue.
func queueOffset(resp *Command) int64 {
	off, _ := strconv.ParseInt(resp.ExtFields["queueOffset"], 10, 64)
	return off
}

func sendCode(msgs []*primitive.Message) int {
	if len(msgs) > 1 {
		return codeSendBatchMessage
	}
	return codeSendMessageV2
}

// roundTrip writes one send request to q's broker and reads its answer
// before deadline.
func (l *Lane) roundTrip(ctx context.Context, deadline time.Time, q brokerQueue, msgs []*primitive.Message) (*Command, error) {
	c, err := l.conn(ctx, deadline, q.addr)
	if err != nil {
		return nil, err
	}
	l.opaque++
	opaque := l.opaque
	l.buf = l.appendSend(l.buf[:0], opaque, q, msgs)
	c.nc.SetDeadline(deadline)
	fail := func(err error) (*Command, error) {
		c.nc.Close()
		delete(l.conns, q.addr)
		return nil, fmt.Errorf("remoting: send to %s: %w", q.addr, err)
	}
	if _, err := c.nc.Write(l.buf); err != nil {
		return fail(err)
	}
	for {
		resp, err := readCommand(c.r)
		if err != nil {
			return fail(err)
		}
		if resp.Flag&responseFlag != 0 && resp.Opaque == opaque {
			c.lastUsed = time.Now()
			return resp, nil
		}
		// A request from the broker, or the late answer to a request
		// given up on: not for this send.
	}
}

// conn returns the lane's connection to addr, dialling it (for at most 5
// s, and not past deadline) if need be.
func (l *Lane) conn(ctx context.Context, deadline time.Time, addr string) (*laneConn, error) {
	if c := l.conns[addr]; c != nil {
		if time.Since(c.lastUsed) < maxIdle {
			return c, nil
		}
		c.nc.Close()
		delete(l.conns, addr)
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	d := net.Dialer{Timeout: 5 * time.Second}
	nc, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("remoting: send to %s: %w", addr, err)
	}
	c := &laneConn{nc: nc, r: bufio.NewReaderSize(nc, 4<<10), lastUsed: time.Now()}
	l.conns[addr] = c
	return c, nil
}

// bornAt returns ms as text, formatted once for all the sends framed in
// the same millisecond.
func (l *Lane) bornAt(ms int64) string {
	if ms != l.born || l.bornText == "" {
		l.born, l.bornText = ms, strconv.FormatInt(ms, 10)
	}
	return l.bornText
}

// appendSend appends the frame of a SEND_MESSAGE_V2 request for one
// message, or of a SEND_BATCH_MESSAGE request for several (their bodies
// and properties encoded one after the other as the broker decodes a
// batch [MessageDecoder.decodeMessages]).
func (l *Lane) appendSend(dst []byte, opaque int32, q brokerQueue, msgs []*primitive.Message) []byte {
	m := msgs[0]
	body, batch := m.Body, "false"
	var props map[string]string // a single message's, the field sendPropsField
	if len(msgs) > 1 {
		batch = "true"
		l.body = l.body[:0]
		for _, m := range msgs {
			l.body = appendBatched(l.body, m)
		}
		body = l.body
	} else {
		props = m.GetProperties()
	}
	defer func() {
		if cap(l.body) > maxKeptBuffer {
			l.body = nil
		}
	}()
	// SendMessageRequestHeaderV2's short names.
	l.fields = append(l.fields[:0],
		field{"a", l.p.cfg.Group},
		field{"b", m.Topic},
		field{"c", defaultTopic},
		field{"d", strconv.Itoa(defaultTopicQueues)},
		field{"e", strconv.Itoa(q.id)},
		field{"f", "0"}, // sysFlag: not compressed, not transactional
		field{"g", l.bornAt(time.Now().UnixMilli())},
		field{"h", strconv.Itoa(int(m.Flag))},
		field{"j", "0"},
		field{"k", "false"},
		field{"m", batch},
		field{"n", q.broker},
	)
	if props == nil {
		l.fields = append(l.fields, field{sendPropsField, ""}) // a batch's are its messages'
	}
	return appendSendFrame(dst, sendCode(msgs), opaque, l.fields, props, body, l.p.cfg.Credentials)
}
