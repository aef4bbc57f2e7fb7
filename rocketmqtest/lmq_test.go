package rocketmqtest

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// sendProps stores one message with the given serialised properties on
// queue 0 of topic through SEND_MESSAGE, and returns the response.
func sendProps(rc *rawClient, topic, props string, body []byte) *request {
	return rc.call(SendMessage, map[string]string{
		"producerGroup": "PG", "topic": topic, "defaultTopic": "TBW102", "defaultTopicQueueNums": "4",
		"queueId": "0", "sysFlag": "0", "bornTimestamp": "1", "flag": "0", "properties": props,
	}, body)
}

func dispatchProps(list string) string { return propMultiDispatch + "\x01" + list + "\x02" }

// pulledMessages decodes a pull response's messages.
func pulledMessages(r *request) []*primitive.MessageExt { return primitive.DecodeMessage(r.body) }

// A message listing two Light Message Queues is stored in its topic and
// indexed in both, at each queue's end; the stored message carries its
// offsets in them, in list order. Pulls, offsets and timestamps of a Light
// Message Queue work on its queue 0, as on any topic's queue.
func TestLMQDispatch(t *testing.T) {
	s := newTestServer(t)
	if err := s.CreateTopic("T", 1); err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, s)
	for i, list := range []string{"%LMQ%a,%LMQ%b", "%LMQ%b", "%LMQ%b,%LMQ%a,", "   "} {
		if r := sendProps(rc, "T", dispatchProps(list), []byte(strconv.Itoa(i))); ResponseCode(r.code) != CodeSuccess {
			t.Fatalf("send with %q: %v %q", list, ResponseCode(r.code), r.remark)
		}
	}
	want := map[string][]string{ // queue → bodies and INNER_MULTI_QUEUE_OFFSET
		"T":      {"0:0,0", "1:1", "2:2,1", "3:"},
		"%LMQ%a": {"0:0,0", "2:2,1"},
		"%LMQ%b": {"0:0,0", "1:1", "2:2,1"},
	}
	for topic, w := range want {
		var got []string
		for _, m := range s.Messages(topic) {
			if m.Topic != "T" {
				t.Errorf("%s: message stored in %s; want T", topic, m.Topic)
			}
			got = append(got, string(m.Body)+":"+m.GetProperty(propMultiQueueOffset))
		}
		if strings.Join(got, " ") != strings.Join(w, " ") {
			t.Errorf("Messages(%s) = %q; want %q", topic, got, w)
		}
	}
	if n := s.MaxOffset("%LMQ%b", 0); n != 3 {
		t.Errorf("MaxOffset(%%LMQ%%b) = %d; want 3", n)
	}
	if got := s.Topics(); strings.Contains(strings.Join(got, ","), lmqPrefix) {
		t.Errorf("Topics() = %q lists Light Message Queues; the name server does not", got)
	}
	if r := rc.call(GetRouteInfoByTopic, map[string]string{"topic": "%LMQ%a"}, nil); ResponseCode(r.code) != CodeTopicNotExist {
		t.Errorf("route of a Light Message Queue = %v; want TOPIC_NOT_EXIST", ResponseCode(r.code))
	}

	// Pulls: from 1 of %LMQ%a, the message stored second; queue 1 does not exist.
	r := rc.call(PullMessage, pullHeader("%LMQ%a", 1, 0, "*"), nil)
	if msgs := pulledMessages(r); ResponseCode(r.code) != CodeSuccess || len(msgs) != 1 || string(msgs[0].Body) != "2" ||
		msgs[0].QueueOffset != 2 || r.ext.get("nextBeginOffset") != "2" || r.ext.get("maxOffset") != "2" {
		t.Errorf("pull of %%LMQ%%a from 1 = %v next %s max %s, %d messages", ResponseCode(r.code),
			r.ext.get("nextBeginOffset"), r.ext.get("maxOffset"), len(msgs))
	}
	h := pullHeader("%LMQ%a", 0, 0, "*")
	h["queueId"] = "1"
	if r := rc.call(PullMessage, h, nil); ResponseCode(r.code) != CodeInvalidParameter ||
		!strings.HasPrefix(r.remark, "queueId[1] is illegal, topic:[%LMQ%a] topicConfig.readQueueNums:[1]") {
		t.Errorf("pull of queue 1 = %v %q; want INVALID_PARAMETER", ResponseCode(r.code), r.remark)
	}
	// A queue nothing was dispatched to exists, empty.
	if r := rc.call(PullMessage, pullHeader("%LMQ%never", 0, 0, "*"), nil); ResponseCode(r.code) != CodePullNotFound {
		t.Errorf("pull of an empty Light Message Queue = %v %q; want PULL_NOT_FOUND", ResponseCode(r.code), r.remark)
	}

	q := map[string]string{"topic": "%LMQ%b", "queueId": "0"}
	if r := rc.call(GetMaxOffset, q, nil); r.ext.get("offset") != "3" {
		t.Errorf("GET_MAX_OFFSET = %s; want 3", r.ext.get("offset"))
	}
	if r := rc.call(GetMinOffset, q, nil); r.ext.get("offset") != "0" {
		t.Errorf("GET_MIN_OFFSET = %s; want 0", r.ext.get("offset"))
	}
	if r := rc.call(GetEarliestMsgStoreTime, q, nil); r.ext.get("timestamp") == "-1" {
		t.Errorf("GET_EARLIEST_MSG_STORETIME = -1 for a queue with messages")
	}
	q["timestamp"] = "0"
	if r := rc.call(SearchOffsetByTimestamp, q, nil); r.ext.get("offset") != "0" {
		t.Errorf("SEARCH_OFFSET_BY_TIMESTAMP(0) = %s; want 0", r.ext.get("offset"))
	}
	q["timestamp"] = strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10)
	if r := rc.call(SearchOffsetByTimestamp, q, nil); r.ext.get("offset") != "3" {
		t.Errorf("SEARCH_OFFSET_BY_TIMESTAMP(in an hour) = %s; want 3", r.ext.get("offset"))
	}
	empty := map[string]string{"topic": "%LMQ%never", "queueId": "0"}
	if r := rc.call(GetEarliestMsgStoreTime, empty, nil); r.ext.get("timestamp") != "-1" {
		t.Errorf("GET_EARLIEST_MSG_STORETIME of an empty queue = %s; want -1", r.ext.get("timestamp"))
	}
}

// A pull held at the end of a Light Message Queue is answered when a
// message is dispatched to it.
func TestLMQHeldPull(t *testing.T) {
	s := newTestServer(t)
	if err := s.CreateTopic("T", 1); err != nil {
		t.Fatal(err)
	}
	rc, sender := dialRaw(t, s), dialRaw(t, s)
	op := rc.send(PullMessage, 0, serializeJSON, pullHeader("%LMQ%held", 0, 10000, "*"), nil)
	waitFor(t, "the pull to be held", func() bool { return s.HeldPulls() == 1 })
	if r := sendProps(sender, "T", dispatchProps("%LMQ%held"), []byte("x")); ResponseCode(r.code) != CodeSuccess {
		t.Fatalf("send: %v %q", ResponseCode(r.code), r.remark)
	}
	r := rc.responseTo(op)
	if msgs := pulledMessages(r); ResponseCode(r.code) != CodeSuccess || len(msgs) != 1 || string(msgs[0].Body) != "x" {
		t.Fatalf("held pull = %v with %d messages; want the dispatched one", ResponseCode(r.code), len(msgs))
	}
}

// Lists a real broker accepts and then mishandles are refused with
// MESSAGE_ILLEGAL, and nothing is stored; the property is an ordinary
// one where the broker does not dispatch (retry topics).
func TestLMQDispatchRefusals(t *testing.T) {
	s := newTestServer(t)
	if err := s.CreateTopic("T", 1); err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, s)
	for _, c := range []struct{ list, problem string }{
		{"foo,%LMQ%a", `queue "foo" is not a Light Message Queue`},
		{"%LMQ%a,foo", `queue "foo" is not a Light Message Queue`},
		{"%LMQ%a,,%LMQ%b", `queue "" is not a Light Message Queue`},
		{",%LMQ%a", `queue "" is not a Light Message Queue`},
		{"%LMQ%a,%LMQ%a", `queue "%LMQ%a" is listed twice`},
		{"%LMQ%a/b", `queue "%LMQ%a/b" contains '/'`},
		{"%LMQ%" + strings.Repeat("x", 251), "longer than 255 bytes"},
		{"%LMQ%a\x00", "contains NUL"},
		{"plain", `queue "plain" is not a Light Message Queue`},
	} {
		r := sendProps(rc, "T", dispatchProps(c.list), []byte("x"))
		if ResponseCode(r.code) != CodeMessageIllegal || !strings.Contains(r.remark, c.problem) {
			t.Errorf("send with %q = %v %q; want MESSAGE_ILLEGAL saying %s", c.list, ResponseCode(r.code), r.remark, c.problem)
		}
	}
	if n := len(s.Messages("T")); n != 0 {
		t.Errorf("%d messages stored; want none", n)
	}
	if n := s.MaxOffset("%LMQ%a", 0); n != 0 {
		t.Errorf("%d messages in %%LMQ%%a; want none", n)
	}
	// 250 bytes of name are fine, and a retry topic does not dispatch.
	long := "%LMQ%" + strings.Repeat("x", 250)
	if r := sendProps(rc, "T", dispatchProps(long), []byte("x")); ResponseCode(r.code) != CodeSuccess || s.MaxOffset(long, 0) != 1 {
		t.Errorf("a name of 255 bytes: %v %q, %d in its queue", ResponseCode(r.code), r.remark, s.MaxOffset(long, 0))
	}
	if r := sendProps(rc, "%RETRY%G", dispatchProps("foo,%LMQ%r"), []byte("x")); ResponseCode(r.code) != CodeSuccess {
		t.Errorf("send to a retry topic = %v %q; want it stored", ResponseCode(r.code), r.remark)
	}
	if m := s.Messages("%RETRY%G"); len(m) != 1 || m[0].GetProperty(propMultiQueueOffset) != "" || s.MaxOffset("%LMQ%r", 0) != 0 {
		t.Errorf("a retry topic's message was dispatched: %v", m)
	}
}

// The broker dispatches no batch message, and this server refuses a batch
// message that carries INNER_MULTI_QUEUE_OFFSET beside INNER_MULTI_DISPATCH.
func TestLMQBatch(t *testing.T) {
	s := newTestServer(t)
	if err := s.CreateTopic("T", 1); err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, s)
	batch := func(props ...string) *request {
		var body []byte
		for _, p := range props {
			m := primitive.NewMessage("T", []byte("b"))
			for _, kv := range strings.Split(p, "\x02") {
				if k, v, ok := strings.Cut(kv, "\x01"); ok {
					m.WithProperty(k, v)
				}
			}
			body = append(body, m.Marshal()...)
		}
		return rc.call(SendBatchMessage, map[string]string{
			"a": "PG", "b": "T", "c": "TBW102", "d": "4", "e": "0", "f": "0", "g": "1", "h": "0", "i": "", "m": "true",
		}, body)
	}
	if r := batch(dispatchProps("%LMQ%x"), dispatchProps("%LMQ%x")); ResponseCode(r.code) != CodeSuccess {
		t.Fatalf("batch = %v %q", ResponseCode(r.code), r.remark)
	}
	if n := s.MaxOffset("%LMQ%x", 0); n != 0 {
		t.Errorf("%d batch messages dispatched; want none", n)
	}
	for _, m := range s.Messages("T") {
		if _, ok := m.GetProperties()[propMultiQueueOffset]; ok {
			t.Errorf("a batch message got %s", propMultiQueueOffset)
		}
	}
	r := batch(dispatchProps("%LMQ%x"), dispatchProps("%LMQ%x")+propMultiQueueOffset+"\x015\x02")
	if ResponseCode(r.code) != CodeMessageIllegal || !strings.Contains(r.remark, "which only the broker may write") {
		t.Errorf("batch with a sender's %s = %v %q; want MESSAGE_ILLEGAL", propMultiQueueOffset, ResponseCode(r.code), r.remark)
	}
	if n := len(s.Messages("T")); n != 2 {
		t.Errorf("%d messages stored; want the first batch's 2", n)
	}
}

// Dispatch adds to the properties, which are checked again: a message that
// fits only without INNER_MULTI_QUEUE_OFFSET, or whose whole encoding is
// over the maximum message size (the body alone is checked otherwise), is
// refused.
func TestLMQDispatchSizes(t *testing.T) {
	s := newTestServer(t, WithMaxMessageSize(1000))
	if err := s.CreateTopic("T", 1); err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, s)
	props := dispatchProps("%LMQ%a")
	// 10 bytes short of the limit once the broker has added UNIQ_KEY
	// (42 bytes) and its own; INNER_MULTI_QUEUE_OFFSET takes 27.
	pad := "p\x01" + strings.Repeat("v", maxPropertiesLength-10-42-len(brokerAdded)-len(props)-3) + "\x02"
	if r := sendProps(rc, "T", props+pad, []byte("x")); ResponseCode(r.code) != CodeMessageIllegal {
		t.Errorf("properties over the limit once dispatched = %v %q; want MESSAGE_ILLEGAL", ResponseCode(r.code), r.remark)
	}
	if r := sendProps(rc, "%RETRY%G", props+pad, []byte("x")); ResponseCode(r.code) != CodeSuccess {
		t.Errorf("the same where nothing is dispatched = %v %q; want it stored", ResponseCode(r.code), r.remark)
	}
	body := make([]byte, 1000)
	if r := sendProps(rc, "T", props, body); ResponseCode(r.code) != CodeMessageIllegal {
		t.Errorf("a dispatched message over 1000 bytes = %v; want MESSAGE_ILLEGAL", ResponseCode(r.code))
	}
	if r := sendProps(rc, "T", "", body); ResponseCode(r.code) != CodeSuccess {
		t.Errorf("a body of 1000 bytes = %v %q; want it stored", ResponseCode(r.code), r.remark)
	}
	if n := s.MaxOffset("%LMQ%a", 0); n != 0 {
		t.Errorf("%d refused messages dispatched", n)
	}
}

// A delayed message is dispatched when it reaches its topic, with the
// properties the schedule service gives it: no DELAY, WAIT=false.
func TestLMQDelayed(t *testing.T) {
	s := newTestServer(t, WithDelayLevels(time.Millisecond))
	if err := s.CreateTopic("T", 1); err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, s)
	if r := sendProps(rc, "T", "DELAY\x012\x02"+dispatchProps("%LMQ%later"), []byte("x")); ResponseCode(r.code) != CodeSuccess {
		t.Fatalf("send: %v %q", ResponseCode(r.code), r.remark)
	}
	waitFor(t, "the delivery", func() bool { return s.MaxOffset("%LMQ%later", 0) == 1 })
	m := s.Messages("%LMQ%later")[0]
	p := m.GetProperties()
	if _, ok := p["DELAY"]; ok || p["WAIT"] != "false" || p[propMultiQueueOffset] != "0" || p["REAL_TOPIC"] != "T" || m.Topic != "T" {
		t.Errorf("delivered message: topic %s, properties %v", m.Topic, p)
	}
}

// Consumer offsets on a Light Message Queue: a group commits once the
// broker knows it (a heartbeat or a pull); a group named as a Light
// Message Queue is always known and keeps one offset whatever the queue.
func TestLMQConsumerOffsets(t *testing.T) {
	s := newTestServer(t)
	rc := dialRaw(t, s)
	commit := func(group, queue, offset string) *request {
		return rc.call(UpdateConsumerOffset, map[string]string{"consumerGroup": group, "topic": "%LMQ%o", "queueId": queue, "commitOffset": offset}, nil)
	}
	query := func(group, queue string) *request {
		return rc.call(QueryConsumerOffset, map[string]string{"consumerGroup": group, "topic": "%LMQ%o", "queueId": queue, "setZeroIfNotFound": "false"}, nil)
	}
	if r := commit("G", "0", "3"); ResponseCode(r.code) != CodeSubscriptionGroupNotExist {
		t.Errorf("commit by an unknown group = %v %q", ResponseCode(r.code), r.remark)
	}
	rc.call(PullMessage, pullHeader("%LMQ%o", 0, 0, "*"), nil) // group G
	if r := commit("G", "0", "3"); ResponseCode(r.code) != CodeSuccess {
		t.Errorf("commit after a pull = %v %q", ResponseCode(r.code), r.remark)
	}
	if r := query("G", "0"); ResponseCode(r.code) != CodeSuccess || r.ext.get("offset") != "3" {
		t.Errorf("query = %v %s; want 3", ResponseCode(r.code), r.ext.get("offset"))
	}
	if r := query("G", "1"); ResponseCode(r.code) != CodeQueryNotFound {
		t.Errorf("query of queue 1 = %v; want QUERY_NOT_FOUND", ResponseCode(r.code))
	}
	if r := commit("%LMQ%g", "5", "7"); ResponseCode(r.code) != CodeSuccess {
		t.Errorf("commit by a Light Message Queue group = %v %q", ResponseCode(r.code), r.remark)
	}
	if r := query("%LMQ%g", "0"); ResponseCode(r.code) != CodeSuccess || r.ext.get("offset") != "7" {
		t.Errorf("query by a Light Message Queue group = %v %s; want 7", ResponseCode(r.code), r.ext.get("offset"))
	}
	if off, ok := s.ConsumerOffset("%LMQ%g", "%LMQ%o", 2); !ok || off != 7 {
		t.Errorf("ConsumerOffset = %d, %v; want 7", off, ok)
	}
	h := pullHeader("%LMQ%o", 0, 0, "*")
	h["consumerGroup"] = "bad group"
	if r := rc.call(PullMessage, h, nil); ResponseCode(r.code) != CodeSubscriptionGroupNotExist {
		t.Errorf("pull by an illegal group = %v %q; want SUBSCRIPTION_GROUP_NOT_EXIST", ResponseCode(r.code), r.remark)
	}
}

// Pulled counts the messages pull responses carried, by group and in all.
func TestPulled(t *testing.T) {
	s := newTestServer(t)
	if err := s.CreateTopic("T", 1); err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, s)
	for range 3 {
		sendProps(rc, "T", "TAGS\x01a\x02"+dispatchProps("%LMQ%p"), []byte("x"))
	}
	sendProps(rc, "T", "TAGS\x01b\x02", []byte("y"))
	pull := func(group, topic string, offset int64, sub string) {
		h := pullHeader(topic, offset, 0, sub)
		h["consumerGroup"] = group
		rc.call(PullMessage, h, nil)
	}
	pull("A", "T", 0, "*")      // 4
	pull("A", "T", 2, "b")      // 1: tag b only
	pull("A", "%LMQ%p", 1, "*") // 2
	pull("B", "%LMQ%p", 0, "*") // 3
	pull("B", "%LMQ%p", 3, "*") // none: the end
	if a, b, all, none := s.Pulled("A"), s.Pulled("B"), s.Pulled(""), s.Pulled("C"); a != 7 || b != 3 || all != 10 || none != 0 {
		t.Errorf("Pulled: A %d, B %d, all %d, C %d; want 7, 3, 10, 0", a, b, all, none)
	}
}

// A message sent to a Light Message Queue itself is stored there, on its
// one queue.
func TestLMQDirectSend(t *testing.T) {
	s := newTestServer(t)
	rc := dialRaw(t, s)
	if r := sendProps(rc, "%LMQ%d", "", []byte("x")); ResponseCode(r.code) != CodeSuccess {
		t.Fatalf("send = %v %q", ResponseCode(r.code), r.remark)
	}
	r := rc.call(SendMessage, map[string]string{
		"producerGroup": "PG", "topic": "%LMQ%d", "defaultTopic": "TBW102", "defaultTopicQueueNums": "4",
		"queueId": "1", "sysFlag": "0", "bornTimestamp": "1", "flag": "0", "properties": "",
	}, []byte("y"))
	if ResponseCode(r.code) != CodeSystemError || !strings.HasPrefix(r.remark, "request queueId[1] is illegal, topic[%LMQ%d] has 1 queues") {
		t.Errorf("send to queue 1 = %v %q; want SYSTEM_ERROR", ResponseCode(r.code), r.remark)
	}
	m := s.Messages("%LMQ%d")
	if len(m) != 1 || m[0].Topic != "%LMQ%d" {
		t.Errorf("Messages = %v; want the one sent, in %%LMQ%%d", m)
	}
	if err := s.CreateTopic("%LMQ%d", 1); err == nil {
		t.Error("CreateTopic of a Light Message Queue succeeded")
	}
}
