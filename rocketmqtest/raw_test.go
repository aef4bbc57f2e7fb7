package rocketmqtest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	"go.uber.org/goleak"
)

// rawClient speaks the remoting protocol with this package's own codec, for
// requests no real client sends: unknown codes, broken frames, hand-made
// pulls.
type rawClient struct {
	t      testing.TB
	nc     net.Conn
	br     *bufio.Reader
	opaque int32
}

func dialRaw(t testing.TB, s *Server) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawClient{t: t, nc: nc, br: bufio.NewReader(nc)}
}

// send writes a request and returns its opaque.
func (rc *rawClient) send(code RequestCode, flag int32, ser byte, ext map[string]string, body []byte) int32 {
	rc.t.Helper()
	rc.opaque++
	r := &reply{code: int16(code), flag: flag, opaque: rc.opaque, serialize: ser}
	keys := make([]string, 0, len(ext))
	for k := range ext {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r.add(k, ext[k])
	}
	if body != nil {
		r.body = [][]byte{body}
	}
	bufs := r.encode()
	if _, err := bufs.WriteTo(rc.nc); err != nil {
		rc.t.Fatalf("write request: %v", err)
	}
	return rc.opaque
}

// read reads the next command, with a failure deadline.
func (rc *rawClient) read() (*request, error) {
	rc.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var word [4]byte
	if _, err := io.ReadFull(rc.br, word[:]); err != nil {
		return nil, err
	}
	frame := make([]byte, binary.BigEndian.Uint32(word[:]))
	if _, err := io.ReadFull(rc.br, frame); err != nil {
		return nil, err
	}
	return decodeRequest(frame)
}

// call sends a JSON request and returns its response, skipping requests the
// server sends meanwhile.
func (rc *rawClient) call(code RequestCode, ext map[string]string, body []byte) *request {
	rc.t.Helper()
	op := rc.send(code, 0, serializeJSON, ext, body)
	return rc.responseTo(op)
}

func (rc *rawClient) responseTo(op int32) *request {
	rc.t.Helper()
	for {
		r, err := rc.read()
		if err != nil {
			rc.t.Fatalf("read response to opaque %d: %v", op, err)
		}
		if r.flag&flagResponse != 0 && r.opaque == op {
			return r
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines to log to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestUnknownRequestCode(t *testing.T) {
	var logs syncBuffer
	s := newTestServer(t, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	for _, ser := range []byte{serializeJSON, serializeRocketMQ} {
		rc := dialRaw(t, s)
		op := rc.send(9999, 0, ser, map[string]string{"x": "y"}, []byte("body"))
		r, err := rc.read()
		if err != nil {
			t.Fatalf("serialize %d: read: %v", ser, err)
		}
		if ResponseCode(r.code) != CodeRequestCodeNotSupported || r.opaque != op || r.flag&flagResponse == 0 ||
			r.remark != " request type 9999 not supported" || r.serialize != ser {
			t.Errorf("serialize %d: response = code %v opaque %d flag %d remark %q serialize %d; want %v, %d, response, the broker's remark, %d",
				ser, ResponseCode(r.code), r.opaque, r.flag, r.remark, r.serialize, CodeRequestCodeNotSupported, op, ser)
		}
	}
	if got := s.Requests(9999); got != 2 {
		t.Errorf("Requests(9999) = %d; want 2", got)
	}
	if !strings.Contains(logs.String(), "unsupported request") {
		t.Errorf("the logger did not record the unsupported request:\n%s", logs.String())
	}
}

// A one-way request gets no response, whatever its code.
func TestOnewayGetsNoResponse(t *testing.T) {
	s := newTestServer(t)
	rc := dialRaw(t, s)
	rc.send(9999, flagOneway, serializeJSON, nil, nil)
	rc.send(UpdateConsumerOffset, flagOneway, serializeJSON, map[string]string{"consumerGroup": "g", "topic": "nope", "queueId": "0", "commitOffset": "1"}, nil)
	op := rc.send(GetMaxOffset, 0, serializeJSON, map[string]string{"topic": "nope", "queueId": "0"}, nil)
	r, err := rc.read()
	if err != nil {
		t.Fatal(err)
	}
	if r.opaque != op {
		t.Errorf("first response has opaque %d; want %d, the only two-way request", r.opaque, op)
	}
}

// A frame the broker cannot decode closes that connection and no other.
func TestMalformedFramesCloseOnlyTheirConnection(t *testing.T) {
	s := newTestServer(t)
	good := dialRaw(t, s)
	for name, frame := range map[string][]byte{
		"negative length":  {0xff, 0xff, 0xff, 0xff},
		"length too small": {0, 0, 0, 2, 0, 0},
		"length too large": {0x7f, 0xff, 0xff, 0xff},
		"bad header":       {0, 0, 0, 7, 0, 0, 0, 3, 'x', 'y', 'z'},
	} {
		bad := dialRaw(t, s)
		if _, err := bad.nc.Write(frame); err != nil {
			t.Fatal(err)
		}
		if r, err := bad.read(); err == nil {
			t.Errorf("%s: got a response %+v; want the connection closed", name, r)
		}
		r := good.call(GetMaxOffset, map[string]string{"topic": "T", "queueId": "0"}, nil)
		if ResponseCode(r.code) != CodeSuccess {
			t.Errorf("%s: other connection's request answered %v", name, ResponseCode(r.code))
		}
	}
}

// A header field that is missing or not a number is refused, not guessed.
func TestMalformedHeaderRefused(t *testing.T) {
	s := newTestServer(t)
	rc := dialRaw(t, s)
	for _, tc := range []struct {
		code RequestCode
		ext  map[string]string
	}{
		{PullMessage, map[string]string{"consumerGroup": "g", "topic": "T", "queueId": "x"}},
		{SendMessage, map[string]string{"producerGroup": "g"}},
		{SendMessageV2, map[string]string{"a": "g", "b": "T"}},
		{QueryConsumerOffset, map[string]string{"consumerGroup": "g"}},
		{ConsumerSendMsgBack, map[string]string{"group": "g", "offset": "-"}},
		{SearchOffsetByTimestamp, map[string]string{"topic": "T", "queueId": "0"}},
		{ViewMessageByID, nil},
		{UpdateAndCreateTopic, map[string]string{"topic": "T"}},
		{GetRouteInfoByTopic, nil},
		{HeartBeat, nil},
		{LockBatchMQ, nil},
	} {
		r := rc.call(tc.code, tc.ext, nil)
		if ResponseCode(r.code) == CodeSuccess {
			t.Errorf("%v with header %v answered SUCCESS", tc.code, tc.ext)
		}
	}
}

func newTestServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := Start(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// sendRaw stores one message through SEND_MESSAGE.
func sendRaw(t testing.TB, rc *rawClient, topic, tags string, body []byte) *request {
	t.Helper()
	props := ""
	if tags != "" {
		props = "TAGS\x01" + tags + "\x02"
	}
	r := rc.call(SendMessage, map[string]string{
		"producerGroup": "PG", "topic": topic, "defaultTopic": "TBW102", "defaultTopicQueueNums": "4",
		"queueId": "0", "sysFlag": "0", "bornTimestamp": "1", "flag": "0", "properties": props,
	}, body)
	if ResponseCode(r.code) != CodeSuccess {
		t.Fatalf("send to %s: %v %q", topic, ResponseCode(r.code), r.remark)
	}
	return r
}

func pullHeader(topic string, offset int64, suspendMillis int, sub string) map[string]string {
	return map[string]string{
		"consumerGroup": "G", "topic": topic, "queueId": "0", "queueOffset": strconv.FormatInt(offset, 10),
		"maxMsgNums": "32", "sysFlag": strconv.Itoa(pullFlagSuspend | pullFlagSubscription), "commitOffset": "0",
		"suspendTimeoutMillis": strconv.Itoa(suspendMillis), "subscription": sub, "expressionType": "TAG",
	}
}

// Long polling: a pull at the end of a queue is held until a matching message
// arrives (a message the subscription excludes does not wake it, until the
// next hold check), or until its suspend time is up.
func TestHeldPull(t *testing.T) {
	s := newTestServer(t)
	if err := s.CreateTopic("T", 1); err != nil {
		t.Fatal(err)
	}
	consumer, producer := dialRaw(t, s), dialRaw(t, s)

	op := consumer.send(PullMessage, 0, serializeJSON, pullHeader("T", 0, 60000, "a || b"), nil)
	waitFor(t, "the pull to be held", func() bool { return s.HeldPulls() == 1 })
	sendRaw(t, producer, "T", "c", []byte("excluded"))
	if s.HeldPulls() != 1 {
		t.Fatal("a message the subscription excludes answered the held pull")
	}
	sendRaw(t, producer, "T", "b", []byte("wanted"))
	r := consumer.responseTo(op)
	if ResponseCode(r.code) != CodeSuccess {
		t.Fatalf("woken pull = %v %q; want SUCCESS", ResponseCode(r.code), r.remark)
	}
	msgs := primitive.DecodeMessage(r.body)
	if len(msgs) != 1 || string(msgs[0].Body) != "wanted" || msgs[0].QueueOffset != 1 {
		t.Fatalf("woken pull delivered %v; want the one message tagged b, at offset 1", msgs)
	}
	if got := r.ext.get("nextBeginOffset"); got != "2" {
		t.Errorf("nextBeginOffset = %s; want 2", got)
	}
	if got := r.ext.get("maxOffset"); got != "2" {
		t.Errorf("maxOffset = %s; want 2", got)
	}

	// Nothing arrives: the pull is answered PULL_NOT_FOUND when its
	// suspend time is up.
	op = consumer.send(PullMessage, 0, serializeJSON, pullHeader("T", 2, 50, "*"), nil)
	r = consumer.responseTo(op)
	if ResponseCode(r.code) != CodePullNotFound || r.ext.get("nextBeginOffset") != "2" || r.remark != statusOffsetOverflowOne {
		t.Errorf("expired pull = %v %q next %s; want PULL_NOT_FOUND OFFSET_OVERFLOW_ONE next 2",
			ResponseCode(r.code), r.remark, r.ext.get("nextBeginOffset"))
	}
	if n := s.HeldPulls(); n != 0 {
		t.Errorf("HeldPulls() = %d after expiry; want 0", n)
	}
}

// A held pull whose queue grows only by messages its filter excludes is
// answered at the next hold check, within 5 s, as PullRequestHoldService
// does, so that its consumer moves past them.
func TestHeldPullPassesExcludedMessages(t *testing.T) {
	t.Parallel() // it waits for the 5 s check
	s := newTestServer(t)
	if err := s.CreateTopic("T", 1); err != nil {
		t.Fatal(err)
	}
	consumer, producer := dialRaw(t, s), dialRaw(t, s)
	op := consumer.send(PullMessage, 0, serializeJSON, pullHeader("T", 0, 60000, "a"), nil)
	waitFor(t, "the pull to be held", func() bool { return s.HeldPulls() == 1 })
	sendRaw(t, producer, "T", "c", []byte("excluded"))
	sendRaw(t, producer, "T", "d", []byte("excluded too"))
	r := consumer.responseTo(op)
	if ResponseCode(r.code) != CodePullRetryImmediately || r.remark != statusNoMatchedMessage || r.ext.get("nextBeginOffset") != "2" || len(r.body) != 0 {
		t.Errorf("held pull answered %v %q next %s with %d body bytes; want PULL_RETRY_IMMEDIATELY NO_MATCHED_MESSAGE next 2, no messages",
			ResponseCode(r.code), r.remark, r.ext.get("nextBeginOffset"), len(r.body))
	}
}

// pullStatusCases follow DefaultMessageStore.getMessage and
// PullMessageProcessor's mapping of its statuses to response codes.
func TestPullStatuses(t *testing.T) {
	s := newTestServer(t)
	for _, topic := range []string{"Empty", "Two"} {
		if err := s.CreateTopic(topic, 1); err != nil {
			t.Fatal(err)
		}
	}
	rc := dialRaw(t, s)
	sendRaw(t, rc, "Two", "x", []byte("0"))
	sendRaw(t, rc, "Two", "y", []byte("1"))
	for _, tc := range []struct {
		topic  string
		offset int64
		sub    string
		code   ResponseCode
		status string
		next   string
		n      int
	}{
		{"Empty", 0, "*", CodePullNotFound, statusNoMessageInQueue, "0", 0},
		{"Empty", 3, "*", CodePullOffsetMoved, statusNoMessageInQueue, "0", 0},
		{"Two", -1, "*", CodePullOffsetMoved, statusOffsetTooSmall, "0", 0},
		{"Two", 0, "*", CodeSuccess, statusFound, "2", 2},
		{"Two", 1, "*", CodeSuccess, statusFound, "2", 1},
		{"Two", 0, "y", CodeSuccess, statusFound, "2", 1},
		{"Two", 0, "z", CodePullRetryImmediately, statusNoMatchedMessage, "2", 0},
		{"Two", 2, "*", CodePullNotFound, statusOffsetOverflowOne, "2", 0},
		{"Two", 5, "*", CodePullOffsetMoved, statusOffsetOverflowBad, "2", 0},
	} {
		h := pullHeader(tc.topic, tc.offset, 0, tc.sub)
		h["sysFlag"] = strconv.Itoa(pullFlagSubscription) // no suspend: answer now
		r := rc.call(PullMessage, h, nil)
		n := len(primitive.DecodeMessage(r.body))
		if ResponseCode(r.code) != tc.code || r.remark != tc.status || r.ext.get("nextBeginOffset") != tc.next || n != tc.n {
			t.Errorf("pull %s@%d sub %q = %v %s next %s, %d messages; want %v %s next %s, %d",
				tc.topic, tc.offset, tc.sub, ResponseCode(r.code), r.remark, r.ext.get("nextBeginOffset"), n,
				tc.code, tc.status, tc.next, tc.n)
		}
	}
	r := rc.call(PullMessage, pullHeader("Nope", 0, 0, "*"), nil)
	if ResponseCode(r.code) != CodeTopicNotExist {
		t.Errorf("pull of a missing topic = %v; want TOPIC_NOT_EXIST", ResponseCode(r.code))
	}
	h := pullHeader("Two", 0, 0, "*")
	h["queueId"] = "1"
	if r := rc.call(PullMessage, h, nil); ResponseCode(r.code) != CodeInvalidParameter {
		t.Errorf("pull of queue 1 of a one-queue topic = %v; want INVALID_PARAMETER", ResponseCode(r.code))
	}
	h = pullHeader("Two", 0, 0, "*")
	h["sysFlag"] = "0" // the group's heartbeat subscription is wanted, and there is none
	if r := rc.call(PullMessage, h, nil); ResponseCode(r.code) != CodeSubscriptionNotExist {
		t.Errorf("pull without subscription by an unknown group = %v; want SUBSCRIPTION_NOT_EXIST", ResponseCode(r.code))
	}
	h = pullHeader("Two", 0, 0, "a > 1")
	h["sysFlag"], h["expressionType"] = strconv.Itoa(pullFlagSubscription), "SQL92"
	if r := rc.call(PullMessage, h, nil); ResponseCode(r.code) != CodeSystemError ||
		!strings.Contains(r.remark, "does not support consumer to filter message by SQL92") {
		t.Errorf("SQL92 pull = %v %q; want SYSTEM_ERROR, SQL92 unsupported", ResponseCode(r.code), r.remark)
	}
}

// A client that goes away mid-request, or while its pull is held, does not
// disturb the others, and leaves nothing held.
func TestClientDisconnectsMidRequest(t *testing.T) {
	s := newTestServer(t)
	if err := s.CreateTopic("T", 1); err != nil {
		t.Fatal(err)
	}
	holder := dialRaw(t, s)
	holder.send(PullMessage, 0, serializeJSON, pullHeader("T", 0, 60000, "*"), nil)
	waitFor(t, "the pull to be held", func() bool { return s.HeldPulls() == 1 })

	half := dialRaw(t, s)
	var frame []byte
	for _, b := range (&reply{code: int16(SendMessage), fields: []field{{"topic", "T"}}, body: [][]byte{make([]byte, 1000)}}).encode() {
		frame = append(frame, b...)
	}
	if _, err := half.nc.Write(frame[:len(frame)/2]); err != nil {
		t.Fatal(err)
	}
	holder.nc.Close()
	half.nc.Close()
	waitFor(t, "the held pull to be dropped", func() bool { return s.HeldPulls() == 0 })

	other := dialRaw(t, s)
	sendRaw(t, other, "T", "", []byte("after"))
	r := other.call(PullMessage, pullHeader("T", 0, 0, "*"), nil)
	if msgs := primitive.DecodeMessage(r.body); len(msgs) != 1 || string(msgs[0].Body) != "after" {
		t.Errorf("other client pulled %v; want the one message it sent", msgs)
	}
	waitFor(t, "two connections to be gone", func() bool { return s.Connections() == 1 })
}

// Close ends every goroutine the server started: with idle connections,
// a connection stopped mid-frame, a held pull, a scheduled message and a
// pause in force.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s, err := Start(WithDelayLevels(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTopic("T", 1); err != nil {
		t.Fatal(err)
	}
	idle := dialRaw(t, s)
	rc := dialRaw(t, s)
	rc.send(PullMessage, 0, serializeJSON, pullHeader("T", 0, 60000, "*"), nil)
	waitFor(t, "the pull to be held", func() bool { return s.HeldPulls() == 1 })
	r := rc.call(SendMessage, map[string]string{
		"producerGroup": "PG", "topic": "T", "defaultTopic": "TBW102", "defaultTopicQueueNums": "4",
		"queueId": "0", "sysFlag": "0", "bornTimestamp": "1", "flag": "0", "properties": "DELAY\x012\x02",
	}, []byte("later"))
	if ResponseCode(r.code) != CodeSuccess || s.Scheduled() != 1 {
		t.Fatalf("delayed send = %v, %d scheduled", ResponseCode(r.code), s.Scheduled())
	}
	half := dialRaw(t, s)
	half.nc.Write([]byte{0, 0, 1, 0, 0})
	waitFor(t, "three connections", func() bool { return s.Connections() == 3 })
	s.Pause(time.Hour)
	rc.send(GetMaxOffset, 0, serializeJSON, map[string]string{"topic": "T", "queueId": "0"}, nil)

	done := make(chan struct{})
	go func() {
		s.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	for _, c := range []*rawClient{idle, rc, half} {
		c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadAll(c.nc); err != nil && !errors.Is(err, net.ErrClosed) {
			// Any error but a timeout means the server closed it.
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Error("a connection stayed open after Close")
			}
		}
		c.nc.Close()
	}
	if n := s.HeldPulls(); n != 0 {
		t.Errorf("HeldPulls() = %d after Close", n)
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkServerSendPull measures the server alone, with no client library
// in the way: one raw connection pipelines SEND_MESSAGE requests of
// 256-byte messages (JSON headers, as rocketmq-client-go writes them),
// another pulls them back in batches of 32.
func BenchmarkServerSendPull(b *testing.B) {
	b.ReportAllocs()
	s := newTestServer(b)
	if err := s.CreateTopic("T", 1); err != nil {
		b.Fatal(err)
	}
	producer, consumer := dialRaw(b, s), dialRaw(b, s)
	var frame []byte
	r := &reply{code: int16(SendMessage), body: [][]byte{make([]byte, 256)}}
	for _, kv := range [][2]string{
		{"producerGroup", "PG"}, {"topic", "T"}, {"defaultTopic", "TBW102"}, {"defaultTopicQueueNums", "4"},
		{"queueId", "0"}, {"sysFlag", "0"}, {"bornTimestamp", "1700000000000"}, {"flag", "0"},
		{"properties", "UNIQ_KEY\x01C0A8000100002A9F0000000000000001\x02TAGS\x01t\x02"},
		{"reconsumeTimes", "0"}, {"unitMode", "false"}, {"maxReconsumeTimes", "0"}, {"batch", "false"}, {"bname", "broker-a"},
	} {
		r.add(kv[0], kv[1])
	}
	for _, p := range r.encode() {
		frame = append(frame, p...)
	}
	b.SetBytes(256)
	b.ResetTimer()
	done := make(chan error, 1)
	go func() {
		w := bufio.NewWriterSize(producer.nc, 64<<10)
		for range b.N {
			if _, err := w.Write(frame); err != nil {
				done <- err
				return
			}
		}
		done <- w.Flush()
	}()
	for range b.N {
		if _, err := producer.read(); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	for off := int64(0); off < int64(b.N); {
		h := pullHeader("T", off, 0, "*")
		h["sysFlag"] = strconv.Itoa(pullFlagSubscription)
		resp := consumer.call(PullMessage, h, nil)
		next, _ := strconv.ParseInt(resp.ext.get("nextBeginOffset"), 10, 64)
		if next <= off {
			b.Fatalf("pull at %d answered %v next %d", off, ResponseCode(resp.code), next)
		}
		off = next
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}
