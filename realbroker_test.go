package mqttrmq_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/google/go-cmp/cmp"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/internal/consumerguard"
	"github.com/mqttrmq/mqttrmq/internal/realrocketmq"
)

// addedKeys are the properties a message gains between SendSync and a
// consumer: UNIQ_KEY from the producer, CLUSTER, MSG_REGION and TRACE_ON
// from the broker,
// INNER_MULTI_QUEUE_OFFSET from a broker that dispatched the message to
// Light Message Queues, and the consumer's MIN_OFFSET, MAX_OFFSET and
// CONSUME_START_TIME. Every other key must arrive exactly as it was sent.
var addedKeys = []string{"UNIQ_KEY", "CLUSTER", "MSG_REGION", "TRACE_ON", "INNER_MULTI_QUEUE_OFFSET", "MIN_OFFSET", "MAX_OFFSET", "CONSUME_START_TIME"}

// carrierTopic carries the downlink cases whose RocketMQ topic no producer
// may send to (TBW102, a retry topic, a Light Message Queue): the mapping
// reads the case's topic name, the message travels on this one.
const carrierTopic = "golden_carrier"

// goldenPayloads are the bodies every case travels with: a short binary
// one, and 64 KB holding every byte value, which the producer compresses.
func goldenPayloads() map[string][]byte {
	big := make([]byte, 64*1024)
	for i := range big {
		big[i] = byte(i * 7)
	}
	return map[string][]byte{"binary": []byte("23.5 \x00\xff binary \x01\x02"), "64KB": big}
}

// casePayloads are the bodies a case travels with: its own, when it names
// one, else goldenPayloads.
func casePayloads(own *string) map[string][]byte {
	if own != nil {
		return map[string][]byte{"own": []byte(*own)}
	}
	return goldenPayloads()
}

// checkBorn holds that FromRocketMQ read the born time of what arrived
// from the broker into back, and then clears it, which the golden files
// cannot know.
func checkBorn(t *testing.T, name string, got *primitive.MessageExt, back *mqttrmq.Publish) {
	t.Helper()
	if want := time.UnixMilli(got.BornTimestamp); got.BornTimestamp <= 0 || !back.Born.Equal(want) {
		t.Errorf("%s: Born = %v; want the message's BornTimestamp %d", name, back.Born, got.BornTimestamp)
	}
	back.Born = time.Time{}
}

// shipment is one message the golden run sends, and what must come back.
type shipment struct {
	name  string
	msg   *primitive.Message
	sent  map[string]string // the properties as sent
	lmq   []string          // Light Message Queues it must also reach
	check func(t *testing.T, got *primitive.MessageExt)
	// wantErr: the mapping refuses what arrives (a downlink error case).
	wantErr bool
}

// TestGoldenOnRealBroker sends every case of every golden file through a
// real Apache RocketMQ with the real producer, reads each back with a real
// push consumer, and compares byte for byte: every property sent arrives
// unchanged, nothing arrives that is not in addedKeys, the body is the
// same, and the mapping reads back what the golden file says, in both
// dialects. Messages of the Apache dialect are also read back from every
// Light Message Queue their INNER_MULTI_DISPATCH names, as RocketMQ-MQTT
// reads them.
func TestGoldenOnRealBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("sends every golden case through a real broker")
	}
	b := realrocketmq.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	var ships []*shipment
	refused := 0 // cases the mapping refuses: nothing to send
	for _, g := range goldenMappings {
		for _, c := range loadGolden[uplinkGolden](t, g.uplink) {
			for pname, payload := range casePayloads(c.Payload) {
				s, ok := uplinkShipment(t, g.dialect, c, payload)
				if !ok {
					refused++
					continue
				}
				s.name = fmt.Sprintf("%s %q %s", g.uplink, c.Publish.Topic, pname)
				ships = append(ships, s)
			}
		}
		for _, c := range loadGolden[downlinkGolden](t, g.downlink) {
			for pname, payload := range casePayloads(c.Payload) {
				s := downlinkShipment(t, g.dialect, c, payload)
				s.name = fmt.Sprintf("%s %q %v %s", g.downlink, c.Topic, c.Properties, pname)
				ships = append(ships, s)
			}
		}
	}
	for _, c := range goldenExtras() {
		for _, d := range []*mqttrmq.Dialect{nil, mqttrmq.ApacheRocketMQMQTT} {
			if s, ok := uplinkShipment(t, d, c, goldenPayloads()["64KB"]); ok {
				s.name = fmt.Sprintf("%s: %s", d, c.Rule)
				ships = append(ships, s)
			} else {
				t.Errorf("%s: %s: refused by the mapping", d, c.Rule)
			}
		}
	}
	for _, c := range loadGolden[splitGolden](t, "split.json") {
		u := uplinkGolden{Rule: c.Rule, Err: c.Err, Publish: publishJSON{Topic: c.Topic, QoS: 1, ClientID: "GID_golden@@@split"}}
		if s, ok := uplinkShipment(t, nil, u, []byte(c.Topic)); ok {
			s.name = fmt.Sprintf("split.json %q", c.Topic)
			ships = append(ships, s)
		} else {
			refused++
		}
	}
	for _, c := range loadGolden[lmqGolden](t, "lmq.json") {
		parent, _, _ := strings.Cut(c.Topic, "/")
		if c.Err != "" || mqttrmq.ValidateTopicName(c.Topic) != nil || mqttrmq.ValidateParentTopic(parent) != nil {
			// A filter's queue (fanout.json reaches those), a name
			// refused, or a queue name no message can be sent for.
			continue
		}
		u := uplinkGolden{Rule: c.Rule, Publish: publishJSON{Topic: c.Topic, QoS: 1, ClientID: "GID_golden@@@lmq"}}
		s, ok := uplinkShipment(t, mqttrmq.ApacheRocketMQMQTT, u, []byte(c.Topic))
		if !ok {
			refused++
			continue
		}
		if !slices.Contains(s.lmq, c.Queue) {
			t.Errorf("lmq.json %q: dispatched to %q; want %s", c.Topic, s.lmq, c.Queue)
		}
		s.name = fmt.Sprintf("lmq.json %q", c.Topic)
		ships = append(ships, s)
	}
	for _, c := range loadGolden[fanoutGolden](t, "fanout.json") {
		if c.Err != "" {
			refused++
			continue
		}
		u := uplinkGolden{Rule: c.Rule, Filters: c.Filters, Publish: publishJSON{Topic: c.Topic, QoS: 1, ClientID: "GID_golden@@@fanout"}}
		s, ok := uplinkShipment(t, mqttrmq.ApacheRocketMQMQTT, u, []byte(c.Topic))
		if !ok {
			t.Errorf("fanout.json %q: refused by the mapping", c.Topic)
			continue
		}
		if !slices.Equal(s.lmq, c.Queues) {
			t.Errorf("fanout.json %q: dispatched to %q; want %q", c.Topic, s.lmq, c.Queues)
		}
		s.name = fmt.Sprintf("fanout.json %q", c.Topic)
		ships = append(ships, s)
	}

	// A fresh topic for every RocketMQ topic the cases use.
	topicSet := map[string]bool{}
	for _, s := range ships {
		topicSet[s.msg.Topic] = true
	}
	topics := slices.Sorted(maps.Keys(topicSet))
	for _, topic := range topics {
		if err := b.ResetTopic(ctx, topic, 2); err != nil {
			t.Fatalf("topic %s: %v", topic, err)
		}
	}

	rc := newGoldenReader(t, b, topics)
	p, err := rocketmq.NewProducer(producer.WithNameServer([]string{b.NameServer}),
		producer.WithGroupName("golden_producer"), producer.WithInstanceName(fmt.Sprintf("golden-%d", time.Now().UnixNano())))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown()

	byID := map[string]*shipment{}
	brokerRefused := 0
	for _, s := range ships {
		r, err := p.SendSync(ctx, s.msg)
		if err == nil && r.Status != primitive.SendOK {
			err = fmt.Errorf("status %d", r.Status)
		}
		if err != nil {
			if s.wantErr {
				brokerRefused++ // the broker refuses what the mapping would refuse too
				continue
			}
			t.Errorf("%s: send: %v", s.name, err)
			continue
		}
		byID[r.MsgID] = s
	}

	got := rc.wait(t, slices.Collect(maps.Keys(byID)))
	lmqReads, lmqShips := 0, 0
	for id, s := range byID {
		if len(s.lmq) > 0 {
			lmqShips++
		}
		m := got[id]
		if m == nil {
			t.Errorf("%s: never arrived", s.name)
			continue
		}
		compareArrival(t, s, m)
		for _, q := range s.lmq {
			msgs, err := b.QueueMessages(ctx, q, 0, 0)
			if err != nil {
				t.Errorf("%s: Light Message Queue %s: %v", s.name, q, err)
				continue
			}
			i := slices.IndexFunc(msgs, func(m *primitive.MessageExt) bool { return m.MsgId == id })
			if i < 0 {
				t.Errorf("%s: not in Light Message Queue %s (%d messages there)", s.name, q, len(msgs))
				continue
			}
			compareArrival(t, s, msgs[i])
			lmqReads++
		}
	}
	t.Logf("%d messages sent through %s and read back byte for byte (%d of them also from %d Light Message Queues they were dispatched to); "+
		"%d golden cases refused by the mapping before sending; %d refused by the broker, as the mapping refuses them on reading",
		len(byID), b.Addr, lmqShips, lmqReads, refused, brokerRefused)
	if len(byID) == 0 || lmqReads == 0 {
		t.Fatal("nothing went through the broker: the comparison proved nothing")
	}
}

// compareArrival checks a message as it arrived against what was sent.
func compareArrival(t *testing.T, s *shipment, m *primitive.MessageExt) {
	t.Helper()
	props := m.GetProperties()
	for k, v := range s.sent {
		if props[k] != v {
			t.Errorf("%s: property %s arrived as %q; sent %q", s.name, k, quoteShort(props[k]), quoteShort(v))
		}
	}
	for k := range props {
		if _, ok := s.sent[k]; !ok && !slices.Contains(addedKeys, k) {
			t.Errorf("%s: property %s=%q arrived, never sent", s.name, k, props[k])
		}
	}
	if !bytes.Equal(m.Body, s.msg.Body) {
		t.Errorf("%s: body of %d bytes arrived as %d bytes, not the same", s.name, len(s.msg.Body), len(m.Body))
	}
	if m.GetTags() != s.msg.GetTags() {
		t.Errorf("%s: tag %q arrived as %q", s.name, s.msg.GetTags(), m.GetTags())
	}
	s.check(t, m)
}

// uplinkShipment maps c's publish with d (nil: the package-level
// functions); ok is false when the mapping refuses it.
func uplinkShipment(t *testing.T, d *mqttrmq.Dialect, c uplinkGolden, payload []byte) (*shipment, bool) {
	t.Helper()
	if c.Err != "" {
		return nil, false
	}
	m := mapperOf(t, d, c.Filters)
	p := c.Publish.publish(payload)
	msg := primitive.NewMessage("", payload)
	topic, err := m.to(p, msg)
	if err != nil {
		t.Errorf("%sToRocketMQ(%s) = %v (%s)", m.name, quoteShort(p.Topic), err, c.Rule)
		return nil, false
	}
	msg.Topic = topic
	want := p
	if c.Delivered != nil {
		want = c.Delivered.publish(payload)
	}
	s := &shipment{msg: msg, sent: maps.Clone(msg.GetProperties())}
	if disp := msg.GetProperty(mqttrmq.PropDispatch); disp != "" {
		s.lmq = strings.Split(disp, ",")
	}
	s.check = func(t *testing.T, got *primitive.MessageExt) {
		back, err := m.from(got.Topic, got, got.Body)
		if err != nil {
			t.Errorf("%s: %sFromRocketMQ = %v", s.name, m.name, err)
			return
		}
		checkBorn(t, s.name, got, &back)
		if diff := cmp.Diff(want, back); diff != "" {
			t.Errorf("%s: %sFromRocketMQ on the real broker's message (-want +got):\n%s(%s)", s.name, m.name, diff, c.Rule)
		}
	}
	return s, true
}

// downlinkShipment sends c's properties as a backend would, on c's topic
// or, where no producer may send to it, on carrierTopic.
func downlinkShipment(t *testing.T, d *mqttrmq.Dialect, c downlinkGolden, payload []byte) *shipment {
	t.Helper()
	topic := c.Topic
	if mqttrmq.ValidateParentTopic(topic) != nil {
		topic = carrierTopic
	}
	msg := primitive.NewMessage(topic, payload)
	for k, v := range c.Properties {
		msg.WithProperty(k, v)
	}
	m := mapperOf(t, d, nil)
	s := &shipment{msg: msg, sent: maps.Clone(msg.GetProperties()), wantErr: c.Err != ""}
	s.check = func(t *testing.T, got *primitive.MessageExt) {
		back, err := m.from(c.Topic, got, got.Body)
		call := fmt.Sprintf("%s: %sFromRocketMQ", s.name, m.name)
		if checkErr(t, call, err, c.Err) {
			return
		}
		checkBorn(t, call, got, &back)
		if diff := cmp.Diff(c.Publish.publish(payload), back); diff != "" {
			t.Errorf("%s on the real broker's message (-want +got):\n%s(%s)", call, diff, c.Rule)
		}
	}
	return s
}

// goldenExtras are the cases the issue names that the golden files spell
// badly: 8 KB of user properties, Unicode topics.
func goldenExtras() []uplinkGolden {
	eight := []mqttrmq.UserProperty{{Key: "k", Value: strings.Repeat("v", 8192-22-2)}}
	return []uplinkGolden{
		{Rule: "8 KB of user properties", Publish: publishJSON{Topic: "chat/room/1", QoS: 1, ClientID: "GID_chat@@@u1", UserProperties: eight}},
		{Rule: "Unicode topic levels and client ID", Publish: publishJSON{Topic: "chat/房间/ünï/😀", QoS: 2, ClientID: "GID_chat@@@设备", PersistentSession: true,
			UserProperties: []mqttrmq.UserProperty{{Key: "语言", Value: "中文 ✓"}}}},
	}
}

// goldenReader is a real push consumer of every topic the cases use.
type goldenReader struct {
	mu  sync.Mutex
	got map[string]*primitive.MessageExt
}

func newGoldenReader(t *testing.T, b *realrocketmq.Broker, topics []string) *goldenReader {
	t.Helper()
	r := &goldenReader{got: map[string]*primitive.MessageExt{}}
	group := fmt.Sprintf("golden_reader_%d", time.Now().UnixNano())
	var guard consumerguard.Guard
	c, err := rocketmq.NewPushConsumer(consumer.WithNameServer([]string{b.NameServer}),
		consumer.WithGroupName(group), consumer.WithInstance(group),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset), consumer.WithStrategy(guard.Strategy(nil)))
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range topics {
		err := c.Subscribe(topic, consumer.MessageSelector{}, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			for _, m := range msgs {
				r.got[m.MsgId] = m
			}
			return consumer.ConsumeSuccess, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := b.WaitForCaughtUp(ctx, group); err != nil {
			t.Error(err)
		}
		guard.Shutdown(c)
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.WaitForConsumers(ctx, group, 1); err != nil {
		t.Fatal(err)
	}
	return r
}

// wait returns what arrived of ids, once all have or a minute passed.
func (r *goldenReader) wait(t *testing.T, ids []string) map[string]*primitive.MessageExt {
	t.Helper()
	for end := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		r.mu.Lock()
		n := 0
		for _, id := range ids {
			if r.got[id] != nil {
				n++
			}
		}
		if n == len(ids) || time.Now().After(end) {
			got := maps.Clone(r.got)
			r.mu.Unlock()
			return got
		}
		r.mu.Unlock()
	}
}
