package cluster

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq/internal/remoting"
)

// Config configures a Node.
type Config struct {
	// Instance is this instance's name among those sharing one RocketMQ.
	Instance string
	// NameServer is a RocketMQ name server, "ip:port".
	NameServer string
	// Credentials sign every request for an ACL-enabled RocketMQ; zero
	// for none.
	Credentials primitive.Credentials
	// Names names the cluster's topics, groups and queues; every instance
	// writes its records to Names.Topic("directory") and reads everyone's
	// from there.
	Names Names
	// SnapshotEvery is how often an instance writes all it holds; an
	// instance not heard from for three times this is taken for dead.
	SnapshotEvery time.Duration
	// Send sends one message to RocketMQ and returns once it is stored.
	// The message's Queue says which queue (by QueueId) it must go to.
	Send func(ctx context.Context, m *primitive.Message) error
	// Takeover closes the connection here of a client that connected
	// again elsewhere.
	Takeover func(client string)
	// Inbox hears every message dispatched to this instance, with the
	// address of the broker it came from (whose session queues its
	// INNER_MULTI_QUEUE_OFFSET speaks of).
	Inbox func(broker string, m *primitive.MessageExt)
	// Topics are the topics whose brokers hold Light Message Queues of
	// the cluster: those whose messages are dispatched (the parent topics
	// and the route topic), as RocketMQ names them.
	Topics []string
	// FilterChanged, if set, hears when a filter is first held by anyone
	// in the cluster (added) and when no one holds it any more; it is
	// called with the directory locked, and must not call the Node.
	FilterChanged func(filter string, added bool)
	// Logger receives what goes wrong.
	Logger *slog.Logger
}

// DefaultSnapshotEvery is Config.SnapshotEvery's default.
const DefaultSnapshotEvery = 30 * time.Second

const (
	// propRun marks every directory message with the run of the
	// instance that wrote it (its start time), so that an instance skips
	// its own records, but not those of its earlier runs.
	propRun = "mqttrmqRun"

	pullBatch   = 32
	longPoll    = 15 * time.Second
	maxMessage  = 512 << 10 // a directory message's body
	dirTag      = "mqttrmq-directory"
	directoryQs = 4 // the queues instances spread their records over
)

// Node is this instance's part in the cluster: it says what its clients
// want, knows what every instance's want, reads its inbox, and reads and
// commits the queues of the persistent sessions it serves.
type Node struct {
	cfg Config

	directoryTopic string
	run            string // this run, for propRun
	sessionGroup   string // whose offsets in a session queue say what the session acknowledged

	log  *slog.Logger
	dir  *directory
	own  *instance // what this instance holds, as it says it
	mu   sync.Mutex
	out  []record // records not yet written
	wake chan struct{}

	ns      *remoting.Conn
	bmu     sync.Mutex
	brokers map[string]*remoting.Conn // by address
	inboxes map[string]bool           // brokers whose inbox is read

	started   atomic.Bool
	closing   chan struct{} // closed by Close: write what is left
	written   chan struct{} // closed when the writer is done
	closeOnce sync.Once

	commits map[commitKey]int64 // session queue offsets to commit
	cmu     sync.Mutex

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type commitKey struct {
	client, broker string
}

// Start joins the cluster: it reads the directory from two snapshot
// intervals back, begins writing this instance's records, and reads its
// inbox from its end on every broker of Config.Topics. It returns once
// the directory is read up to now. A directory topic that does not exist
// yet is created by the first write to it, where RocketMQ creates topics
// on first use.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.SnapshotEvery <= 0 {
		cfg.SnapshotEvery = DefaultSnapshotEvery
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	n := &Node{cfg: cfg, log: cfg.Logger, own: newInstance(), wake: make(chan struct{}, 1),
		closing: make(chan struct{}), written: make(chan struct{}),
		directoryTopic: cfg.Names.Topic("directory"), run: strconv.FormatInt(time.Now().UnixNano(), 36), sessionGroup: cfg.Names.Group("sessions"),
		ns: remoting.NewConn(cfg.NameServer, cfg.Credentials), brokers: map[string]*remoting.Conn{}, inboxes: map[string]bool{}, commits: map[commitKey]int64{}}
	n.dir = newDirectory(cfg.Instance, cfg.Names, func(c string) {
		if cfg.Takeover != nil {
			cfg.Takeover(c)
		}
	})
	n.dir.want.changed = cfg.FilterChanged
	n.dir.insts[cfg.Instance] = n.own
	n.own.heard, n.own.synced = time.Now(), true
	n.ctx, n.cancel = context.WithCancel(context.Background())
	fail := func(err error) (*Node, error) {
		n.Close()
		return nil, fmt.Errorf("cluster: %w", err)
	}

	route, err := n.directoryRoute(ctx)
	if err != nil {
		return fail(err)
	}
	from := time.Now().Add(-2 * cfg.SnapshotEvery)
	ready := make(chan struct{}, 64)
	readers := 0
	for name, addr := range route.Brokers {
		br := n.broker(addr)
		for q := range route.Queues[name] {
			start, err := remoting.SearchOffset(ctx, br, n.directoryTopic, q, from)
			if err != nil {
				return fail(fmt.Errorf("the directory topic %s: %w", n.directoryTopic, err))
			}
			readers++
			n.wg.Add(1)
			go n.readDirectory(br, q, start, ready)
		}
	}
	if err := n.findBrokers(ctx); err != nil {
		return fail(err)
	}
	for range readers {
		select {
		case <-ready:
		case <-ctx.Done():
			return fail(ctx.Err())
		}
	}
	n.wg.Add(2)
	n.started.Store(true)
	go n.write()
	go n.tick()
	n.snapshot()
	return n, nil
}

// directoryRoute finds the directory topic, writing to it first if it
// does not exist (RocketMQ may create it then).
func (n *Node) directoryRoute(ctx context.Context) (remoting.Route, error) {
	route, err := remoting.GetRoute(ctx, n.ns, n.directoryTopic)
	if err == nil && len(route.Brokers) > 0 {
		return route, nil
	}
	hello, herr := encodeRecords([]record{{Kind: kindSnapBegin, Instance: n.cfg.Instance}, {Kind: kindSnapEnd, Instance: n.cfg.Instance}})
	if herr != nil {
		return route, herr
	}
	m := primitive.NewMessage(n.directoryTopic, hello)
	m.WithTag(dirTag)
	m.Queue = &primitive.MessageQueue{QueueId: n.queueOf()}
	if serr := n.cfg.Send(ctx, m); serr != nil {
		return route, fmt.Errorf("the directory topic %s (create it, with %d queues or more): %w", n.directoryTopic, directoryQs, errors.Join(err, serr))
	}
	for {
		route, err = remoting.GetRoute(ctx, n.ns, n.directoryTopic)
		if err == nil && len(route.Brokers) > 0 {
			return route, nil
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return route, fmt.Errorf("the directory topic %s: %w", n.directoryTopic, errors.Join(err, ctx.Err()))
		}
	}
}

// broker returns the connection to a broker, opening it the first time.
func (n *Node) broker(addr string) *remoting.Conn {
	n.bmu.Lock()
	defer n.bmu.Unlock()
	br := n.brokers[addr]
	if br == nil {
		br = remoting.NewConn(addr, n.cfg.Credentials)
		n.brokers[addr] = br
	}
	return br
}

// queueBrokers returns the brokers that may hold the cluster's queues
// (where this instance reads its inbox), by address.
func (n *Node) queueBrokers() map[string]*remoting.Conn {
	n.bmu.Lock()
	defer n.bmu.Unlock()
	out := make(map[string]*remoting.Conn, len(n.inboxes))
	for addr := range n.inboxes {
		out[addr] = n.brokers[addr]
	}
	return out
}

// findBrokers starts reading the inbox on every broker of Config.Topics
// not read yet: the broker that stores a message fills the queues it is
// dispatched to, so an instance's inbox is on every broker.
func (n *Node) findBrokers(ctx context.Context) error {
	for _, topic := range append([]string{n.directoryTopic}, n.cfg.Topics...) {
		route, err := remoting.GetRoute(ctx, n.ns, topic)
		if err != nil {
			if topic == n.directoryTopic {
				return fmt.Errorf("the directory topic %s: %w", topic, err)
			}
			continue // a topic not created yet: its brokers are found later
		}
		for _, addr := range route.Brokers {
			n.bmu.Lock()
			_, known := n.inboxes[addr]
			n.bmu.Unlock()
			if known {
				continue
			}
			br := n.broker(addr)
			start, err := remoting.MaxOffset(ctx, br, n.cfg.Names.Inbox(n.cfg.Instance), 0)
			if err != nil {
				return fmt.Errorf("inbox on %s: %w", addr, err)
			}
			n.bmu.Lock()
			n.inboxes[addr] = true
			n.bmu.Unlock()
			n.wg.Add(1)
			go n.readInbox(br, start)
		}
	}
	return nil
}

// Close leaves the cluster: it says so in the directory (other instances
// forget this one's clients and clean sessions at once, and adopt its
// persistent sessions), writes what it still had to, within a few
// seconds, commits the offsets waiting, and stops reading.
func (n *Node) Close() {
	n.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.flushCommits(ctx)
		if n.started.Load() {
			n.say(record{Kind: kindLeave})
			close(n.closing)
			select {
			case <-n.written:
			case <-ctx.Done():
			}
		}
		if n.cancel != nil {
			n.cancel()
		}
		n.ns.Close()
		n.bmu.Lock()
		for _, br := range n.brokers {
			br.Close()
		}
		n.bmu.Unlock()
		n.wg.Wait()
	})
}

// queueOf spreads instances over the directory's queues; one instance's
// records all go to one queue, which keeps them in order.
func (n *Node) queueOf() int {
	h := fnv.New32a()
	h.Write([]byte(n.cfg.Instance))
	return int(h.Sum32() % directoryQs)
}

// say applies records of this instance here at once and queues them to be
// written.
func (n *Node) say(rs ...record) {
	for i := range rs {
		rs[i].Instance = n.cfg.Instance
	}
	n.dir.apply(rs, time.Now())
	n.mu.Lock()
	n.out = append(n.out, rs...)
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Connected says a client connected here; persistent says its session
// persists (its record follows, see PutSession).
func (n *Node) Connected(client string, at time.Time, persistent bool) {
	n.say(record{Kind: kindConnect, Client: client, At: at.UnixNano(), Persistent: persistent})
}

// Disconnected says a client's connection here ended; at is when it
// began (the time given to Connected), so that the end of a connection a
// later one here took over does not remove the later one.
func (n *Node) Disconnected(client string, at int64) {
	n.say(record{Kind: kindDisconnect, Client: client, At: at})
}

// Subscribed and Unsubscribed say what clean sessions here hold.
func (n *Node) Subscribed(filter string)   { n.say(record{Kind: kindSubscribe, Filter: filter}) }
func (n *Node) Unsubscribed(filter string) { n.say(record{Kind: kindUnsubscribe, Filter: filter}) }

// PutSession says what a persistent session this instance serves holds.
func (n *Node) PutSession(s Session) {
	s.Owner = n.cfg.Instance
	n.say(record{Kind: kindSession, Client: s.Client, Session: &s})
}

// SessionGone says a persistent session ended, at once (a client that
// connects again now finds no session), and commits its queue to its end
// soon after, so that a session of that client ID started later does not
// begin with this one's messages.
func (n *Node) SessionGone(client string, version int64) {
	n.say(record{Kind: kindSessionGone, Client: client, Session: &Session{Client: client, Version: version}})
	if n.ctx.Err() != nil {
		return // closed: the next session of this client ID commits its start itself
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		ctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
		defer cancel()
		for addr, br := range n.queueBrokers() {
			if max, err := remoting.MaxOffset(ctx, br, n.cfg.Names.Session(client), 0); err == nil {
				n.Commit(client, addr, max)
			}
		}
	}()
}

// Session returns the directory's record of a persistent session, or nil.
func (n *Node) Session(client string) *Session { return n.dir.session(client) }

// DirectoryStats is what a directory holds.
type DirectoryStats struct {
	Instances int // instances heard from, this one included
	Clients   int // clients connected anywhere
	Filters   int // distinct filters held by anyone
	Sessions  int // persistent sessions, online or not
}

// Directory returns what the directory holds now.
func (n *Node) Directory() DirectoryStats {
	d := n.dir
	d.mu.RLock()
	defer d.mu.RUnlock()
	return DirectoryStats{Instances: len(d.insts), Clients: len(d.clientAt), Filters: len(d.want.held), Sessions: len(d.sessions)}
}

// Dispatch returns the queues a message goes to; see directory.dispatch.
func (n *Node) Dispatch(topic, p2p string, retained bool) []string {
	return n.dir.dispatch(topic, p2p, retained)
}

// write writes queued records, in order, until the node closes; when
// it closes, it writes what is left first.
func (n *Node) write() {
	defer n.wg.Done()
	defer close(n.written)
	for {
		closing := false
		select {
		case <-n.wake:
		case <-n.closing:
			closing = true
		case <-n.ctx.Done():
			return
		}
		n.mu.Lock()
		rs := n.out
		n.out = nil
		n.mu.Unlock()
		if !n.writeRecords(rs) || closing {
			return
		}
	}
}

// writeRecords writes records in messages of at most maxMessage bytes,
// retrying each until it is stored; false when the node is closed first.
func (n *Node) writeRecords(rs []record) bool {
	for len(rs) > 0 {
		chunk := rs
		body, err := encodeRecords(chunk)
		for len(body) > maxMessage && len(chunk) > 1 {
			chunk = chunk[:len(chunk)/2]
			body, err = encodeRecords(chunk)
		}
		if err != nil {
			n.log.Error("directory record not written", "error", err)
			rs = rs[len(chunk):]
			continue
		}
		m := primitive.NewMessage(n.directoryTopic, body)
		m.WithTag(dirTag)
		m.WithProperty(propRun, n.run)
		m.Queue = &primitive.MessageQueue{QueueId: n.queueOf()}
		for backoff := 50 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
			ctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
			err := n.cfg.Send(ctx, m)
			cancel()
			if err == nil {
				break
			}
			if n.ctx.Err() != nil {
				return false
			}
			n.log.Warn("directory record not written; retrying", "error", err)
			select {
			case <-time.After(backoff):
			case <-n.ctx.Done():
				return false
			}
		}
		rs = rs[len(chunk):]
	}
	return true
}

// snapshot queues all this instance holds, and the sessions it adopted.
func (n *Node) snapshot() {
	rs := []record{{Kind: kindSnapBegin}}
	n.dir.mu.RLock()
	for c, at := range n.own.clients {
		rs = append(rs, record{Kind: kindConnect, Client: c, At: at})
	}
	for f, k := range n.own.filters {
		rs = append(rs, record{Kind: kindSubscribe, Filter: f, Count: k})
	}
	for _, s := range n.dir.sessions {
		if s.Owner == n.cfg.Instance {
			cp := *s
			rs = append(rs, record{Kind: kindSession, Client: s.Client, Session: &cp})
		}
	}
	n.dir.mu.RUnlock()
	for _, s := range n.dir.orphans() {
		rs = append(rs, record{Kind: kindSession, Client: s.Client, Session: s})
	}
	rs = append(rs, record{Kind: kindSnapEnd})
	for i := range rs {
		rs[i].Instance = n.cfg.Instance
	}
	n.mu.Lock()
	n.out = append(n.out, rs...)
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// tick writes snapshots, forgets instances gone silent, and commits
// session offsets.
func (n *Node) tick() {
	defer n.wg.Done()
	snap := time.NewTicker(n.cfg.SnapshotEvery)
	commit := time.NewTicker(100 * time.Millisecond)
	defer snap.Stop()
	defer commit.Stop()
	for {
		select {
		case <-snap.C:
			now := time.Now()
			n.dir.mu.Lock()
			n.own.heard = now
			n.dir.mu.Unlock()
			if dead := n.dir.expire(now.Add(-3*n.cfg.SnapshotEvery), now); len(dead) > 0 {
				n.log.Info("instances taken for dead", "instances", dead)
			}
			n.snapshot()
			if err := n.findBrokers(n.ctx); err != nil && n.ctx.Err() == nil {
				n.log.Warn("looking for new brokers failed", "error", err)
			}
		case <-commit.C:
			n.flushCommits(n.ctx)
		case <-n.ctx.Done():
			return
		}
	}
}

// readDirectory reads one queue of the directory topic from start, and
// says on ready when it has caught up once.
func (n *Node) readDirectory(br *remoting.Conn, queue int, offset int64, ready chan<- struct{}) {
	defer n.wg.Done()
	group := n.cfg.Names.Group("directory-" + n.cfg.Instance)
	caughtUp := false
	for n.ctx.Err() == nil {
		suspend := longPoll
		if !caughtUp {
			suspend = 0
		}
		ctx, cancel := context.WithTimeout(n.ctx, suspend+10*time.Second)
		res, err := remoting.Pull(ctx, br, group, n.directoryTopic, queue, offset, pullBatch, suspend)
		cancel()
		if err != nil {
			if n.ctx.Err() == nil {
				n.log.Warn("reading the directory failed; retrying", "broker", br.Addr(), "queue", queue, "error", err)
				n.sleep(time.Second)
			}
			continue
		}
		for _, m := range res.Messages {
			rs, err := decodeRecords(m.Body)
			if err != nil {
				n.log.Warn("directory message skipped", "error", err)
				continue
			}
			switch {
			case len(rs) == 0:
			case rs[0].Instance != n.cfg.Instance:
				n.dir.apply(rs, time.Now())
			case m.GetProperty(propRun) != n.run:
				// An earlier run of this instance: the sessions it
				// served are still to be served, from here or elsewhere.
				n.dir.apply(sessionRecords(rs), time.Now())
			}
		}
		offset = res.Next
		if !caughtUp && len(res.Messages) < pullBatch {
			caughtUp = true
			ready <- struct{}{}
		}
	}
}

// sessionRecords returns the session records among rs.
func sessionRecords(rs []record) []record {
	var out []record
	for _, r := range rs {
		if r.Kind == kindSession || r.Kind == kindSessionGone {
			out = append(out, r)
		}
	}
	return out
}

// readInbox reads this instance's inbox on one broker from offset on.
func (n *Node) readInbox(br *remoting.Conn, offset int64) {
	defer n.wg.Done()
	group := n.cfg.Names.Group("inbox-" + n.cfg.Instance)
	for n.ctx.Err() == nil {
		ctx, cancel := context.WithTimeout(n.ctx, longPoll+10*time.Second)
		res, err := remoting.Pull(ctx, br, group, n.cfg.Names.Inbox(n.cfg.Instance), 0, offset, pullBatch, longPoll)
		cancel()
		if err != nil {
			if n.ctx.Err() == nil {
				n.log.Warn("reading the inbox failed; retrying", "broker", br.Addr(), "error", err)
				n.sleep(time.Second)
			}
			continue
		}
		for _, m := range res.Messages {
			n.cfg.Inbox(br.Addr(), m)
		}
		offset = res.Next
	}
}

func (n *Node) sleep(d time.Duration) {
	select {
	case <-time.After(d):
	case <-n.ctx.Done():
	}
}

// Commit notes that a session acknowledged every message of its queue on
// broker (an address) before offset; it is committed shortly after.
func (n *Node) Commit(client, broker string, offset int64) {
	n.cmu.Lock()
	defer n.cmu.Unlock()
	k := commitKey{client, broker}
	if offset > n.commits[k] {
		n.commits[k] = offset
	}
}

func (n *Node) flushCommits(ctx context.Context) {
	n.cmu.Lock()
	pending := n.commits
	n.commits = map[commitKey]int64{}
	n.cmu.Unlock()
	for k, off := range pending {
		br := n.queueBrokers()[k.broker]
		if br == nil {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := remoting.CommitOffset(cctx, br, n.sessionGroup, n.cfg.Names.Session(k.client), 0, off)
		cancel()
		if err != nil && !errors.Is(err, context.Canceled) {
			n.log.Warn("session offset not committed", "client", k.client, "error", err)
			n.Commit(k.client, k.broker, off) // again next time
		}
	}
}

// Position is where a session's queue stands on one broker.
type Position struct {
	Broker    string // the broker's address
	Committed int64  // what the session acknowledged
	End       int64  // after the last message
}

// Positions returns where a session's queue stands on every broker.
func (n *Node) Positions(ctx context.Context, client string) ([]Position, error) {
	var out []Position
	for addr, br := range n.queueBrokers() {
		end, err := remoting.MaxOffset(ctx, br, n.cfg.Names.Session(client), 0)
		if err != nil {
			return nil, err
		}
		committed, ok, err := remoting.ConsumerOffset(ctx, br, n.sessionGroup, n.cfg.Names.Session(client), 0)
		if err != nil {
			return nil, err
		}
		if !ok {
			committed = 0 // never committed: the queue from its first message
		}
		committed = min(committed, end)
		out = append(out, Position{addr, committed, end})
	}
	return out, nil
}

// Read reads a session's queue on one broker from offset, up to pullBatch
// messages, without waiting.
func (n *Node) Read(ctx context.Context, client, broker string, offset int64) (remoting.PullResult, error) {
	br := n.queueBrokers()[broker]
	if br == nil {
		return remoting.PullResult{}, fmt.Errorf("cluster: no broker %s", broker)
	}
	return remoting.Pull(ctx, br, n.sessionGroup, n.cfg.Names.Session(client), 0, offset, pullBatch, 0)
}
