package cluster

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
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
	// DirectoryTopic is the RocketMQ topic every instance writes its
	// records to and reads everyone's from.
	DirectoryTopic string
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
	// Logger receives what goes wrong.
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultDirectoryTopic = "mqttrmq_directory"
	DefaultSnapshotEvery  = 30 * time.Second

	// SessionGroup is the consumer group whose offsets in a session queue
	// say what the session acknowledged.
	SessionGroup = "mqttrmq-sessions"

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
	cfg  Config
	log  *slog.Logger
	dir  *directory
	own  *instance // what this instance holds, as it says it
	mu   sync.Mutex
	out  []record // records not yet written
	wake chan struct{}

	ns      *remoting.Conn
	brokers map[string]*remoting.Conn // by address

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
// inbox from its end. It returns once the directory is read up to now.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.DirectoryTopic == "" {
		cfg.DirectoryTopic = DefaultDirectoryTopic
	}
	if cfg.SnapshotEvery <= 0 {
		cfg.SnapshotEvery = DefaultSnapshotEvery
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	n := &Node{cfg: cfg, log: cfg.Logger, own: newInstance(), wake: make(chan struct{}, 1),
		ns: remoting.NewConn(cfg.NameServer), brokers: map[string]*remoting.Conn{}, commits: map[commitKey]int64{}}
	n.dir = newDirectory(cfg.Instance, func(c string) {
		if cfg.Takeover != nil {
			cfg.Takeover(c)
		}
	})
	n.dir.insts[cfg.Instance] = n.own
	n.own.heard = time.Now()
	n.ctx, n.cancel = context.WithCancel(context.Background())

	route, err := remoting.GetRoute(ctx, n.ns, cfg.DirectoryTopic)
	if err != nil {
		n.Close()
		return nil, fmt.Errorf("cluster: the directory topic %s: %w", cfg.DirectoryTopic, err)
	}
	from := time.Now().Add(-2 * cfg.SnapshotEvery)
	ready := make(chan struct{}, 64)
	readers := 0
	for name, addr := range route.Brokers {
		br := remoting.NewConn(addr)
		n.brokers[addr] = br
		for q := range route.Queues[name] {
			start, err := remoting.SearchOffset(ctx, br, cfg.DirectoryTopic, q, from)
			if err != nil {
				n.Close()
				return nil, fmt.Errorf("cluster: the directory topic %s: %w", cfg.DirectoryTopic, err)
			}
			readers++
			n.wg.Add(1)
			go n.readDirectory(br, q, start, ready)
		}
		inbox, err := remoting.MaxOffset(ctx, br, InboxQueue(cfg.Instance), 0)
		if err != nil {
			n.Close()
			return nil, fmt.Errorf("cluster: inbox: %w", err)
		}
		n.wg.Add(1)
		go n.readInbox(br, inbox)
	}
	for range readers {
		select {
		case <-ready:
		case <-ctx.Done():
			n.Close()
			return nil, ctx.Err()
		}
	}
	n.wg.Add(2)
	go n.write()
	go n.tick()
	n.snapshot()
	return n, nil
}

// Close stops reading and writing; what was not yet written is lost with
// this instance (its records expire with it). Offsets waiting are
// committed first.
func (n *Node) Close() {
	n.flushCommits(context.Background())
	if n.cancel != nil {
		n.cancel()
	}
	n.ns.Close()
	for _, br := range n.brokers {
		br.Close()
	}
	n.wg.Wait()
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

// Connected says a client connected here.
func (n *Node) Connected(client string, at time.Time) {
	n.say(record{Kind: kindConnect, Client: client, At: at.UnixNano()})
}

// Disconnected says a client's connection here ended.
func (n *Node) Disconnected(client string) { n.say(record{Kind: kindDisconnect, Client: client}) }

// Subscribed and Unsubscribed say what clean sessions here hold.
func (n *Node) Subscribed(filter string)   { n.say(record{Kind: kindSubscribe, Filter: filter}) }
func (n *Node) Unsubscribed(filter string) { n.say(record{Kind: kindUnsubscribe, Filter: filter}) }

// PutSession says what a persistent session this instance serves holds.
func (n *Node) PutSession(s Session) {
	s.Owner = n.cfg.Instance
	n.say(record{Kind: kindSession, Client: s.Client, Session: &s})
}

// SessionGone says a persistent session ended; its queue is committed to
// its end, so that a session of that client ID started later does not
// begin with this one's messages.
func (n *Node) SessionGone(ctx context.Context, client string, version int64) {
	n.say(record{Kind: kindSessionGone, Client: client, Session: &Session{Client: client, Version: version}})
	for addr, br := range n.brokers {
		if max, err := remoting.MaxOffset(ctx, br, SessionQueue(client), 0); err == nil {
			n.Commit(client, addr, max)
		}
	}
}

// StartSession commits a new persistent session's queue at its end on
// every broker, so that it begins with what comes from now on and not
// with what an earlier session of the same client ID left there.
func (n *Node) StartSession(ctx context.Context, client string) error {
	for _, br := range n.brokers {
		max, err := remoting.MaxOffset(ctx, br, SessionQueue(client), 0)
		if err != nil {
			return err
		}
		if err := remoting.CommitOffset(ctx, br, SessionGroup, SessionQueue(client), 0, max); err != nil {
			return err
		}
	}
	return nil
}

// Session returns the directory's record of a persistent session, or nil.
func (n *Node) Session(client string) *Session { return n.dir.session(client) }

// Dispatch returns the queues a message goes to; see directory.dispatch.
func (n *Node) Dispatch(topic, p2p string, retained bool) []string {
	return n.dir.dispatch(topic, p2p, retained)
}

// write writes queued records, in order, until the node closes.
func (n *Node) write() {
	defer n.wg.Done()
	for {
		select {
		case <-n.wake:
		case <-n.ctx.Done():
			return
		}
		n.mu.Lock()
		rs := n.out
		n.out = nil
		n.mu.Unlock()
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
			m := primitive.NewMessage(n.cfg.DirectoryTopic, body)
			m.WithTag(dirTag)
			m.Queue = &primitive.MessageQueue{QueueId: n.queueOf()}
			for backoff := 50 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
				ctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
				err := n.cfg.Send(ctx, m)
				cancel()
				if err == nil {
					break
				}
				if n.ctx.Err() != nil {
					return
				}
				n.log.Warn("directory record not written; retrying", "error", err)
				select {
				case <-time.After(backoff):
				case <-n.ctx.Done():
					return
				}
			}
			rs = rs[len(chunk):]
		}
	}
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
			n.own.heard = now
			if dead := n.dir.expire(now.Add(-3*n.cfg.SnapshotEvery), now); len(dead) > 0 {
				n.log.Info("instances taken for dead", "instances", dead)
			}
			n.snapshot()
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
	group := "mqttrmq-directory-" + n.cfg.Instance
	caughtUp := false
	for n.ctx.Err() == nil {
		suspend := longPoll
		if !caughtUp {
			suspend = 0
		}
		ctx, cancel := context.WithTimeout(n.ctx, suspend+10*time.Second)
		res, err := remoting.Pull(ctx, br, group, n.cfg.DirectoryTopic, queue, offset, pullBatch, suspend)
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
			if len(rs) > 0 && rs[0].Instance != n.cfg.Instance {
				n.dir.apply(rs, time.Now())
			}
		}
		offset = res.Next
		if !caughtUp && len(res.Messages) < pullBatch {
			caughtUp = true
			ready <- struct{}{}
		}
	}
}

// readInbox reads this instance's inbox on one broker from offset on.
func (n *Node) readInbox(br *remoting.Conn, offset int64) {
	defer n.wg.Done()
	group := "mqttrmq-inbox-" + n.cfg.Instance
	for n.ctx.Err() == nil {
		ctx, cancel := context.WithTimeout(n.ctx, longPoll+10*time.Second)
		res, err := remoting.Pull(ctx, br, group, InboxQueue(n.cfg.Instance), 0, offset, pullBatch, longPoll)
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
		br := n.brokers[k.broker]
		if br == nil {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := remoting.CommitOffset(cctx, br, SessionGroup, SessionQueue(k.client), 0, off)
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
	for addr, br := range n.brokers {
		end, err := remoting.MaxOffset(ctx, br, SessionQueue(client), 0)
		if err != nil {
			return nil, err
		}
		committed, ok, err := remoting.ConsumerOffset(ctx, br, SessionGroup, SessionQueue(client), 0)
		if err != nil {
			return nil, err
		}
		if !ok {
			committed = 0 // StartSession committed where a session begins
		}
		committed = min(committed, end)
		out = append(out, Position{addr, committed, end})
	}
	return out, nil
}

// Read reads a session's queue on one broker from offset, up to pullBatch
// messages, without waiting.
func (n *Node) Read(ctx context.Context, client, broker string, offset int64) (remoting.PullResult, error) {
	br := n.brokers[broker]
	if br == nil {
		return remoting.PullResult{}, fmt.Errorf("cluster: no broker %s", broker)
	}
	return remoting.Pull(ctx, br, SessionGroup, SessionQueue(client), 0, offset, pullBatch, 0)
}
