package rocketmqtest_test

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

// The Light Message Queue sessions. A real broker outlives the test and
// keeps its Light Message Queues (they cannot be deleted like topics), so
// every run names its own, and the lines say "%LMQ%run" for the run's
// prefix; consumer groups are named per run too and written GROUP.

// Request codes and the broker's response codes the sessions name.
const (
	reqPull           = 11
	reqQueryOffset    = 14
	reqUpdateOffset   = 15
	reqSearchOffset   = 29
	reqMaxOffset      = 30
	reqMinOffset      = 31
	reqEarliestTime   = 32
	reqSendBack       = 36
	lmqRunPlaceholder = "%LMQ%run"
)

// lmqRun is one session's names and the means to write them out of its lines.
type lmqRun struct {
	prefix string            // "%LMQ%diff_lmq_…": the run's queues start with it
	names  map[string]string // per-run name -> what the lines say
}

func newLMQRun() *lmqRun {
	return &lmqRun{prefix: "%LMQ%" + diffName("lmq"), names: map[string]string{}}
}

// queue names one of the run's Light Message Queues.
func (r *lmqRun) queue(s string) string { return r.prefix + "_" + s }

// group names a consumer group of the run, written as placeholder.
func (r *lmqRun) group(kind, placeholder string) string {
	g := diffName(kind)
	if strings.HasPrefix(placeholder, "%LMQ%") {
		g = "%LMQ%" + g
	}
	r.names[g] = placeholder
	return g
}

// redact writes the run's names as the lines compare them.
func (r *lmqRun) redact(lines []string) []string {
	keys := make([]string, 0, len(r.names))
	for k := range r.names {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	out := make([]string, len(lines))
	for i, l := range lines {
		for _, k := range keys {
			l = strings.ReplaceAll(l, k, r.names[k])
		}
		out[i] = strings.ReplaceAll(l, r.prefix, lmqRunPlaceholder)
	}
	return out
}

// addrRE matches the address of the client in a broker's remark.
var addrRE = regexp.MustCompile(`/?127\.0\.0\.1:\d+`)

// request makes a request of the broker and says what it answered: the
// code, the remark with the client's address left out, and the fields
// named.
func request(t *testing.T, tg *diffTarget, what string, code int, ext map[string]string, fields ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := tg.raw.Request(ctx, code, ext)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	line := fmt.Sprintf("%s: code=%d", what, r.Code)
	if r.Remark != "" {
		line += fmt.Sprintf(" remark=%q", addrRE.ReplaceAllString(r.Remark, "ADDR"))
	}
	for _, f := range fields {
		line += fmt.Sprintf(" %s=%s", f, r.Fields[f])
	}
	return line
}

func queueFields(topic string, q int) map[string]string {
	return map[string]string{"topic": topic, "queueId": strconv.Itoa(q)}
}

// queueBounds says a queue's min and max offsets as the broker answers them.
func queueBounds(t *testing.T, tg *diffTarget, what, topic string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	minOff, err := tg.raw.MinOffset(ctx, topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	maxOff, err := tg.raw.MaxOffset(ctx, topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s: min=%d max=%d", what, minOff, maxOff)
}

// waitMaxOffset waits until queue 0 of topic holds n messages: a real
// broker indexes a stored message in its queues (and in Light Message
// Queues) a moment after it answered the send.
func waitMaxOffset(t *testing.T, tg *diffTarget, topic string, n int64) {
	t.Helper()
	waitQueueOffset(t, tg, topic, 0, n)
}

// waitQueueOffset waits until queue q of topic holds n messages.
func waitQueueOffset(t *testing.T, tg *diffTarget, topic string, q int, n int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		got, err := tg.raw.MaxOffset(ctx, topic, q)
		if err == nil && got >= n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("queue %d of %s holds %d messages (%v); want %d", q, topic, got, err, n)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// lmqMessage is a message for queue q of topic, dispatched to list
// (unless list is empty), with more properties as key, value pairs.
func lmqMessage(topic string, q int, body, list string, props ...string) *primitive.Message {
	m := onQueue(primitive.NewMessage(topic, []byte(body)), q)
	if list != "" {
		m.WithProperty("INNER_MULTI_DISPATCH", list)
	}
	for i := 0; i+1 < len(props); i += 2 {
		m.WithProperty(props[i], props[i+1])
	}
	return m
}

// startLMQPuller starts a pull consumer of group that pulls only with
// PullFrom: it starts only with a topic the name server routes, which a
// Light Message Queue never is, so it is given routed with no queues.
func startLMQPuller(t *testing.T, tg *diffTarget, group, routed string) rocketmq.PullConsumer {
	t.Helper()
	pc, err := consumer.NewPullConsumer(consumer.WithNameServer([]string{tg.ns}), consumer.WithGroupName(group),
		consumer.WithInstance(diffName("lmq_puller")))
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Assign(routed, nil); err != nil {
		t.Fatal(err)
	}
	if err := pc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Shutdown() })
	return pc
}

// pullFrom pulls queue 0 of a Light Message Queue from an offset with the
// client and describes what it got.
func pullFrom(pc rocketmq.PullConsumer, lmq string, from int64) ([]string, []*primitive.MessageExt) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mq := &primitive.MessageQueue{Topic: lmq, BrokerName: rocketmqtest.BrokerName, QueueId: 0}
	r, err := pc.PullFrom(ctx, mq, from, 32)
	if err != nil {
		return []string{fmt.Sprintf("pull %s from %d: error %s", lmq, from, errCode(err))}, nil
	}
	lines := []string{fmt.Sprintf("pull %s from %d: status=%d next=%d min=%d max=%d messages=%d",
		lmq, from, r.Status, r.NextBeginOffset, r.MinOffset, r.MaxOffset, len(r.GetMessageExts()))}
	for _, m := range r.GetMessageExts() {
		lines = append(lines, "  "+describe(m)+" in "+m.Queue.Topic)
	}
	return lines, r.GetMessageExts()
}

// sessionLMQ: messages dispatched to Light Message Queues and read back,
// as Apache RocketMQ-MQTT and the gateway's cluster layer use them: the
// offsets the broker writes into INNER_MULTI_QUEUE_OFFSET, what batches,
// blank lists and delayed messages do, pulls by offset with
// rocketmq-client-go's pull consumer (long polling included), and a
// message that a consumer sends back to its dead-letter queue.
func sessionLMQ(t *testing.T, tg *diffTarget) []string {
	topic := "diff_lmq"
	tg.topic(t, topic, 2)
	run := newLMQRun()
	a, b, c := run.queue("a"), run.queue("b"), run.queue("c")
	p := newDiffProducer(t, tg, producer.WithQueueSelector(producer.NewManualQueueSelector()))
	send := func(what string, msgs ...*primitive.Message) string {
		return what + ": " + sendLine(p.SendSync(context.Background(), msgs...))
	}
	lines := []string{
		send("to a and b", lmqMessage(topic, 1, "m0", a+","+b)),
		send("to a", lmqMessage(topic, 0, "m1", a)),
		send("to b and a, a trailing comma", lmqMessage(topic, 0, "m2", b+","+a+",")),
		send("a blank list", lmqMessage(topic, 0, "m3", "   ")),
		send("to c, with the sender's offsets", lmqMessage(topic, 0, "m4", c, "INNER_MULTI_QUEUE_OFFSET", "77")),
		send("a batch to c", lmqMessage(topic, 1, "batch0", c), lmqMessage(topic, 1, "batch1", c)),
	}
	delayed := lmqMessage(topic, 0, "delayed", c)
	delayed.WithDelayTimeLevel(1)
	// Its offset is the one it took in SCHEDULE_TOPIC_XXXX: not compared.
	lines = append(lines, regexp.MustCompile(` offset=\d+`).ReplaceAllString(send("delayed 1 s, to c", delayed), ""))
	lines = append(lines, send("to a Light Message Queue itself", primitive.NewMessage(a, []byte("direct"))))
	waitMaxOffset(t, tg, c, 2) // the delayed message, delivered
	for _, q := range []string{a, b, c, run.queue("never")} {
		lines = append(lines, queueBounds(t, tg, q, q))
	}

	group := run.group("lmq_group", "GROUP")
	pc := startLMQPuller(t, tg, group, topic)
	for _, from := range []int64{0, 2, 100} {
		l, _ := pullFrom(pc, a, from)
		lines = append(lines, l...)
	}
	l, _ := pullFrom(pc, c, 0)
	lines = append(lines, l...)

	// A pull at the end of a Light Message Queue waits for its next message.
	held := make(chan []string, 1)
	go func() {
		l, _ := pullFrom(pc, a, 3)
		held <- l
	}()
	time.Sleep(time.Second)
	lines = append(lines, send("to a, while a pull waits", lmqMessage(topic, 0, "m5", a)))
	lines = append(lines, <-held...)

	// A message sent back by a consumer that may not retry it goes to its
	// group's dead-letter topic, which the broker dispatches like any other.
	_, msgs := pullFrom(pc, a, 1)
	if len(msgs) == 0 {
		t.Fatalf("%s: nothing to send back", tg.name)
	}
	m1 := msgs[0]
	lines = append(lines, request(t, tg, "send m1 back, never to retry", reqSendBack, map[string]string{
		"offset": strconv.FormatInt(m1.CommitLogOffset, 10), "group": group, "delayLevel": "0",
		"originMsgId": m1.MsgId, "originTopic": topic, "unitMode": "false", "maxReconsumeTimes": "0",
	}))
	waitMaxOffset(t, tg, a, 5)
	l, _ = pullFrom(pc, a, 4)
	lines = append(lines, l...)
	return run.redact(lines)
}

// sessionLMQOffsets: the offset requests on a Light Message Queue, and
// the consumer offsets of a group on one: committed by the group only
// once the broker knows the group, read back by the client; a group named
// as a Light Message Queue.
func sessionLMQOffsets(t *testing.T, tg *diffTarget) []string {
	topic := "diff_lmq_offsets"
	tg.topic(t, topic, 1)
	run := newLMQRun()
	a, never := run.queue("a"), run.queue("never")
	group := run.group("lmq_offsets", "GROUP")
	lmqGroup := run.group("lmq_offsets", "%LMQ%GROUP")
	commit := func(what, g string, q int, off int64) string {
		return request(t, tg, what, reqUpdateOffset, map[string]string{
			"consumerGroup": g, "topic": a, "queueId": strconv.Itoa(q), "commitOffset": strconv.FormatInt(off, 10)})
	}
	query := func(what, g string, q int) string {
		return request(t, tg, what, reqQueryOffset, map[string]string{
			"consumerGroup": g, "topic": a, "queueId": strconv.Itoa(q), "setZeroIfNotFound": "false"}, "offset")
	}
	lines := []string{
		commit("commit by a group the broker never saw", group, 0, 1),
		query("its offset", group, 0),
	}
	p := newDiffProducer(t, tg)
	mustSend := func(body string) {
		if _, err := p.SendSync(context.Background(), lmqMessage(topic, 0, body, a)); err != nil {
			t.Fatal(err)
		}
	}
	mustSend("m0")
	time.Sleep(100 * time.Millisecond)
	between := time.Now()
	time.Sleep(100 * time.Millisecond)
	mustSend("m1")
	mustSend("m2")
	waitMaxOffset(t, tg, a, 3)
	search := func(what, topic string, ts time.Time) string {
		f := queueFields(topic, 0)
		f["timestamp"] = strconv.FormatInt(ts.UnixMilli(), 10)
		return request(t, tg, what, reqSearchOffset, f, "offset")
	}
	earliest := func(what, topic string) string {
		l := request(t, tg, what, reqEarliestTime, queueFields(topic, 0), "timestamp")
		return regexp.MustCompile(`timestamp=[1-9]\d*$`).ReplaceAllString(l, "timestamp=(a time)")
	}
	pullQueue1 := queueFields(a, 1)
	for k, v := range map[string]string{"consumerGroup": group, "queueOffset": "0", "maxMsgNums": "32", "sysFlag": "4",
		"commitOffset": "0", "suspendTimeoutMillis": "0", "subscription": "*", "subVersion": "0", "expressionType": "TAG"} {
		pullQueue1[k] = v
	}
	lines = append(lines,
		search("search from the epoch", a, time.UnixMilli(0)),
		search("search from between m0 and m1", a, between),
		search("search from an hour ahead", a, time.Now().Add(time.Hour)),
		search("search an empty queue", never, time.UnixMilli(0)),
		earliest("earliest store time", a),
		earliest("earliest store time of an empty queue", never),
		request(t, tg, "max offset of queue 1", reqMaxOffset, queueFields(a, 1), "offset"),
		request(t, tg, "min offset of queue 1", reqMinOffset, queueFields(a, 1), "offset"),
		request(t, tg, "pull queue 1", reqPull, pullQueue1),
	)

	pc := startLMQPuller(t, tg, group, topic) // its heartbeat makes the group known
	mq := &primitive.MessageQueue{Topic: a, BrokerName: rocketmqtest.BrokerName, QueueId: 0}
	lines = append(lines,
		commit("commit once the group pulled", group, 0, 2),
		query("its offset", group, 0),
		query("its offset on queue 1", group, 1),
	)
	off, err := pc.CurrentOffset(mq)
	lines = append(lines, fmt.Sprintf("the client's CurrentOffset: %d %v", off, err))
	off, err = pc.OffsetForTimestamp(mq, between.UnixMilli())
	lines = append(lines, fmt.Sprintf("the client's OffsetForTimestamp(between m0 and m1): %d %v", off, err))
	// The client commits only the queues it was assigned.
	pc.UpdateOffset(mq, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = pc.PersistOffset(ctx, a)
	time.Sleep(500 * time.Millisecond) // the client commits one-way
	lines = append(lines, fmt.Sprintf("the client's UpdateOffset(3) and PersistOffset: %v", err), query("its offset", group, 0))
	lines = append(lines,
		commit("commit by a group named as a Light Message Queue, on queue 5", lmqGroup, 5, 7),
		query("its offset on queue 0", lmqGroup, 0),
		query("its offset on queue 3", lmqGroup, 3),
	)
	return run.redact(lines)
}

// sessionLMQSizes: the broker checks a dispatched message's size again
// once it has written INNER_MULTI_QUEUE_OFFSET into it, and against the
// whole stored message rather than its body.
func sessionLMQSizes(t *testing.T, tg *diffTarget) []string {
	topic := "diff_lmq_sizes"
	tg.topic(t, topic, 1)
	run := newLMQRun()
	a := run.queue("a")
	p := newDiffProducer(t, tg, producer.WithRetry(0), producer.WithCompressMsgBodyOverHowmuch(16<<20))
	send := func(what string, m *primitive.Message) string {
		return what + ": " + sendLine(p.SendSync(context.Background(), m))
	}
	body := make([]byte, 4<<20-64)
	// The properties, 10 bytes short of 32767 once the client has added
	// UNIQ_KEY and the broker CLUSTER, MSG_REGION and TRACE_ON; the
	// broker's INNER_MULTI_QUEUE_OFFSET adds 27. In the second message a
	// property of the same length stands for INNER_MULTI_DISPATCH.
	const added = len("UNIQ_KEY\x01\x02") + 32 + len("CLUSTER\x01DefaultCluster\x02MSG_REGION\x01DefaultRegion\x02TRACE_ON\x01true\x02")
	dispatch := len("INNER_MULTI_DISPATCH\x01\x02") + len(a)
	pad := strings.Repeat("v", 32767-10-added-dispatch-len("pad\x01\x02"))
	lines := []string{
		send("a body 64 bytes short of 4 MiB, dispatched", lmqMessage(topic, 0, string(body), a)),
		send("the same, not dispatched", lmqMessage(topic, 0, string(body), "")),
		send("properties that fit until the broker adds the offsets", lmqMessage(topic, 0, "x", a, "pad", pad)),
		send("the same with another property in place of the list", lmqMessage(topic, 0, "x", "", "pad", pad, "INNER_MULTI_DISPATCZ", a)),
	}
	send("one more", lmqMessage(topic, 0, "last", a))
	waitMaxOffset(t, tg, a, 1)
	return run.redact(append(lines, queueBounds(t, tg, "the queue", a)))
}

// sessionLMQMishandled: dispatch lists a real broker accepts and then
// mishandles, where that harms no other message (the lists that stop its
// dispatch for good, a plain name before a Light Message Queue, are not
// sent to it): rocketmqtest refuses them (rocketmqtest/README.md).
func sessionLMQMishandled(t *testing.T, tg *diffTarget) []string {
	topic := "diff_lmq_mishandled"
	tg.topic(t, topic, 1)
	run := newLMQRun()
	d, e, f, g, h := run.queue("d"), run.queue("e"), run.queue("f"), run.queue("g"), run.queue("h")
	p := newDiffProducer(t, tg, producer.WithRetry(0))
	send := func(what, list string) string {
		return what + ": " + sendLine(p.SendSync(context.Background(), lmqMessage(topic, 0, what, list)))
	}
	lines := []string{
		send("a plain name after d", d+",plain"),
		send("d alone", d),
		send("e twice", e+","+e),
		send("e alone", e),
		send("f with a slash, then g", f+"/x,"+g),
		send("h", h),
	}
	waitMaxOffset(t, tg, h, 1) // the broker indexes in order: everything before is done
	for _, q := range []string{d, e, f + "/x", g} {
		lines = append(lines, queueBounds(t, tg, q, q))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := tg.raw.QueueMessages(ctx, topic, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		lines = append(lines, fmt.Sprintf("stored %s: INNER_MULTI_QUEUE_OFFSET=%q", m.Body, m.GetProperty("INNER_MULTI_QUEUE_OFFSET")))
	}
	return run.redact(lines)
}
