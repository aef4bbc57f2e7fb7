package mqttrmq_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mqttrmq/mqttrmq"
)

// splitExtra holds the cases JSON cannot spell: long inputs and invalid UTF-8.
var splitExtra = []splitGolden{
	// SPEC §2: a parent is at most 127 characters.
	{Topic: strings.Repeat("p", 127) + "/x", Parent: strings.Repeat("p", 127), Second: "/x"},
	{Topic: strings.Repeat("p", 128) + "/x", Err: "topic"},
	// MQTT-1.5.3: a topic is at most 65535 bytes.
	{Topic: "p/" + strings.Repeat("a", 65533), Parent: "p", Second: "/" + strings.Repeat("a", 65533)},
	{Topic: "p/" + strings.Repeat("a", 65534), Err: "topic"},
	// MQTT-1.5.3-1: invalid UTF-8, a lone continuation byte and an encoded surrogate.
	{Topic: "p/\x80", Err: "topic"},
	{Topic: "p/\xed\xa0\x80", Err: "topic"},
	{Topic: "p/\xff", Err: "topic"},
	{Topic: "p/\xc3", Err: "topic"}, // truncated two-byte sequence
}

func TestSplitTopic(t *testing.T) {
	cases := append(loadGolden[splitGolden](t, "split.json"), splitExtra...)
	for _, c := range cases {
		parent, second, err := mqttrmq.SplitTopic(c.Topic)
		call := "SplitTopic(" + quoteShort(c.Topic) + ")"
		if checkErr(t, call, err, c.Err) {
			if err == nil {
				t.Errorf("%s = %q, %q, nil; want error (%s)", call, parent, second, c.Rule)
			}
			continue
		}
		if parent != c.Parent || second != c.Second {
			t.Errorf("%s = %q, %q; want %q, %q (%s)", call, parent, second, c.Parent, c.Second, c.Rule)
		}
		// The split is lossless [SPEC §2].
		joined, err := mqttrmq.JoinTopic(parent, second)
		if err != nil || joined != c.Topic {
			t.Errorf("JoinTopic(%q, %q) = %q, %v; want %q", parent, second, joined, err, quoteShort(c.Topic))
		}
		// A topic SplitTopic accepts is a valid topic name.
		if err := mqttrmq.ValidateTopicName(c.Topic); err != nil {
			t.Errorf("ValidateTopicName(%s) = %v; want nil", call, err)
		}
	}
}

func quoteShort(s string) string {
	if len(s) > 40 {
		return strings.TrimSuffix(quote(s[:40]), `"`) + `..."`
	}
	return quote(s)
}

func quote(s string) string { return strings.ReplaceAll(`"`+s+`"`, "\x00", `\x00`) }

var joinTests = []struct {
	parent, second string
	want           string
	err            error
}{
	{"ACE", "/live/100", "ACE/live/100", nil},          // SPEC §2
	{"ACE", "", "ACE", nil},                            // SPEC §2: no second, the parent itself
	{"p", "/", "p/", nil},                              // SPEC §2: plain concatenation
	{"ACE", "live/100", "", mqttrmq.ErrInvalidTopic},   // SPEC §2: JoinTopic refuses a second without '/'
	{"", "/a", "", mqttrmq.ErrInvalidTopic},            // SPEC §2: no parent
	{"TBW102", "/a", "", mqttrmq.ErrInvalidTopic},      // SPEC §2: system topic
	{"ACE", "/+", "", mqttrmq.ErrInvalidTopic},         // MQTT-3.3.2-2
	{"ACE", "/\x01", "", mqttrmq.ErrInvalidTopic},      // SPEC §4
	{"ACE", "/" + strings.Repeat("a", 65531), "", nil}, // exactly 65535 bytes: valid (want filled below)
	{"ACE", "/" + strings.Repeat("a", 65532), "", mqttrmq.ErrInvalidTopic},
}

func TestJoinTopic(t *testing.T) {
	for _, tt := range joinTests {
		got, err := mqttrmq.JoinTopic(tt.parent, tt.second)
		want := tt.want
		if tt.err == nil && want == "" {
			want = tt.parent + tt.second
		}
		if !errors.Is(err, tt.err) || got != want {
			t.Errorf("JoinTopic(%q, %s) = %s, %v; want %s, %v", tt.parent, quoteShort(tt.second), quoteShort(got), err, quoteShort(want), tt.err)
		}
	}
}

var parentTests = []struct {
	in string
	ok bool
}{
	{"ACE", true},
	{"a-b_C9", true},
	{strings.Repeat("x", 127), true},
	{strings.Repeat("x", 128), false}, // RocketMQ TopicValidator: at most 127
	{"", false},
	{"a/b", false},
	{"a b", false},
	{"a%b", false}, // namespace separator
	{"a|b", false}, // tag separator
	{"TBW102", false},
	{"tbw102", true}, // RocketMQ compares system topics case-sensitively
	{"SCHEDULE_TOPIC_XXXX", false},
	{"BenchmarkTest", false},
	{"RMQ_SYS_TRANS_HALF_TOPIC", false},
	{"RMQ_SYS_TRACE_TOPIC", false},
	{"RMQ_SYS_TRANS_OP_HALF_TOPIC", false},
	{"TRANS_CHECK_MAX_TIME_TOPIC", false},
	{"SELF_TEST_TOPIC", false},
	{"OFFSET_MOVED_EVENT", false},
	{"CHECKPOINT_TOPIC", false},
	{"rmq_sys_x", false},
	{"rmq_sys", true},
	{"%RETRY%g", false},
	{"%DLQ%g", false},
}

func TestValidateParentTopic(t *testing.T) {
	for _, tt := range parentTests {
		err := mqttrmq.ValidateParentTopic(tt.in)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, mqttrmq.ErrInvalidTopic)) {
			t.Errorf("ValidateParentTopic(%s) = %v; want ok=%v", quoteShort(tt.in), err, tt.ok)
		}
	}
}

// filterTests cites MQTT 3.1.1 §4.7.1 and §4.8 (shared subscriptions, MQTT 5)
// for each filter.
var filterTests = []struct {
	filter string
	ok     bool
}{
	{"sport/tennis/player1/#", true},  // 4.7.1.2 example
	{"sport/#", true},                 // 4.7.1.2 example
	{"#", true},                       // 4.7.1.2 example
	{"sport/tennis#", false},          // 4.7.1.2 example
	{"sport/tennis/#/ranking", false}, // 4.7.1.2 example
	{"+", true},                       // 4.7.1.3 example
	{"+/tennis/#", true},              // 4.7.1.3 example
	{"sport+", false},                 // 4.7.1.3 example
	{"sport/+/player1", true},         // 4.7.1.3 example
	{"/+", true},                      // 4.7.1.3 example
	{"+/+", true},                     // 4.7.1.3 example
	{"/", true},                       // 4.7.3: empty levels
	{"//", true},
	{"a/+/+/#", true},
	{"a/++", false},   // MQTT-4.7.1-3
	{"a/+b", false},   // MQTT-4.7.1-3
	{"a/#/", false},   // MQTT-4.7.1-2
	{"a/##", false},   // MQTT-4.7.1-2
	{"#/", false},     // MQTT-4.7.1-2
	{"", false},       // MQTT-4.7.3-1
	{"a/\x00", false}, // MQTT-1.5.3-2
	{"a/\x01", false}, // SPEC §2: control characters refused in filters too
	{"a/\u0085", false},
	{"a/\xff", false}, // MQTT-1.5.3-1
	{"$SYS/#", true},
	{"$share/g/a/#", true},    // MQTT 5 4.8.2
	{"$share/g/#", true},      // MQTT 5 4.8.2
	{"$share/g/+", true},      // MQTT 5 4.8.2
	{"$share/g//", true},      // inner filter "/" is valid
	{"$share//a", false},      // MQTT-4.8.2-1: ShareName at least one character
	{"$share/g+/a", false},    // MQTT-4.8.2-2: no wildcard in ShareName
	{"$share/#/a", false},     // MQTT-4.8.2-2
	{"$share/g", false},       // MQTT-4.8.2-2: '/' and a filter must follow
	{"$share/g/", false},      // the filter must be at least one character
	{"$share/g/a+", false},    // the inner filter follows 4.7.1
	{"$share/g\x01/a", false}, // SPEC §2
	{"$share", true},          // not shared: an ordinary one-level filter
	{"$sharex/g/a", true},     // not shared
	{strings.Repeat("a", 65535), true},
	{strings.Repeat("a", 65536), false}, // MQTT-1.5.3
}

func TestValidateTopicFilter(t *testing.T) {
	for _, tt := range filterTests {
		err := mqttrmq.ValidateTopicFilter(tt.filter)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, mqttrmq.ErrInvalidFilter)) {
			t.Errorf("ValidateTopicFilter(%s) = %v; want ok=%v", quoteShort(tt.filter), err, tt.ok)
		}
	}
}

var nameTests = []struct {
	topic string
	ok    bool
}{
	{"a", true},
	{"/", true},      // MQTT 4.7.3: a topic of two empty levels
	{"$SYS/x", true}, // a valid name, though not a valid RocketMQ parent
	{"a/+", false},
	{"#", false},
	{"", false},
	{"a\x00", false},
	{"a\x1f", false},
	{"a\u00a0", true},
	{"\uffff", true}, // noncharacters: MQTT allows them
}

func TestValidateTopicName(t *testing.T) {
	for _, tt := range nameTests {
		err := mqttrmq.ValidateTopicName(tt.topic)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, mqttrmq.ErrInvalidTopic)) {
			t.Errorf("ValidateTopicName(%q) = %v; want ok=%v", tt.topic, err, tt.ok)
		}
	}
}

// matchTests holds every example of MQTT 3.1.1 §4.7, and the edges around them.
var matchTests = []struct {
	filter, topic string
	want          bool
}{
	// 4.7.1.2 multi-level wildcard
	{"sport/tennis/player1/#", "sport/tennis/player1", true},
	{"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
	{"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
	{"sport/#", "sport", true},
	{"#", "sport/tennis", true},
	{"#", "/", true},
	// 4.7.1.3 single-level wildcard
	{"sport/tennis/+", "sport/tennis/player1", true},
	{"sport/tennis/+", "sport/tennis/player2", true},
	{"sport/tennis/+", "sport/tennis/player1/ranking", false},
	{"sport/+", "sport", false},
	{"sport/+", "sport/", true},
	{"+/+", "/finance", true},
	{"/+", "/finance", true},
	{"+", "/finance", false},
	{"+/tennis/#", "sport/tennis/player1", true},
	{"+/tennis/#", "sport/tennis", true},
	{"sport/+/player1", "sport/tennis/player1", true},
	{"sport/+/player1", "sport/tennis/player2", false},
	// 4.7.2 topics beginning with $ [MQTT-4.7.2-1]
	{"#", "$SYS/monitor/Clients", false},
	{"+/monitor/Clients", "$SYS/monitor/Clients", false},
	{"$SYS/#", "$SYS/monitor/Clients", true},
	{"$SYS/monitor/+", "$SYS/monitor/Clients", true},
	{"+", "$SYS", false},
	{"a/+", "a/$b", true}, // '$' is only special at the start
	// 4.7.3 topic semantics: case-sensitive, empty levels, spaces
	{"ACCOUNTS", "Accounts", false},
	{"Accounts payable", "Accounts payable", true},
	{"/finance", "finance", false},
	{"+/+", "/", true},
	{"+", "", false}, // not a topic name
	{"a/+/c", "a//c", true},
	{"a/#", "a/", true},
	{"a/b", "a/b/", false},
	{"a/b/", "a/b", false},
	{"a/bc", "a/b", false},
	{"a/b", "a/bc", false},
	// shared subscriptions match what their inner filter matches (SPEC §2)
	{"$share/g/sport/#", "sport/tennis", true},
	{"$share/g/+", "$SYS", false},
	{"$share/g/a", "$share/g/a", false},
	// invalid input matches nothing
	{"sport/tennis#", "sport/tennis#", false},
	{"a", "a\x01", false},
	{"a/+", "a/+", false},
	{"$share//a", "a", false},
}

func TestMatchTopic(t *testing.T) {
	for _, tt := range matchTests {
		if got := mqttrmq.MatchTopic(tt.filter, tt.topic); got != tt.want {
			t.Errorf("MatchTopic(%q, %q) = %v; want %v", tt.filter, tt.topic, got, tt.want)
		}
	}
}

func TestErrorNamesWhatAndWhere(t *testing.T) {
	_, _, err := mqttrmq.SplitTopic("ACE/live/a\x02TAGS\x01evil")
	var e *mqttrmq.Error
	if !errors.As(err, &e) {
		t.Fatalf("SplitTopic error %T is not *Error", err)
	}
	if e.Op != "SplitTopic" || e.Offset != 10 || !errors.Is(err, mqttrmq.ErrInvalidTopic) {
		t.Errorf("SplitTopic error = %+v; want Op SplitTopic, Offset 10, ErrInvalidTopic", e)
	}
	want := `mqttrmq: SplitTopic "ACE/live/a\x02TAGS\x01evil": invalid topic: control character U+0002 at byte 10 (level 3)`
	if got := err.Error(); got != want {
		t.Errorf("SplitTopic error text\n got %s\nwant %s", got, want)
	}

	// A long input is quoted in part, so a 64 KB topic does not flood a log.
	long := strings.Repeat("a", 70000)
	err = mqttrmq.ValidateTopicName(long)
	if msg := err.Error(); len(msg) > 200 || !strings.Contains(msg, "(70000 bytes)") {
		t.Errorf("ValidateTopicName(70000 bytes) error text = %q; want a short text naming the length", msg)
	}
}

// TestErrorQuotesWholeCharacters: a long input is quoted up to a character
// boundary, never through the middle of a character (issue: the error of
// "v/x" + 40 × "车" + "\x01" showed …车\xe8\xbd").
func TestErrorQuotesWholeCharacters(t *testing.T) {
	for _, in := range []string{
		"v/x" + strings.Repeat("车", 40) + "\x01", // 3-byte characters: byte 80 is inside one
		"v/" + strings.Repeat("😀", 30) + "\x01",  // 4-byte characters
		"v/" + strings.Repeat("é", 50) + "\x01",  // 2-byte characters
		"v/" + strings.Repeat("a", 90) + "\x01",  // ASCII: cut at 80 exactly
	} {
		err := mqttrmq.ValidateTopicName(in)
		var e *mqttrmq.Error
		if !errors.As(err, &e) {
			t.Fatalf("ValidateTopicName(%q) = %v; want an *Error", in, err)
		}
		msg := err.Error()
		quoted, _, ok := strings.Cut(strings.TrimPrefix(msg, "mqttrmq: ValidateTopicName "), "... (")
		if !ok {
			t.Fatalf("error text %q does not cut its long input", msg)
		}
		shown, err2 := strconv.Unquote(quoted)
		if err2 != nil {
			t.Fatalf("error text %q: the input is not quoted: %v", msg, err2)
		}
		if !utf8.ValidString(shown) || !strings.HasPrefix(in, shown) || len(shown) > 80 || len(shown) < 77 {
			t.Errorf("error text %q quotes %q; want the longest prefix of whole characters within 80 bytes", msg, shown)
		}
	}
	// Invalid UTF-8 at the cut is cut at 80 bytes, as before.
	in := "v/" + strings.Repeat("\x80", 90)
	if msg := mqttrmq.ValidateTopicName(in).Error(); !strings.Contains(msg, "... (92 bytes)") {
		t.Errorf("error text %q; want the input cut and its length", msg)
	}
}
