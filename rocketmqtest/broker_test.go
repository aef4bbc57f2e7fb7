package rocketmqtest

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// GET_ROUTEINFO_BY_TOPIC as the name server answers it.
func TestRouteInfo(t *testing.T) {
	for _, autoCreate := range []bool{true, false} {
		var opts []Option
		if !autoCreate {
			opts = append(opts, WithoutAutoCreateTopics())
		}
		s := newTestServer(t, opts...)
		if err := s.CreateTopic("Made", 3); err != nil {
			t.Fatal(err)
		}
		rc := dialRaw(t, s)
		for _, tc := range []struct {
			topic  string
			code   ResponseCode
			queues int
			perm   int
		}{
			{"Made", CodeSuccess, 3, permRead | permWrite},
			{"Nope", CodeTopicNotExist, 0, 0},
			{"%RETRY%group", CodeSuccess, 1, permRead | permWrite}, // created on demand
			{"TBW102", map[bool]ResponseCode{true: CodeSuccess, false: CodeTopicNotExist}[autoCreate], 8, permInherit | permRead | permWrite},
		} {
			r := rc.call(GetRouteInfoByTopic, map[string]string{"topic": tc.topic}, nil)
			if ResponseCode(r.code) != tc.code {
				t.Errorf("autoCreate=%v route(%s) = %v %q; want %v", autoCreate, tc.topic, ResponseCode(r.code), r.remark, tc.code)
				continue
			}
			if tc.code != CodeSuccess {
				if !strings.HasPrefix(r.remark, "No topic route info in name server for the topic: "+tc.topic) {
					t.Errorf("route(%s) remark %q", tc.topic, r.remark)
				}
				continue
			}
			var rd routeData
			if err := json.Unmarshal(r.body, &rd); err != nil {
				t.Fatalf("route(%s) body %s: %v", tc.topic, r.body, err)
			}
			if len(rd.QueueDatas) != 1 || rd.QueueDatas[0].ReadQueueNums != tc.queues || rd.QueueDatas[0].WriteQueueNums != tc.queues ||
				rd.QueueDatas[0].Perm != tc.perm || len(rd.BrokerDatas) != 1 || rd.BrokerDatas[0].BrokerAddrs["0"] != s.Addr() ||
				rd.BrokerDatas[0].BrokerName != BrokerName || rd.BrokerDatas[0].Cluster != ClusterName {
				t.Errorf("route(%s) = %s", tc.topic, r.body)
			}
		}
	}
}

func heartbeat(t testing.TB, rc *rawClient, clientID, group, model string, subs map[string]string) {
	t.Helper()
	type sub struct {
		Topic          string `json:"topic"`
		SubString      string `json:"subString"`
		ExpressionType string `json:"expressionType"`
	}
	var set []sub
	for topic, expr := range subs {
		set = append(set, sub{topic, expr, "TAG"})
	}
	body, _ := json.Marshal(map[string]any{
		"clientID": clientID,
		"consumerDataSet": []map[string]any{{
			"groupName": group, "consumeType": "CONSUME_PASSIVELY", "messageModel": model,
			"consumeFromWhere": "CONSUME_FROM_LAST_OFFSET", "subscriptionDataSet": set,
		}},
		"producerDataSet": []map[string]any{{"groupName": "PG"}},
	})
	if r := rc.call(HeartBeat, nil, body); ResponseCode(r.code) != CodeSuccess {
		t.Fatalf("heartbeat: %v %q", ResponseCode(r.code), r.remark)
	}
}

// A heartbeat registers a group's members and subscriptions: the members
// are listed, a joining member's arrival is pushed to the others, a pull
// without its own subscription is filtered by the registered one, and a
// member that disconnects leaves the group.
func TestHeartbeatGroups(t *testing.T) {
	s := newTestServer(t)
	if err := s.CreateTopic("T", 1); err != nil {
		t.Fatal(err)
	}
	a, b := dialRaw(t, s), dialRaw(t, s)
	heartbeat(t, a, "10.0.0.1@a", "G", "CLUSTERING", map[string]string{"T": "x || y"})
	if !containsString(s.Topics(), "%RETRY%G") {
		t.Error("the heartbeat did not create the group's retry topic")
	}
	heartbeat(t, b, "10.0.0.1@b", "G", "CLUSTERING", map[string]string{"T": "x || y"})

	// a hears that b joined; b, who joined, is not told.
	r, err := a.read()
	if err != nil || r.code != NotifyConsumerIdsChanged || r.flag&flagOneway == 0 || r.ext.get("consumerGroup") != "G" {
		t.Fatalf("member a got %+v, %v; want a one-way NOTIFY_CONSUMER_IDS_CHANGED for G", r, err)
	}
	r = b.call(GetConsumerListByGroup, map[string]string{"consumerGroup": "G"}, nil)
	var list struct {
		ConsumerIDList []string `json:"consumerIdList"`
	}
	if err := json.Unmarshal(r.body, &list); err != nil || strings.Join(list.ConsumerIDList, ",") != "10.0.0.1@a,10.0.0.1@b" {
		t.Errorf("GET_CONSUMER_LIST_BY_GROUP = %s, %v; want both members", r.body, err)
	}
	if r := b.call(GetConsumerListByGroup, map[string]string{"consumerGroup": "Nobody"}, nil); ResponseCode(r.code) != CodeSystemError {
		t.Errorf("consumer list of an empty group = %v; want SYSTEM_ERROR", ResponseCode(r.code))
	}

	for _, tag := range []string{"z", "y", "x"} {
		sendRaw(t, b, "T", tag, []byte(tag))
	}
	h := pullHeader("T", 0, 0, "")
	h["sysFlag"] = "0" // use the heartbeat's subscription
	r = b.call(PullMessage, h, nil)
	var got []string
	for _, m := range primitive.DecodeMessage(r.body) {
		got = append(got, m.GetTags())
	}
	if strings.Join(got, ",") != "y,x" {
		t.Errorf("pull filtered by the registered subscription delivered tags %v; want y,x", got)
	}
	if pullers := s.Pullers("G", "T", 0); len(pullers) != 1 || pullers[0] != "10.0.0.1@b" {
		t.Errorf("Pullers(G, T, 0) = %v; want [10.0.0.1@b]", pullers)
	}

	b.nc.Close()
	r, err = a.read()
	if err != nil || r.code != NotifyConsumerIdsChanged {
		t.Fatalf("after b left, a got %+v, %v; want NOTIFY_CONSUMER_IDS_CHANGED", r, err)
	}
	if ids := s.Consumers("G"); len(ids) != 1 || ids[0] != "10.0.0.1@a" {
		t.Errorf("Consumers(G) = %v after b disconnected; want only a", ids)
	}
	a.call(UnregisterClient, map[string]string{"clientID": "10.0.0.1@a", "consumerGroup": "G"}, nil)
	if ids := s.Consumers("G"); len(ids) != 0 {
		t.Errorf("Consumers(G) = %v after UNREGISTER_CLIENT; want none", ids)
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Offsets: committed with UPDATE_CONSUMER_OFFSET or a pull's commit flag,
// read with QUERY_CONSUMER_OFFSET; queue bounds with GET_MAX/MIN_OFFSET.
func TestOffsetRequests(t *testing.T) {
	s := newTestServer(t)
	if err := s.CreateTopic("T", 2); err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, s)
	sendRaw(t, rc, "T", "", []byte("0"))
	sendRaw(t, rc, "T", "", []byte("1"))
	q := map[string]string{"consumerGroup": "G", "topic": "T", "queueId": "0"}
	if r := rc.call(QueryConsumerOffset, q, nil); ResponseCode(r.code) != CodeQueryNotFound {
		t.Errorf("offset of a new group = %v; want QUERY_NOT_FOUND", ResponseCode(r.code))
	}
	up := map[string]string{"consumerGroup": "G", "topic": "T", "queueId": "0", "commitOffset": "1"}
	// A group exists once it has sent a heartbeat or a pull.
	if r := rc.call(UpdateConsumerOffset, up, nil); ResponseCode(r.code) != CodeSubscriptionGroupNotExist || r.remark != "Group G not exist!" {
		t.Errorf("commit by a group never seen = %v %q; want SUBSCRIPTION_GROUP_NOT_EXIST", ResponseCode(r.code), r.remark)
	}
	rc.call(PullMessage, pullHeader("T", 0, 0, "*"), nil)
	if r := rc.call(UpdateConsumerOffset, up, nil); ResponseCode(r.code) != CodeSuccess {
		t.Fatalf("UPDATE_CONSUMER_OFFSET = %v %q", ResponseCode(r.code), r.remark)
	}
	if r := rc.call(QueryConsumerOffset, q, nil); ResponseCode(r.code) != CodeSuccess || r.ext.get("offset") != "1" {
		t.Errorf("offset after commit = %v %s; want 1", ResponseCode(r.code), r.ext.get("offset"))
	}
	up["topic"] = "Nope"
	if r := rc.call(UpdateConsumerOffset, up, nil); ResponseCode(r.code) != CodeTopicNotExist {
		t.Errorf("commit on a missing topic = %v; want TOPIC_NOT_EXIST", ResponseCode(r.code))
	}

	// A pull that carries the commit flag commits too.
	h := pullHeader("T", 2, 0, "*")
	h["sysFlag"] = strconv.Itoa(pullFlagSubscription | pullFlagCommitOffset)
	h["commitOffset"] = "2"
	rc.call(PullMessage, h, nil)
	if off, ok := s.ConsumerOffset("G", "T", 0); !ok || off != 2 {
		t.Errorf("ConsumerOffset after a committing pull = %d, %v; want 2", off, ok)
	}

	queue := map[string]string{"topic": "T", "queueId": "0"}
	if r := rc.call(GetMaxOffset, queue, nil); r.ext.get("offset") != "2" {
		t.Errorf("GET_MAX_OFFSET = %s; want 2", r.ext.get("offset"))
	}
	if r := rc.call(GetMinOffset, queue, nil); r.ext.get("offset") != "0" {
		t.Errorf("GET_MIN_OFFSET = %s; want 0", r.ext.get("offset"))
	}
	if r := rc.call(GetEarliestMsgStoreTime, queue, nil); r.ext.get("timestamp") == "-1" {
		t.Error("GET_EARLIEST_MSG_STORETIME found no message")
	}
	ts := map[string]string{"topic": "T", "queueId": "0", "timestamp": strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10)}
	if r := rc.call(SearchOffsetByTimestamp, ts, nil); r.ext.get("offset") != "2" {
		t.Errorf("SEARCH_OFFSET_BY_TIMESTAMP(future) = %s; want the max offset 2", r.ext.get("offset"))
	}
	ts["timestamp"] = "0"
	if r := rc.call(SearchOffsetByTimestamp, ts, nil); r.ext.get("offset") != "0" {
		t.Errorf("SEARCH_OFFSET_BY_TIMESTAMP(0) = %s; want 0", r.ext.get("offset"))
	}

	// VIEW_MESSAGE_BY_ID reads a message by the commit-log offset in its ID.
	stored := s.Messages("T")
	r := rc.call(ViewMessageByID, map[string]string{"offset": strconv.FormatInt(stored[1].CommitLogOffset, 10)}, nil)
	if msgs := primitive.DecodeMessage(r.body); len(msgs) != 1 || string(msgs[0].Body) != "1" {
		t.Errorf("VIEW_MESSAGE_BY_ID = %v", msgs)
	}
}

// Orderly consumers lock queues: a queue is granted to one client at a time
// until it unlocks (or its lock expires).
func TestQueueLocks(t *testing.T) {
	s := newTestServer(t)
	rc := dialRaw(t, s)
	lock := func(code RequestCode, client string, queues ...int) []int {
		var mqs []messageQueue
		for _, q := range queues {
			mqs = append(mqs, messageQueue{"T", BrokerName, q})
		}
		body, _ := json.Marshal(lockBody{ConsumerGroup: "G", ClientID: client, MQSet: mqs})
		r := rc.call(code, nil, body)
		if ResponseCode(r.code) != CodeSuccess {
			t.Fatalf("%v: %v %q", code, ResponseCode(r.code), r.remark)
		}
		var got struct {
			LockOKMQSet []messageQueue `json:"lockOKMQSet"`
		}
		json.Unmarshal(r.body, &got)
		var ids []int
		for _, mq := range got.LockOKMQSet {
			ids = append(ids, mq.QueueID)
		}
		return ids
	}
	if got := lock(LockBatchMQ, "a", 0, 1); len(got) != 2 {
		t.Errorf("a locked %v; want 0 and 1", got)
	}
	if got := lock(LockBatchMQ, "b", 1, 2); len(got) != 1 || got[0] != 2 {
		t.Errorf("b locked %v; want only 2", got)
	}
	if got := lock(LockBatchMQ, "a", 0); len(got) != 1 {
		t.Errorf("a relocking its own queue got %v", got)
	}
	lock(UnlockBatchMQ, "b", 0, 1) // not b's: no effect
	lock(UnlockBatchMQ, "a", 1)
	if got := lock(LockBatchMQ, "b", 0, 1); len(got) != 1 || got[0] != 1 {
		t.Errorf("b locked %v after a unlocked 1; want only 1", got)
	}
}

// Topic administration requests of the admin client and mqadmin.
func TestTopicAdminRequests(t *testing.T) {
	s := newTestServer(t)
	rc := dialRaw(t, s)
	create := map[string]string{"topic": "Admin", "readQueueNums": "3", "writeQueueNums": "3", "perm": "6"}
	if r := rc.call(UpdateAndCreateTopic, create, nil); ResponseCode(r.code) != CodeSuccess || s.Queues("Admin") != 3 {
		t.Fatalf("UPDATE_AND_CREATE_TOPIC = %v %q, %d queues", ResponseCode(r.code), r.remark, s.Queues("Admin"))
	}
	create["topic"] = "TBW102"
	if r := rc.call(UpdateAndCreateTopic, create, nil); ResponseCode(r.code) != CodeInvalidParameter {
		t.Errorf("creating TBW102 = %v; want INVALID_PARAMETER", ResponseCode(r.code))
	}
	r := rc.call(GetAllTopicListFromNameServer, nil, nil)
	if !strings.Contains(string(r.body), `"Admin"`) {
		t.Errorf("topic list %s lacks Admin", r.body)
	}
	if r := rc.call(GetBrokerClusterInfo, nil, nil); !strings.Contains(string(r.body), s.Addr()) {
		t.Errorf("cluster info %s lacks the broker address", r.body)
	}
	held := dialRaw(t, s)
	op := held.send(PullMessage, 0, serializeJSON, pullHeader("Admin", 0, 60000, "*"), nil)
	waitFor(t, "the pull to be held", func() bool { return s.HeldPulls() == 1 })
	if r := rc.call(DeleteTopicInBroker, map[string]string{"topic": "Admin"}, nil); ResponseCode(r.code) != CodeSuccess {
		t.Fatalf("DELETE_TOPIC_IN_BROKER = %v", ResponseCode(r.code))
	}
	if r := held.responseTo(op); ResponseCode(r.code) != CodeTopicNotExist {
		t.Errorf("held pull on a deleted topic answered %v; want TOPIC_NOT_EXIST", ResponseCode(r.code))
	}
	if s.Queues("Admin") != 0 {
		t.Error("the topic survived its deletion")
	}
}

// A message with a delay level waits in SCHEDULE_TOPIC_XXXX, then arrives
// in its topic without DELAY but with REAL_TOPIC and REAL_QID, as the
// schedule service delivers it.
func TestDelayedMessage(t *testing.T) {
	s := newTestServer(t, WithDelayLevels(time.Hour, 30*time.Millisecond))
	if err := s.CreateTopic("T", 2); err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, s)
	send := func(level string) *request {
		return rc.call(SendMessage, map[string]string{
			"producerGroup": "PG", "topic": "T", "defaultTopic": "TBW102", "defaultTopicQueueNums": "4",
			"queueId": "1", "sysFlag": "0", "bornTimestamp": "1", "flag": "0", "properties": "DELAY\x01" + level + "\x02k\x01v\x02",
		}, []byte("level "+level))
	}
	if r := send("99"); ResponseCode(r.code) != CodeSuccess || r.ext.get("queueId") != "1" { // past the last level: capped to it
		t.Fatalf("delayed send = %v, queueId %s", ResponseCode(r.code), r.ext.get("queueId"))
	}
	send("1") // one hour: still waiting when the test ends
	waitFor(t, "the delivery", func() bool { return len(s.Messages("T")) == 1 })
	m := s.Messages("T")[0]
	// DELAY stays, capped to the last of the 18 levels, as a 5.3 broker delivers it.
	if m.Queue.QueueId != 1 || m.GetProperty("DELAY") != "18" || m.GetProperty("REAL_TOPIC") != "T" ||
		m.GetProperty("REAL_QID") != "1" || m.GetProperty("k") != "v" || string(m.Body) != "level 99" {
		t.Errorf("delivered %v with properties %v", m, m.GetProperties())
	}
	if n := s.Scheduled(); n != 1 {
		t.Errorf("Scheduled() = %d; want the one-hour message", n)
	}
}

// SEND_MESSAGE_V2, the form Java producers use, with one-letter header
// fields, over RocketMQ's binary header serialisation: answered in kind.
func TestSendV2WithBinaryHeaders(t *testing.T) {
	s := newTestServer(t)
	rc := dialRaw(t, s)
	op := rc.send(SendMessageV2, 0, serializeRocketMQ, map[string]string{
		"a": "PG", "b": "V2Topic", "c": "TBW102", "d": "4", "e": "1", "f": "0", "g": "1700000000000",
		"h": "7", "i": "TAGS\x01t\x02UNIQ_KEY\x01ABC\x02", "j": "0", "k": "false", "l": "16", "m": "false", "n": "broker-a",
	}, []byte("v2 body"))
	r := rc.responseTo(op)
	if ResponseCode(r.code) != CodeSuccess || r.serialize != serializeRocketMQ || r.ext.get("queueId") != "1" ||
		r.ext.get("transactionId") != "ABC" || r.ext.get("MSG_REGION") != regionID {
		t.Fatalf("SEND_MESSAGE_V2 = %v serialize %d fields %v", ResponseCode(r.code), r.serialize, r.ext)
	}
	msgs := s.Messages("V2Topic")
	if len(msgs) != 1 || string(msgs[0].Body) != "v2 body" || msgs[0].Flag != 7 || msgs[0].GetTags() != "t" ||
		msgs[0].MsgId != "ABC" || msgs[0].OffsetMsgId != r.ext.get("msgId") || msgs[0].BornTimestamp != 1700000000000 {
		t.Errorf("stored %v", msgs)
	}
}

// A topic can grow while it is being sent to and pulled from.
func TestTopicGrowsUnderLoad(t *testing.T) {
	s := newTestServer(t)
	if err := s.CreateTopic("Grow", 1); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n := 2; n <= 64; n++ {
			if err := s.CreateTopic("Grow", n); err != nil {
				t.Error(err)
			}
		}
	}()
	rc := dialRaw(t, s)
	for i := range 200 {
		sendRaw(t, rc, "Grow", "", []byte("x"))
		h := pullHeader("Grow", int64(i), 0, "*")
		h["sysFlag"] = strconv.Itoa(pullFlagSubscription)
		rc.call(PullMessage, h, nil)
	}
	<-done
	if got := len(s.Messages("Grow")); got != 200 {
		t.Errorf("stored %d messages; want 200", got)
	}
}

// PullOffset follows every pull a group sends, whatever it finds; a pull
// refused outright leaves it. WaitForCaughtUp waits until it reaches the end
// of every queue the group subscribes to, for a broadcasting group every
// member's.
func TestPullOffset(t *testing.T) {
	s := newTestServer(t)
	if err := s.CreateTopic("T", 1); err != nil {
		t.Fatal(err)
	}
	a := dialRaw(t, s)
	heartbeat(t, a, "10.0.0.1@a", "G", "CLUSTERING", map[string]string{"T": "*"})
	if off, ok := s.PullOffset("G", "T", 0); ok {
		t.Errorf("PullOffset before any pull = %d, true; want false", off)
	}
	for range 3 {
		sendRaw(t, a, "T", "", []byte("m"))
	}
	lagging := func(group, want string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		err := s.WaitForCaughtUp(ctx, group)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), want) {
			t.Errorf("WaitForCaughtUp(%s) = %v; want a deadline error saying %q", group, err, want)
		}
	}
	caughtUp := func(group, when string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.WaitForCaughtUp(ctx, group); err != nil {
			t.Errorf("WaitForCaughtUp(%s) %s: %v", group, when, err)
		}
	}
	lagging("G", "the group has not pulled T queue 0")
	lagging("Nobody", "the group has no members")

	for _, tc := range []struct {
		offset, queue string
		want          int64
	}{
		{"1", "0", 1}, // FOUND
		{"9", "0", 9}, // OFFSET_OVERFLOW_BADLY: counts too
		{"0", "5", 9}, // an illegal queue ID is refused and does not count
		{"2", "0", 2}, // a consumer may go back
	} {
		h := pullHeader("T", 0, 0, "*")
		h["queueOffset"], h["queueId"] = tc.offset, tc.queue
		a.call(PullMessage, h, nil)
		if off, ok := s.PullOffset("G", "T", 0); !ok || off != tc.want {
			t.Errorf("after a pull of queue %s at %s: PullOffset = %d, %v; want %d", tc.queue, tc.offset, off, ok, tc.want)
		}
	}
	lagging("G", "the group has pulled T queue 0 up to 2; its message at 2 waits")
	a.call(PullMessage, pullHeader("T", 3, 0, "*"), nil)
	caughtUp("G", "at the end of the queue")
	// Messages the group's tags exclude are not waited for.
	heartbeat(t, a, "10.0.0.1@a", "G", "CLUSTERING", map[string]string{"T": "x"})
	sendRaw(t, a, "T", "y", []byte("excluded"))
	caughtUp("G", "with only an excluded message left")
	sendRaw(t, a, "T", "x", []byte("selected"))
	lagging("G", "the group has pulled T queue 0 up to 3; its message at 4 waits")

	// Broadcasting: every member must reach the end.
	b := dialRaw(t, s)
	heartbeat(t, a, "10.0.0.1@a", "B", "BROADCASTING", map[string]string{"T": "*"})
	heartbeat(t, b, "10.0.0.1@b", "B", "BROADCASTING", map[string]string{"T": "*"})
	h := pullHeader("T", 5, 0, "*")
	h["consumerGroup"] = "B"
	a.call(PullMessage, h, nil)
	lagging("B", "10.0.0.1@b has not pulled T queue 0")
	b.call(PullMessage, h, nil)
	caughtUp("B", "once both members pulled to the end")
}
