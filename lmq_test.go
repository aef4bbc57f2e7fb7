package mqttrmq_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mqttrmq/mqttrmq"
)

type lmqGolden struct {
	Rule  string `json:"rule"`
	Topic string `json:"topic"` // a topic name or filter; "" with Queue alone tests ParseLMQQueue
	Queue string `json:"queue"`
	Err   string `json:"err"`
}

// lmqExtra holds the cases JSON spells badly: lengths.
var lmqExtra = []lmqGolden{
	// The broker keeps each queue in a directory of its name: 255 bytes.
	{Topic: "a/" + strings.Repeat("b", 247), Queue: "%LMQ%a%" + strings.Repeat("b", 247) + "%"},
	{Topic: "a/" + strings.Repeat("b", 248), Err: "topic"},
	{Topic: strings.Repeat("c", 250), Queue: "%LMQ%" + strings.Repeat("c", 250)},
	{Topic: strings.Repeat("c", 251), Err: "topic"},
}

func TestLMQQueueGolden(t *testing.T) {
	for _, c := range append(loadGolden[lmqGolden](t, "lmq.json"), lmqExtra...) {
		if c.Topic == "" && c.Queue != "" {
			// A name no input of LMQQueue produces.
			got, err := mqttrmq.ParseLMQQueue(c.Queue)
			call := "ParseLMQQueue(" + quoteShort(c.Queue) + ")"
			if !checkErr(t, call, err, c.Err) {
				t.Errorf("%s = %q, nil; want an error (%s)", call, got, c.Rule)
			}
			continue
		}
		got, err := mqttrmq.LMQQueue(c.Topic)
		call := "LMQQueue(" + quoteShort(c.Topic) + ")"
		if checkErr(t, call, err, c.Err) {
			if err == nil {
				t.Errorf("%s = %q, nil; want error (%s)", call, got, c.Rule)
			}
			continue
		}
		if got != c.Queue {
			t.Errorf("%s = %q; want %q (%s)", call, got, c.Queue, c.Rule)
		}
		back, err := mqttrmq.ParseLMQQueue(got)
		if err != nil || back != c.Topic {
			t.Errorf("ParseLMQQueue(%q) = %q, %v; want %q (%s)", got, back, err, quoteShort(c.Topic), c.Rule)
		}
	}
}

func TestLMQErrorNamesTheProblem(t *testing.T) {
	_, err := mqttrmq.LMQQueue("a/b/")
	want := `mqttrmq: LMQQueue "a/b/": invalid topic: trailing '/': RocketMQ-MQTT gives a/b and a/b/ the same queue at byte 3 (level 2)`
	if err == nil || err.Error() != want {
		t.Errorf("LMQQueue(a/b/) error\n got %v\nwant %s", err, want)
	}
	var e *mqttrmq.Error
	if _, err := mqttrmq.ParseLMQQueue("%LMQ%%p2p%c%"); !errors.As(err, &e) || e.Op != "ParseLMQQueue" || !strings.Contains(e.Reason, "P2P") {
		t.Errorf("ParseLMQQueue(P2P queue) = %v; want an *Error naming the P2P queue", err)
	}
	// A queue name has no '/' levels: the byte alone says where.
	_, err = mqttrmq.ParseLMQQueue("%LMQ%a%b+%")
	want = `mqttrmq: ParseLMQQueue "%LMQ%a%b+%": invalid topic: '+' does not fill its whole level at byte 8`
	if err == nil || err.Error() != want {
		t.Errorf("ParseLMQQueue(%%LMQ%%a%%b+%%) error\n got %v\nwant %s", err, want)
	}
}

type fanoutGolden struct {
	Rule    string   `json:"rule"`
	Filters []string `json:"filters"`
	Topic   string   `json:"topic"`
	Queues  []string `json:"queues"`
	Err     string   `json:"err"`
}

func TestFilterSetQueuesGolden(t *testing.T) {
	for _, c := range loadGolden[fanoutGolden](t, "fanout.json") {
		var fs mqttrmq.FilterSet
		for _, f := range c.Filters {
			if err := fs.Add(f); err != nil {
				t.Fatalf("Add(%q) = %v (%s)", f, err, c.Rule)
			}
		}
		got, err := fs.Queues(c.Topic)
		call := "Queues(" + quoteShort(c.Topic) + ")"
		dispatch, derr := fs.AppendDispatch([]byte("x"), c.Topic)
		if checkErr(t, call, err, c.Err) {
			if err == nil {
				t.Errorf("%s = %q, nil; want error (%s)", call, got, c.Rule)
			}
			if checkErr(t, "AppendDispatch("+quoteShort(c.Topic)+")", derr, c.Err); string(dispatch) != "x" {
				t.Errorf("AppendDispatch(%q) refused, yet appended %q", c.Topic, dispatch)
			}
			continue
		}
		if diff := cmp.Diff(c.Queues, got); diff != "" {
			t.Errorf("%s with filters %q (-want +got):\n%s(%s)", call, c.Filters, diff, c.Rule)
		}
		// AppendDispatch writes the same queues as the property value.
		if want := "x" + strings.Join(c.Queues, ","); derr != nil || string(dispatch) != want {
			t.Errorf("AppendDispatch(%q) = %q, %v; want %q", c.Topic, dispatch, derr, want)
		}
	}
}

func TestFilterSetAddRefuses(t *testing.T) {
	var fs mqttrmq.FilterSet
	for _, f := range []string{
		"a/+/",              // lossy queue name
		"/+",                // empty first level
		"a/%/+",             // '%'
		"a/,/#",             // ','
		"a/LMQ/#",           // RocketMQ-MQTT's reader
		"a/#/b",             // MQTT-4.7.1-2
		"a/b+",              // MQTT-4.7.1-3
		"$share//a/+",       // MQTT-4.8.2-1
		"$share/g/a/+/",     // the inner filter's queue
		"$share/g/$share/x", // an inner filter that reads as shared
		"",
		"a/\x02",
	} {
		if err := fs.Add(f); !errors.Is(err, mqttrmq.ErrInvalidFilter) {
			t.Errorf("Add(%q) = %v; want ErrInvalidFilter", f, err)
		}
		if fs.Remove(f) {
			t.Errorf("Remove(%q) = true after a refused Add", f)
		}
	}
	if n := fs.Len(); n != 0 {
		t.Errorf("Len() = %d after refused Adds; want 0", n)
	}
}

func TestFilterSetCountsRegistrations(t *testing.T) {
	var fs mqttrmq.FilterSet
	for _, f := range []string{"a/+", "$share/g/a/+", "a/#"} {
		if err := fs.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	if got := fs.Filters(); !cmp.Equal(got, []string{"a/#", "a/+"}) || fs.Len() != 2 {
		t.Fatalf("Filters() = %q, Len() = %d; want [a/# a/+], 2", got, fs.Len())
	}
	// Two subscriptions to a/+ (one shared): it stays until both go.
	if !fs.Remove("a/+") {
		t.Fatal("Remove(a/+) = false")
	}
	if got, _ := fs.AppendMatches(nil, "a/b"); !cmp.Equal(got, []string{"%LMQ%a%#%", "%LMQ%a%+%"}) {
		t.Errorf("after one Remove(a/+), matches = %q; want a/# and a/+", got)
	}
	if !fs.Remove("$share/g/a/+") || fs.Remove("a/+") {
		t.Error("the second Remove of a/+ should succeed and a third fail")
	}
	if got, _ := fs.AppendMatches(nil, "a/b"); !cmp.Equal(got, []string{"%LMQ%a%#%"}) {
		t.Errorf("after removing a/+, matches = %q; want a/# alone", got)
	}
	if !fs.Remove("a/#") || fs.Len() != 0 || len(fs.Filters()) != 0 {
		t.Errorf("after removing everything: Len() = %d, Filters() = %q", fs.Len(), fs.Filters())
	}
}

// TestFilterSetReplace loads filters the way RocketMQ-MQTT keeps them: one
// comma-separated list per first-level topic.
func TestFilterSetReplace(t *testing.T) {
	var fs mqttrmq.FilterSet
	if err := fs.Add("other/#"); err != nil {
		t.Fatal(err)
	}
	if err := fs.Replace("test", strings.Split("test/+,test/a/#,test/+", ",")); err != nil {
		t.Fatal(err)
	}
	if got := fs.Filters(); !cmp.Equal(got, []string{"other/#", "test/+", "test/a/#"}) {
		t.Errorf("Filters() = %q after Replace", got)
	}
	if err := fs.Replace("test", []string{"test/b/+"}); err != nil {
		t.Fatal(err)
	}
	if got := fs.Filters(); !cmp.Equal(got, []string{"other/#", "test/b/+"}) || fs.Len() != 2 {
		t.Errorf("Filters() = %q, Len() = %d after a second Replace", got, fs.Len())
	}
	// A refused list changes nothing.
	for _, bad := range [][]string{{"test/+", "other/+"}, {"test/+", "test/+/"}, {"#"}} {
		if err := fs.Replace("test", bad); !errors.Is(err, mqttrmq.ErrInvalidFilter) {
			t.Errorf("Replace(test, %q) = %v; want ErrInvalidFilter", bad, err)
		}
	}
	if err := fs.Replace("TBW102", nil); !errors.Is(err, mqttrmq.ErrInvalidTopic) {
		t.Errorf("Replace(TBW102) = %v; want ErrInvalidTopic", err)
	}
	if got := fs.Filters(); !cmp.Equal(got, []string{"other/#", "test/b/+"}) {
		t.Errorf("Filters() = %q after refused Replaces", got)
	}
	if err := fs.Replace("test", nil); err != nil || !cmp.Equal(fs.Filters(), []string{"other/#"}) {
		t.Errorf("Replace(test, nil) = %v, Filters() = %q; want other/# alone", err, fs.Filters())
	}
}

// TestFilterSetReplaceCanEmptyTopicFilters: the value RocketMQ-MQTT keeps for
// a topic with no wildcard filter left is empty, and strings.Split("", ",")
// is [""]; Replace must empty the topic's filters with it (it refused the
// empty string, and the old filters kept being fanned out to). A stray ','
// must not refuse a list either.
func TestFilterSetReplaceCanEmptyTopicFilters(t *testing.T) {
	var fs mqttrmq.FilterSet
	for _, f := range []string{"a/#", "a/+/b", "other/#"} {
		if err := fs.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := fs.Replace("a", strings.Split("", ",")); err != nil {
		t.Fatalf("Replace(a, Split(\"\")) = %v; want the topic's filters removed", err)
	}
	if got := fs.Filters(); !cmp.Equal(got, []string{"other/#"}) || fs.Len() != 1 {
		t.Errorf("after Replace(a, Split(\"\")): Filters() = %q, Len() = %d; want other/# alone", got, fs.Len())
	}
	if got, _ := fs.Queues("a/x/b"); !cmp.Equal(got, []string{"%LMQ%a%x%b%"}) {
		t.Errorf("Queues(a/x/b) = %q after the filters of a were removed; want its own queue alone", got)
	}
	for _, value := range []string{"a/+,", ",a/+", "a/+,,a/#", ",", "a/+,a/+,"} {
		if err := fs.Replace("a", strings.Split(value, ",")); err != nil {
			t.Errorf("Replace(a, Split(%q)) = %v; want the empty entries skipped", value, err)
		}
	}
	if got := fs.Filters(); !cmp.Equal(got, []string{"a/+", "other/#"}) {
		t.Errorf("Filters() = %q after the last Replace; want a/+ and other/#", got)
	}
}

func TestFilterSetMatchesDollarTopics(t *testing.T) {
	var fs mqttrmq.FilterSet
	for _, f := range []string{"#", "+/uptime", "$SYS/#", "$SYS/+"} {
		if err := fs.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	// [MQTT-4.7.2-1]: a filter starting with a wildcard matches no $ topic.
	got, err := fs.AppendMatches(nil, "$SYS/uptime")
	if want := []string{"%LMQ%$SYS%#%", "%LMQ%$SYS%+%"}; err != nil || !cmp.Equal(got, want) {
		t.Errorf("AppendMatches($SYS/uptime) = %q, %v; want %q", got, err, want)
	}
	if _, err := fs.AppendMatches(nil, "a/+"); !errors.Is(err, mqttrmq.ErrInvalidTopic) {
		t.Errorf("AppendMatches(a/+) = %v; want ErrInvalidTopic", err)
	}
}

func TestNilFilterSet(t *testing.T) {
	var fs *mqttrmq.FilterSet
	if got, err := fs.Queues("a/b"); err != nil || !cmp.Equal(got, []string{"%LMQ%a%b%"}) {
		t.Errorf("nil.Queues(a/b) = %q, %v", got, err)
	}
	if got, err := fs.AppendMatches(nil, "a/b"); err != nil || len(got) != 0 {
		t.Errorf("nil.AppendMatches(a/b) = %q, %v", got, err)
	}
	if fs.Len() != 0 || fs.Filters() != nil {
		t.Error("a nil FilterSet is not empty")
	}
	if fs.Remove("a/+") {
		t.Error("nil.Remove(a/+) = true; a nil FilterSet holds nothing to remove")
	}
	if got, err := fs.AppendDispatch(nil, "a/b"); err != nil || string(got) != "%LMQ%a%b%" {
		t.Errorf("nil.AppendDispatch(a/b) = %q, %v", got, err)
	}
}
