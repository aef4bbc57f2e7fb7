package rocketmqtest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// validateTopicCases follow Java's TopicValidator.validateTopic.
var validateTopicCases = []struct {
	topic string
	ok    bool
}{
	{"T", true},
	{"a-b_c%d|e09", true}, // ^[%|a-zA-Z0-9_-]+$
	{strings.Repeat("t", 127), true},
	{strings.Repeat("t", 128), false},            // TOPIC_MAX_LENGTH is 127
	{"%RETRY%" + strings.Repeat("g", 248), true}, // retry topics may have 255
	{"%DLQ%" + strings.Repeat("g", 251), false},  // but no more
	{"", false},       // blank
	{"   ", false},    // blank
	{"a b", false},    // illegal character
	{"a/b", false},    // illegal character
	{"a.b", false},    // illegal character
	{"tópic", false},  // non-ASCII
	{"a\x00b", false}, // control character
}

func TestValidateTopic(t *testing.T) {
	for _, tc := range validateTopicCases {
		remark := validateTopic(tc.topic)
		if (remark == "") != tc.ok {
			t.Errorf("validateTopic(%q) = %q; want valid=%v", tc.topic, remark, tc.ok)
		}
	}
}

func TestCreateTopicRejects(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct {
		topic  string
		queues int
		want   error
	}{
		{"bad topic", 4, ErrInvalidTopic},
		{"TBW102", 4, ErrInvalidTopic},
		{"rmq_sys_x", 4, ErrInvalidTopic},
		{"ok", 0, ErrInvalidQueues},
		{"ok", maxQueues + 1, ErrInvalidQueues},
	} {
		err := s.CreateTopic(tc.topic, tc.queues)
		var e *Error
		if !errors.Is(err, tc.want) || !errors.As(err, &e) || e.Op != "CreateTopic" {
			t.Errorf("CreateTopic(%q, %d) = %v; want *Error wrapping %v", tc.topic, tc.queues, err, tc.want)
		}
	}
	if err := s.CreateTopic("grow", 2); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTopic("grow", 4); err != nil {
		t.Errorf("CreateTopic to grow: %v", err)
	}
	if err := s.CreateTopic("grow", 3); !errors.Is(err, ErrInvalidQueues) {
		t.Errorf("CreateTopic to shrink = %v; want ErrInvalidQueues", err)
	}
	if got := s.Queues("grow"); got != 4 {
		t.Errorf("Queues(grow) = %d; want 4", got)
	}
	s.Close()
	if err := s.CreateTopic("late", 1); !errors.Is(err, ErrClosed) {
		t.Errorf("CreateTopic after Close = %v; want ErrClosed", err)
	}
}

func TestOptionsReject(t *testing.T) {
	for name, o := range map[string]Option{
		"WithAddr empty":       WithAddr(""),
		"WithLogger nil":       WithLogger(nil),
		"WithDelayLevels none": WithDelayLevels(),
		"WithDelayLevels neg":  WithDelayLevels(-1),
		"WithMaxMessageSize 0": WithMaxMessageSize(0),
		"WithMaxMessageSize ∞": WithMaxMessageSize(maxFrameLength + 1),
	} {
		if s, err := Start(o); !errors.Is(err, ErrInvalidOption) {
			if s != nil {
				s.Close()
			}
			t.Errorf("Start(%s) = %v; want ErrInvalidOption", name, err)
		}
	}
	if _, err := Start(WithAddr("256.0.0.1:0")); err == nil {
		t.Error("Start(WithAddr(256.0.0.1:0)) succeeded")
	}
}

// tagFilterCases follow Java's FilterAPI.build for TAG expressions.
var tagFilterCases = []struct {
	expr    string
	match   []string
	nomatch []string
	bad     bool
}{
	{expr: "", match: []string{"", "a"}},
	{expr: "*", match: []string{"", "a"}},
	{expr: "a", match: []string{"a"}, nomatch: []string{"", "b", "A"}},
	{expr: "a || b", match: []string{"a", "b"}, nomatch: []string{"a || b", "c", ""}},
	{expr: " a ||b|| ", match: []string{"a", "b"}, nomatch: []string{" a", ""}},
	{expr: "||", bad: true},
	{expr: " || ", bad: true},
}

func TestTagFilter(t *testing.T) {
	for _, tc := range tagFilterCases {
		f, err := parseTagFilter(tc.expr)
		if (err != nil) != tc.bad {
			t.Errorf("parseTagFilter(%q) error = %v; want error=%v", tc.expr, err, tc.bad)
			continue
		}
		for _, tag := range tc.match {
			if !f.matches(tag) {
				t.Errorf("parseTagFilter(%q).matches(%q) = false", tc.expr, tag)
			}
		}
		for _, tag := range tc.nomatch {
			if f.matches(tag) {
				t.Errorf("parseTagFilter(%q).matches(%q) = true", tc.expr, tag)
			}
		}
	}
}

// batchMsg encodes one batch entry as primitive.Message.Marshal does.
func batchMsg(flag int32, body []byte, props string) []byte {
	size := 20 + len(body) + 2 + len(props)
	b := binary.BigEndian.AppendUint32(nil, uint32(size))
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(flag))
	b = binary.BigEndian.AppendUint32(b, uint32(len(body)))
	b = append(b, body...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(props)))
	return append(b, props...)
}

func TestDecodeBatch(t *testing.T) {
	good := append(batchMsg(1, []byte("one"), "a\x01b\x02"), batchMsg(2, nil, "")...)
	msgs, ok := decodeBatch(good)
	if !ok || len(msgs) != 2 || string(msgs[0].body) != "one" || msgs[0].props != "a\x01b\x02" ||
		msgs[0].flag != 1 || msgs[1].flag != 2 || len(msgs[1].body) != 0 {
		t.Fatalf("decodeBatch(good) = %+v, %v", msgs, ok)
	}
	for name, b := range map[string][]byte{
		"truncated":       good[:len(good)-1],
		"short":           good[:10],
		"size too small":  append([]byte{0, 0, 0, 1}, good[4:]...),
		"body overruns":   batchMsgWithBodyLen(99),
		"negative body":   batchMsgWithBodyLen(-1),
		"props mismatch":  append(batchMsg(0, []byte("x"), "p"), 0),
		"size beyond end": append([]byte{0, 0, 1, 0}, good[4:]...),
	} {
		if msgs, ok := decodeBatch(b); ok {
			t.Errorf("decodeBatch(%s) = %+v, true; want false", name, msgs)
		}
	}
}

func batchMsgWithBodyLen(n int32) []byte {
	b := batchMsg(0, []byte("body"), "")
	binary.BigEndian.PutUint32(b[16:], uint32(n))
	return b
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add(batchMsg(1, []byte("one"), "a\x01b\x02"))
	f.Add(batchMsgWithBodyLen(-1))
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, ok := decodeBatch(b)
		if !ok {
			return
		}
		n := 0
		for _, m := range msgs {
			n += 22 + len(m.body) + len(m.props)
		}
		if n != len(b) {
			t.Fatalf("decodeBatch accounted for %d of %d bytes", n, len(b))
		}
	})
}

// averageOwner must agree with the client's own strategy.
func TestAverageOwner(t *testing.T) {
	for queues := 1; queues <= 17; queues++ {
		for members := 1; members <= 7; members++ {
			var mqs []*primitive.MessageQueue
			for q := range queues {
				mqs = append(mqs, &primitive.MessageQueue{Topic: "T", BrokerName: BrokerName, QueueId: q})
			}
			var cids []string
			for m := range members {
				cids = append(cids, fmt.Sprintf("c%02d", m))
			}
			owner := map[int]int{}
			for m, cid := range cids {
				for _, mq := range consumer.AllocateByAveragely("G", cid, mqs, cids) {
					owner[mq.QueueId] = m
				}
			}
			for q := range queues {
				want, ok := owner[q]
				if got := averageOwner(q, queues, members); !ok || got != want {
					t.Errorf("averageOwner(%d, %d, %d) = %d; AllocateByAveragely gives it to %d (assigned %v)", q, queues, members, got, want, ok)
				}
			}
		}
	}
}
