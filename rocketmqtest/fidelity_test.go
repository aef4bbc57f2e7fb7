package rocketmqtest_test

import (
	"bytes"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

// addedByBrokerOrConsumer are the properties that appear on a received
// message without the sender setting them.
var addedByBrokerOrConsumer = map[string]bool{
	"UNIQ_KEY": true, "CLUSTER": true, "MSG_REGION": true, "TRACE_ON": true, "MIN_OFFSET": true, "MAX_OFFSET": true, "CONSUME_START_TIME": true,
}

// unicodeText makes n bytes of valid UTF-8 drawn from several scripts,
// without the \x01 and \x02 separators.
func unicodeText(r *rand.Rand, n int) string {
	alphabet := []rune("aZ09-_ äöüß ÆØÅ ğış ДЖЯ αβγ 日本語 中文 한국어 العربية עברית हिन्दी 🎉🚀 ∑∞ \t\n\"\\'{}[]<>&")
	var b strings.Builder
	for b.Len() < n {
		b.WriteRune(alphabet[r.IntN(len(alphabet))])
	}
	s := b.String()
	for len(s) > n { // trim to n bytes without cutting a rune
		_, size := lastRune(s)
		s = s[:len(s)-size]
	}
	return s
}

func lastRune(s string) (rune, int) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i]&0xC0 != 0x80 {
			return []rune(s[i:])[0], len(s) - i
		}
	}
	return 0, 1
}

// Every property and the body arrive byte for byte as sent: Unicode keys
// and values, 8 KB values, a 64 KB body of arbitrary bytes, compressed or
// not on the way. The stored encoding is the broker's: the client's own
// primitive.DecodeMessage reads it.
func TestPropertiesAndBodyByteForByte(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	topic := newTopic(t, s, 1)
	r := rand.New(rand.NewPCG(1, 2))

	type sent struct {
		props map[string]string
		body  []byte
	}
	var cases []sent
	// 64 KB of random bytes: incompressible, sent compressed anyway.
	random := make([]byte, 64<<10)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	// Every byte value, under the 4 KB compression threshold.
	every := make([]byte, 256)
	for i := range every {
		every[i] = byte(i)
	}
	cases = append(cases,
		sent{map[string]string{"ключ": "значение", "日本": "語 🎉", "k": unicodeText(r, 8<<10), "big": strings.Repeat("x", 8<<10)}, random},
		sent{map[string]string{"qoslevel": "1", "mqttSecondTopic": "/a/b/c", "clientId": "GID_x@@@dev-1"}, every},
		sent{map[string]string{"empty-body": "yes"}, nil},
		sent{map[string]string{"text": unicodeText(r, 3000)}, []byte(unicodeText(r, 64<<10))},
	)

	col := newCollector()
	startPushConsumer(t, s, uniqueName(t, "G"), topic, consumer.MessageSelector{}, col.consume)
	p := startProducer(t, s, producer.WithQueueSelector(producer.NewManualQueueSelector()))
	for _, c := range cases {
		m := primitive.NewMessage(topic, c.body)
		m.Queue = &primitive.MessageQueue{Topic: topic, BrokerName: rocketmqtest.BrokerName, QueueId: 0}
		for k, v := range c.props {
			m.WithProperty(k, v)
		}
		mustSend(t, p, m)
	}

	check := func(how string, got []*primitive.MessageExt) {
		t.Helper()
		if len(got) != len(cases) {
			t.Fatalf("%s: %d messages; want %d", how, len(got), len(cases))
		}
		for i, m := range got {
			want := cases[m.QueueOffset]
			if !bytes.Equal(m.Body, want.body) {
				t.Errorf("%s: message %d body differs: %d bytes, want %d", how, i, len(m.Body), len(want.body))
			}
			props := m.GetProperties()
			for k, v := range want.props {
				if props[k] != v {
					t.Errorf("%s: message %d property %q = %.40q (%d bytes); want %.40q (%d bytes)", how, i, k, props[k], len(props[k]), v, len(v))
				}
			}
			for k := range props {
				if _, ok := want.props[k]; !ok && !addedByBrokerOrConsumer[k] {
					t.Errorf("%s: message %d has property %q the sender did not set", how, i, k)
				}
			}
		}
	}
	check("consumed", col.waitFor(t, len(cases)))
	stored := s.Messages(topic)
	check("Messages", stored)

	// The header fields the broker writes are those a real one writes.
	host, port, _ := net.SplitHostPort(s.Addr())
	for i, m := range stored {
		if m.StoreHost != s.Addr() || !strings.HasPrefix(m.BornHost, host+":") || m.QueueOffset != int64(i) {
			t.Errorf("stored[%d]: store host %s born host %s offset %d; want %s, %s:*, %d", i, m.StoreHost, m.BornHost, m.QueueOffset, s.Addr(), host, i)
		}
		portN, _ := strconv.Atoi(port)
		ip := net.ParseIP(host).To4()
		if want := primitive.CreateMessageId(ip, int32(portN), m.CommitLogOffset); m.OffsetMsgId != want {
			t.Errorf("stored[%d]: OffsetMsgId %s; want %s from the store host and commit-log offset", i, m.OffsetMsgId, want)
		}
		if i > 0 && m.CommitLogOffset != stored[i-1].CommitLogOffset+int64(stored[i-1].StoreSize) {
			t.Errorf("stored[%d]: commit-log offset %d does not follow the previous message's %d+%d",
				i, m.CommitLogOffset, stored[i-1].CommitLogOffset, stored[i-1].StoreSize)
		}
		if m.StoreTimestamp < m.BornTimestamp {
			t.Errorf("stored[%d]: stored at %d, before it was born at %d", i, m.StoreTimestamp, m.BornTimestamp)
		}
	}
}

// Requests a real broker refuses are refused with its response codes, and
// store nothing.
func TestRefusedSends(t *testing.T) {
	s := rocketmqtest.NewServer(t, rocketmqtest.WithMaxMessageSize(8<<10))
	topic := newTopic(t, s, 1)
	p := startProducer(t, s)
	ctx := ctxWithDeadline(t)

	huge := primitive.NewMessage(topic, []byte("x"))
	huge.WithProperty("big", strings.Repeat("v", 32800)) // serialised properties over 32767 bytes
	big := make([]byte, 16<<10)
	for i := range big {
		big[i] = byte(rand.Uint32())
	}
	for _, tc := range []struct {
		name string
		msg  *primitive.Message
		want string
	}{
		// AbstractSendMessageProcessor.msgCheck: TopicValidator, INVALID_PARAMETER.
		{"illegal topic name", primitive.NewMessage("bad topic!", []byte("x")), "CODE: 29"},
		{"topic too long", primitive.NewMessage(strings.Repeat("t", 128), []byte("x")), "CODE: 29"},
		// Sends to the schedule topic are forbidden: NO_PERMISSION.
		{"forbidden system topic", primitive.NewMessage("SCHEDULE_TOPIC_XXXX", []byte("x")), "CODE: 16"},
		// PROPERTIES_SIZE_EXCEEDED and an oversized body: MESSAGE_ILLEGAL.
		{"properties over 32767 bytes", huge, "CODE: 13"},
		{"body over maxMessageSize", primitive.NewMessage(topic, big), "CODE: 13"},
	} {
		before := len(s.Messages(tc.msg.Topic))
		_, err := p.SendSync(ctx, tc.msg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: SendSync error = %v; want %s", tc.name, err, tc.want)
		}
		if after := len(s.Messages(tc.msg.Topic)); after != before {
			t.Errorf("%s: the refused send stored a message", tc.name)
		}
	}
	mustSend(t, p, primitive.NewMessage(topic, []byte("still fine")))
}
