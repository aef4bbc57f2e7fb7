package gateway_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqttrmq/mqttrmq/gateway"
	"github.com/mqttrmq/mqttrmq/internal/gatewaytest"
	"github.com/mqttrmq/mqttrmq/internal/testenv"
	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

// deadline bounds every wait. It is a failure deadline, not an expectation:
// a healthy run finishes far sooner.
const deadline = gatewaytest.Deadline

func TestMain(m *testing.M) {
	rlog.SetLogLevel("fatal") // the client logs every retry after its own Shutdown
	testenv.Main(m, testenv.PahoGoroutines()...)
}

// The parent topics every test gateway serves.
var parents = []string{"vehicles", "chat"}

var seq atomic.Int64

// uniq makes a name for the running test: rocketmq-client-go shares one
// client per instance name in a process, so every gateway and client gets its own.
func uniq(t testing.TB, kind string) string {
	n := regexp.MustCompile(`[^a-zA-Z0-9]+`).ReplaceAllString(t.Name(), "_")
	if len(n) > 40 {
		n = n[:40]
	}
	return fmt.Sprintf("%s_%s_%d", kind, n, seq.Add(1))
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() && os.Getenv("GATEWAY_TEST_LOGS") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// rocketMQ is the RocketMQ an end-to-end test runs on: rocketmqtest in
// process (inProcess), or a real Apache RocketMQ (realRocketMQ, in
// realbroker_test.go). onBoth runs a test on each, from the same code.
type rocketMQ interface {
	gatewaytest.RocketMQ
	// Messages returns what the test stored in topic, in store order per queue.
	Messages(topic string) []*primitive.MessageExt
	// Topics lists the topics that may hold something the test stored.
	Topics() []string
	// faults injects faults while atLeastOnce's devices publish, and
	// says how fast they publish so that the faults fall among their
	// messages.
	faults(t *testing.T) (pace time.Duration, inject func())
}

// onBoth runs test once on rocketmqtest and once on a real Apache
// RocketMQ, which is skipped, saying how to run it, when there is none.
func onBoth(t *testing.T, test func(t *testing.T, s rocketMQ)) {
	t.Run("rocketmqtest", func(t *testing.T) { test(t, inProcess{newRocketMQ(t)}) })
	t.Run("rocketmq", func(t *testing.T) { test(t, newRealRocketMQ(t)) })
}

// inProcess is a rocketmqtest server as an end-to-end test's RocketMQ.
type inProcess struct{ *rocketmqtest.Server }

// faults: refused sends (three batches, each more than the producer's
// retries absorb), then a broker that stops answering for longer than
// the send timeout.
func (s inProcess) faults(*testing.T) (time.Duration, func()) {
	return time.Millisecond, func() {
		for range 3 {
			time.Sleep(20 * time.Millisecond)
			s.RefuseSends(25)
		}
		time.Sleep(20 * time.Millisecond)
		s.Pause(1500 * time.Millisecond)
	}
}

// newRocketMQ starts a rocketmqtest server holding the parent topics.
func newRocketMQ(t testing.TB) *rocketmqtest.Server {
	t.Helper()
	s := rocketmqtest.NewServer(t)
	for _, p := range parents {
		if err := s.CreateTopic(p, 4); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// startGateway starts a gateway serving parents against s, on a free
// loopback port, consuming before it returns and closed when the test
// ends; edit, when given, changes the test configuration.
func startGateway(t testing.TB, s gatewaytest.RocketMQ, edit func(*gateway.Config)) *gateway.Gateway {
	t.Helper()
	cfg := gateway.Config{ParentTopics: parents, InstanceID: uniq(t, "gw"), Cluster: testCluster(t), Logger: testLogger(t)}
	if edit != nil {
		edit(&cfg)
	}
	return gatewaytest.Start(t, s, cfg)
}

// runNonce tells this run's clusters from an earlier run's on a real
// broker, which outlives a test binary.
var runNonce = strconv.FormatInt(time.Now().UnixNano()%(1<<40), 36)

// testCluster names the cluster of a test's gateways: the same for every
// gateway of one test, and no other test's, so that on a real broker no
// test reads another's directory.
func testCluster(t testing.TB) string {
	h := fnv.New32a()
	h.Write([]byte(t.Name()))
	return "t" + strconv.FormatUint(uint64(h.Sum32()), 36) + runNonce
}

// storedTopics returns the topics of s that may hold what a test's devices
// or backends stored: not the topics and queues of a cluster's own
// (directory, routed copies, inboxes and session queues).
func storedTopics(t testing.TB, s rocketMQ) []string {
	cluster := testCluster(t)
	var out []string
	for _, topic := range s.Topics() {
		if !strings.HasPrefix(topic, cluster+"_") && !strings.HasPrefix(topic, "%LMQ%"+cluster+"-") {
			out = append(out, topic)
		}
	}
	return out
}

// received is one message a device got.
type received struct {
	Topic    string
	QoS      byte
	Retained bool
	Payload  string
}

// device is a real paho client connected to a gateway.
type device struct {
	paho.Client
	id  string
	got chan received
}

type deviceOpt func(*paho.ClientOptions)

func persistent(o *paho.ClientOptions) { o.SetCleanSession(false) }

func autoReconnect(o *paho.ClientOptions) {
	o.SetAutoReconnect(true).SetConnectRetry(true).SetMaxReconnectInterval(200 * time.Millisecond).
		SetStore(newCopyingStore())
}

func credentials(user, pass string) deviceOpt {
	return func(o *paho.ClientOptions) { o.SetUsername(user).SetPassword(pass) }
}

// connect connects a device with the given client ID to g; every message
// it receives, subscribed or not, lands in its got channel.
func connect(t testing.TB, g *gateway.Gateway, id string, opts ...deviceOpt) *device {
	t.Helper()
	d, err := dial(g.Addr(), id, opts...)
	if err != nil {
		t.Fatalf("device %s: connect: %v", id, err)
	}
	t.Cleanup(func() { d.Disconnect(0) })
	return d
}

func dial(addr, id string, opts ...deviceOpt) (*device, error) {
	d := &device{id: id, got: make(chan received, 10000)}
	o := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetCleanSession(true).SetAutoReconnect(false).SetOrderMatters(true).
		SetKeepAlive(30 * time.Second).SetConnectTimeout(5 * time.Second).SetProtocolVersion(4).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
			d.got <- received{Topic: m.Topic(), QoS: m.Qos(), Retained: m.Retained(), Payload: string(m.Payload())}
		})
	for _, f := range opts {
		f(o)
	}
	d.Client = paho.NewClient(o)
	tok := d.Connect()
	if !tok.WaitTimeout(deadline) {
		return nil, fmt.Errorf("connect timed out")
	}
	return d, tok.Error()
}

// subscribe subscribes and returns the granted QoS (0x80 when refused).
func (d *device) subscribe(t testing.TB, filter string, qos byte) byte {
	t.Helper()
	tok := d.Subscribe(filter, qos, nil)
	if !tok.WaitTimeout(deadline) || tok.Error() != nil {
		t.Fatalf("%s: subscribe %q: %v", d.id, filter, tok.Error())
	}
	// paho keys a shared subscription's result by its inner filter.
	res := tok.(*paho.SubscribeToken).Result()
	if len(res) != 1 {
		t.Fatalf("%s: subscribe %q: %d results", d.id, filter, len(res))
	}
	for _, code := range res {
		return code
	}
	return 0
}

func (d *device) mustSubscribe(t testing.TB, filter string, qos byte) {
	t.Helper()
	if code := d.subscribe(t, filter, qos); code > 2 {
		t.Fatalf("%s: subscribe %q refused with %#x", d.id, filter, code)
	}
}

func (d *device) publish(t testing.TB, topic string, qos byte, payload string) {
	t.Helper()
	tok := d.Publish(topic, qos, false, payload)
	if !tok.WaitTimeout(deadline) || tok.Error() != nil {
		t.Fatalf("%s: publish %q: %v", d.id, topic, tok.Error())
	}
}

// next returns the next message the device receives.
func (d *device) next(t testing.TB) received {
	t.Helper()
	select {
	case m := <-d.got:
		return m
	case <-time.After(deadline):
		t.Fatalf("%s: no message arrived", d.id)
		return received{}
	}
}

// none checks that nothing is waiting for the device.
func (d *device) none(t testing.TB) {
	t.Helper()
	select {
	case m := <-d.got:
		t.Errorf("%s received %+v; want nothing", d.id, m)
	default:
	}
}

// backend is a real rocketmq-client-go producer, as a backend service runs one.
// It sends every message of one test through one queue (hash of a fixed
// sharding key), so the gateway's orderly consumer hands them over in order.
//
// Its first send to each topic goes alone: rocketmq-client-go publishes a
// topic's queues to other senders before it stores the brokers' addresses,
// so a concurrent first send can find a queue but no broker address and
// fail at once with "topic=... route info not found", without retrying
// (apache/rocketmq-client-go#1173).
type backend struct {
	rocketmq.Producer
	firstMu sync.Mutex
	routed  map[string]bool // topics this producer has sent to, made by the first send
}

func newBackend(t testing.TB, s gatewaytest.RocketMQ) *backend {
	t.Helper()
	p, err := rocketmq.NewProducer(
		producer.WithNameServer([]string{s.Addr()}),
		producer.WithGroupName(uniq(t, "backend")),
		producer.WithInstanceName(uniq(t, "backend")),
		producer.WithQueueSelector(producer.NewHashQueueSelector()),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Shutdown() })
	return &backend{Producer: p}
}

// send sends m, ordered behind every earlier message of the test.
func (b *backend) send(t testing.TB, m *primitive.Message) {
	t.Helper()
	if err := b.trySend(m); err != nil {
		t.Fatal(err)
	}
}

// trySend is send for a goroutine other than the test's, which may not
// call t.Fatal.
func (b *backend) trySend(m *primitive.Message) error {
	m.WithShardingKey("test-order")
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	b.firstMu.Lock()
	first := !b.routed[m.Topic]
	if !first {
		b.firstMu.Unlock()
	}
	r, err := b.SendSync(ctx, m)
	if first {
		if b.routed == nil {
			b.routed = map[string]bool{}
		}
		b.routed[m.Topic] = err == nil
		b.firstMu.Unlock()
	}
	if err == nil && r.Status != primitive.SendOK {
		err = fmt.Errorf("status %d", r.Status)
	}
	if err != nil {
		return fmt.Errorf("backend send: %w", err)
	}
	return nil
}

// collector is a backend's push consumer that keeps what it reads.
type collector struct {
	mu   sync.Mutex
	msgs []*primitive.MessageExt
	more chan struct{}
}

func collect(t testing.TB, s gatewaytest.RocketMQ, topic, tags string) *collector {
	t.Helper()
	c := &collector{more: make(chan struct{}, 1)}
	var guard rocketmqtest.ConsumerGuard
	group := uniq(t, "readers")
	pc, err := rocketmq.NewPushConsumer(
		consumer.WithNameServer([]string{s.Addr()}),
		consumer.WithGroupName(group),
		consumer.WithInstance(uniq(t, "reader")),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
		consumer.WithStrategy(guard.Strategy(nil)),
	)
	if err != nil {
		t.Fatal(err)
	}
	err = pc.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: tags},
		func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			c.mu.Lock()
			c.msgs = append(c.msgs, msgs...)
			c.mu.Unlock()
			select {
			case c.more <- struct{}{}:
			default:
			}
			return consumer.ConsumeSuccess, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Start(); err != nil {
		t.Fatal(err)
	}
	// The client races with itself when it is shut down during a
	// rebalance or as a pull brings messages (see rocketmqtest.ConsumerGuard).
	t.Cleanup(func() {
		if !t.Failed() {
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			if err := s.WaitForCaughtUp(ctx, group); err != nil {
				t.Errorf("backend consumer never caught up: %v", err)
			}
		}
		guard.Shutdown(pc)
	})
	return c
}

// wait returns once the collector holds n messages.
func (c *collector) wait(t testing.TB, n int) []*primitive.MessageExt {
	t.Helper()
	timeout := time.After(deadline)
	for {
		c.mu.Lock()
		got := append([]*primitive.MessageExt(nil), c.msgs...)
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-c.more:
		case <-timeout:
			t.Fatalf("backend read %d messages; want %d", len(got), n)
		}
	}
}

// eventually waits until cond holds.
// joined waits until every gateway of gws has every other in its
// directory: a retained message, which goes to every instance, reaches
// them all from then on.
func joined(t testing.TB, gws ...*gateway.Gateway) {
	t.Helper()
	eventually(t, fmt.Sprintf("the %d instances know each other", len(gws)), func() bool {
		for _, g := range gws {
			if g.Stats().ClusterInstances < int64(len(gws)) {
				return false
			}
		}
		return true
	})
}

// knows waits until g dispatches a message to topic (P2P to p2p, when not
// empty) to at least n queues: until the subscriptions and connections of
// other instances that the test made have reached g's directory. Without
// it, a message published at once may miss them (see the package
// documentation: the directory's propagation).
func knows(t testing.TB, g *gateway.Gateway, topic, p2p string, n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s is dispatched to %d queues", topic, n), func() bool { return len(g.DispatchOf(topic, p2p)) >= n })
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, deadline)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
