package rocketmqtest_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

// A topic nobody created is auto-created by the first send, through the
// TBW102 route, with the client's default of 4 queues.
func TestAutoCreateTopicOnFirstSend(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	topic := uniqueName(t, "T")
	p := startProducer(t, s)
	res := mustSend(t, p, primitive.NewMessage(topic, []byte("first")))
	if got := s.Queues(topic); got != 4 {
		t.Errorf("Queues(%s) = %d after the first send; want 4", topic, got)
	}
	if !slices.Contains(s.Topics(), topic) {
		t.Errorf("Topics() = %v; want it to list %s", s.Topics(), topic)
	}
	msgs := s.Messages(topic)
	if len(msgs) != 1 || string(msgs[0].Body) != "first" {
		t.Fatalf("Messages(%s) = %v; want the one message sent", topic, msgs)
	}
	if res.MessageQueue.Topic != topic || res.MessageQueue.BrokerName != rocketmqtest.BrokerName {
		t.Errorf("SendResult queue = %v; want topic %s on %s", res.MessageQueue, topic, rocketmqtest.BrokerName)
	}
}

// With auto-creation off, only created topics can be sent to.
func TestWithoutAutoCreateTopics(t *testing.T) {
	s := rocketmqtest.NewServer(t, rocketmqtest.WithoutAutoCreateTopics())
	topic := uniqueName(t, "T")
	p := startProducer(t, s, producer.WithRetry(0))
	if _, err := p.SendSync(ctxWithDeadline(t), primitive.NewMessage(topic, []byte("x"))); err == nil {
		t.Fatal("SendSync to a topic that does not exist succeeded")
	}
	if s.Queues(topic) != 0 {
		t.Fatalf("the failed send created %s", topic)
	}
	if err := s.CreateTopic(topic, 2); err != nil {
		t.Fatal(err)
	}
	mustSend(t, p, primitive.NewMessage(topic, []byte("y")))
	if got := s.Queues(topic); got != 2 {
		t.Errorf("Queues(%s) = %d; want the 2 it was created with", topic, got)
	}
}

// SendSync, SendAsync and SendOneWay all store; the results name the queue,
// offset and IDs the broker stored the message under.
func TestSendModes(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	topic := uniqueName(t, "T")
	if err := s.CreateTopic(topic, 2); err != nil {
		t.Fatal(err)
	}
	p := startProducer(t, s)
	ctx := ctxWithDeadline(t)

	var results []*primitive.SendResult
	results = append(results, mustSend(t, p, primitive.NewMessage(topic, []byte("sync"))))

	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range 3 {
		wg.Add(1)
		err := p.SendAsync(ctx, func(_ context.Context, r *primitive.SendResult, err error) {
			defer wg.Done()
			if err != nil {
				t.Errorf("SendAsync callback: %v", err)
				return
			}
			mu.Lock()
			results = append(results, r)
			mu.Unlock()
		}, primitive.NewMessage(topic, fmt.Appendf(nil, "async-%d", i)))
		if err != nil {
			t.Fatalf("SendAsync: %v", err)
		}
	}
	wg.Wait()
	if err := p.SendOneWay(ctx, primitive.NewMessage(topic, []byte("oneway"))); err != nil {
		t.Fatalf("SendOneWay: %v", err)
	}
	waitUntil(t, "five messages stored", func() bool { return len(s.Messages(topic)) == 5 })

	stored := s.Messages(topic)
	byUniq := map[string]*primitive.MessageExt{}
	for _, m := range stored {
		byUniq[m.MsgId] = m
	}
	for _, r := range results {
		m := byUniq[r.MsgID]
		if m == nil {
			t.Errorf("SendResult.MsgID %s names no stored message", r.MsgID)
			continue
		}
		if r.MessageQueue.QueueId != m.Queue.QueueId || r.QueueOffset != m.QueueOffset || r.OffsetMsgID != m.OffsetMsgId {
			t.Errorf("SendResult queue %d offset %d offsetMsgID %s; stored at queue %d offset %d as %s",
				r.MessageQueue.QueueId, r.QueueOffset, r.OffsetMsgID, m.Queue.QueueId, m.QueueOffset, m.OffsetMsgId)
		}
		if r.Status != primitive.SendOK || r.RegionID != "DefaultRegion" {
			t.Errorf("SendResult status %v region %q; want SendOK, DefaultRegion", r.Status, r.RegionID)
		}
	}
	bodies := make([]string, 0, len(stored))
	for _, m := range stored {
		bodies = append(bodies, string(m.Body))
	}
	slices.Sort(bodies)
	if want := []string{"async-0", "async-1", "async-2", "oneway", "sync"}; !slices.Equal(bodies, want) {
		t.Errorf("stored bodies %v; want %v", bodies, want)
	}
	if n := s.Requests(rocketmqtest.SendMessage); n != 5 {
		t.Errorf("Requests(SendMessage) = %d; want 5", n)
	}
}

// A batch travels as one SEND_BATCH_MESSAGE and is stored as consecutive
// messages of one queue, each with its own properties.
func TestBatchSend(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	topic := uniqueName(t, "T")
	p := startProducer(t, s)
	var batch []*primitive.Message
	for i := range 3 {
		m := primitive.NewMessage(topic, fmt.Appendf(nil, "batch-%d", i))
		m.WithTag(fmt.Sprintf("tag%d", i))
		m.WithProperty("n", fmt.Sprint(i))
		batch = append(batch, m)
	}
	res := mustSend(t, p, batch...)
	if n := s.Requests(rocketmqtest.SendBatchMessage); n != 1 {
		t.Errorf("Requests(SendBatchMessage) = %d; want 1", n)
	}
	stored := s.Messages(topic)
	if len(stored) != 3 {
		t.Fatalf("stored %d messages; want 3", len(stored))
	}
	ids := strings.Split(res.OffsetMsgID, ",")
	for i, m := range stored {
		if string(m.Body) != fmt.Sprintf("batch-%d", i) || m.GetTags() != fmt.Sprintf("tag%d", i) || m.GetProperty("n") != fmt.Sprint(i) {
			t.Errorf("stored[%d] = body %q tags %q n %q", i, m.Body, m.GetTags(), m.GetProperty("n"))
		}
		if m.Queue.QueueId != res.MessageQueue.QueueId || m.QueueOffset != res.QueueOffset+int64(i) {
			t.Errorf("stored[%d] at queue %d offset %d; want queue %d offset %d",
				i, m.Queue.QueueId, m.QueueOffset, res.MessageQueue.QueueId, res.QueueOffset+int64(i))
		}
		if len(ids) != 3 || ids[i] != m.OffsetMsgId {
			t.Errorf("SendResult.OffsetMsgID = %q; want stored[%d]'s %s at index %d", res.OffsetMsgID, i, m.OffsetMsgId, i)
		}
	}
}

// A body over 4 KB is compressed by the producer; the broker stores it
// compressed, as sent, and every reader gets it back uncompressed.
func TestCompressedBody(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	topic := uniqueName(t, "T")
	p := startProducer(t, s)
	body := bytes.Repeat([]byte("compressible text "), 1000) // 18 000 bytes
	mustSend(t, p, primitive.NewMessage(topic, body))
	msgs := s.Messages(topic)
	if len(msgs) != 1 {
		t.Fatalf("stored %d messages", len(msgs))
	}
	if msgs[0].SysFlag&primitive.FlagCompressed == 0 {
		t.Errorf("stored SysFlag = %#x; want the compressed flag the producer set", msgs[0].SysFlag)
	}
	if msgs[0].StoreSize >= int32(len(body)) {
		t.Errorf("stored size %d is not smaller than the %d-byte body: not stored compressed", msgs[0].StoreSize, len(body))
	}
	if !bytes.Equal(msgs[0].Body, body) {
		t.Error("Messages returned a body that differs from the one sent")
	}
}

// Tags, keys and user properties are stored as sent, and the broker adds
// UNIQ_KEY (if missing) and CLUSTER as a real broker does.
func TestTagsKeysAndProperties(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	topic := uniqueName(t, "T")
	p := startProducer(t, s)
	m := primitive.NewMessage(topic, []byte("x"))
	m.WithTag("TagA")
	m.WithKeys([]string{"k1", "k2"})
	m.WithProperty("color", "blue")
	res := mustSend(t, p, m)
	got := s.Messages(topic)[0]
	for k, want := range map[string]string{
		"TAGS": "TagA", "KEYS": "k1 k2", "color": "blue", "UNIQ_KEY": res.MsgID, "CLUSTER": rocketmqtest.ClusterName,
	} {
		if v := got.GetProperty(k); v != want {
			t.Errorf("stored property %s = %q; want %q", k, v, want)
		}
	}
}

// With a hash queue selector, messages with the same sharding key go to one
// queue, in the order they were sent.
func TestOrderedSendWithQueueSelector(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	topic := uniqueName(t, "T")
	if err := s.CreateTopic(topic, 8); err != nil {
		t.Fatal(err)
	}
	p := startProducer(t, s, producer.WithQueueSelector(producer.NewHashQueueSelector()))
	keys := []string{"device-1", "device-2", "device-3"}
	for i := range 30 {
		m := primitive.NewMessage(topic, fmt.Appendf(nil, "%d", i))
		m.WithShardingKey(keys[i%len(keys)])
		mustSend(t, p, m)
	}
	queueOf := map[string]int{}
	last := map[string]int{}
	for _, m := range s.Messages(topic) {
		k := m.GetShardingKey()
		if q, seen := queueOf[k]; seen && q != m.Queue.QueueId {
			t.Errorf("key %s stored in queues %d and %d", k, q, m.Queue.QueueId)
		}
		queueOf[k] = m.Queue.QueueId
		var n int
		fmt.Sscan(string(m.Body), &n)
		if prev, seen := last[k]; seen && n <= prev {
			t.Errorf("key %s: message %d stored after %d", k, n, prev)
		}
		last[k] = n
	}
	if len(queueOf) != len(keys) {
		t.Errorf("saw keys %v; want %v", queueOf, keys)
	}
}
