package mqttrmq_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mqttrmq/mqttrmq"
)

func TestParsePresenceEvent(t *testing.T) {
	// The body of SPEC §8, as the hosted service sends it.
	body := `{"clientId":"GID_x@@@d1","time":1700000000000,"eventType":"connect","channelId":"c-1","clientIp":"203.0.113.7:51234"}`
	e, err := mqttrmq.ParsePresenceEvent([]byte(body))
	want := mqttrmq.PresenceEvent{ClientID: "GID_x@@@d1", Time: time.UnixMilli(1700000000000), EventType: "connect", ChannelID: "c-1", ClientIP: "203.0.113.7:51234"}
	if err != nil || !e.Time.Equal(want.Time) || e.ClientID != want.ClientID || e.EventType != want.EventType || e.ChannelID != want.ChannelID || e.ClientIP != want.ClientIP {
		t.Fatalf("ParsePresenceEvent = %+v, %v; want %+v", e, err, want)
	}
	out, err := e.AppendJSON(nil)
	if err != nil || string(out) != body {
		t.Errorf("AppendJSON = %s, %v; want %s", out, err, body)
	}

	for _, c := range []struct{ name, body string }{
		{"order and spaces do not matter", ` { "eventType" : "tcpclean", "channelId":"c", "time":1, "clientId":"a" } `},
		{"unknown keys are skipped", `{"clientId":"a","time":5,"eventType":"disconnect","channelId":"c","extra":{"n":[1,2]}}`},
		{"clientIp may be absent", `{"clientId":"a","time":5,"eventType":"connect","channelId":"c"}`},
		{"escapes", `{"clientId":"GID_x@@@\u0064","time":5,"eventType":"connect","channelId":"c\/1"}`},
	} {
		if _, err := mqttrmq.ParsePresenceEvent([]byte(c.body)); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}

	for _, c := range []struct{ name, body, reason string }{
		{"empty", ``, "not a JSON object"},
		{"array", `[]`, "not a JSON object"},
		{"two values", `{"clientId":"a","time":5,"eventType":"connect","channelId":"c"} {}`, "more than one JSON value"},
		{"truncated", `{"clientId":"a","time":5`, "not a JSON object"},
		{"no clientId", `{"time":5,"eventType":"connect","channelId":"c"}`, "no clientId"},
		{"no time", `{"clientId":"a","eventType":"connect","channelId":"c"}`, "no time"},
		{"no eventType", `{"clientId":"a","time":5,"channelId":"c"}`, "no eventType"},
		{"no channelId (the consumer rules need it)", `{"clientId":"a","time":5,"eventType":"connect"}`, "no channelId"},
		{"key twice", `{"clientId":"a","clientId":"b","time":5,"eventType":"connect","channelId":"c"}`, "given twice"},
		{"time as a string", `{"clientId":"a","time":"5","eventType":"connect","channelId":"c"}`, "whole number"},
		{"time with a fraction", `{"clientId":"a","time":5.5,"eventType":"connect","channelId":"c"}`, "whole number"},
		{"time past int64", `{"clientId":"a","time":99999999999999999999,"eventType":"connect","channelId":"c"}`, "whole number"},
		{"time zero", `{"clientId":"a","time":0,"eventType":"connect","channelId":"c"}`, "1970"},
		{"time negative", `{"clientId":"a","time":-1,"eventType":"connect","channelId":"c"}`, "1970"},
		{"unknown event type", `{"clientId":"a","time":5,"eventType":"online","channelId":"c"}`, "eventType"},
		{"empty clientId", `{"clientId":"","time":5,"eventType":"connect","channelId":"c"}`, "clientId is empty"},
		{"control character", `{"clientId":"a\u0001","time":5,"eventType":"connect","channelId":"c"}`, "control character"},
		{"clientIp not a string", `{"clientId":"a","time":5,"eventType":"connect","channelId":"c","clientIp":7}`, "clientIp is not a JSON string"},
		{"invalid UTF-8", "{\"clientId\":\"\xff\",\"time\":5,\"eventType\":\"connect\",\"channelId\":\"c\"}", "valid UTF-8"},
		{"lone surrogate", `{"clientId":"\ud800","time":5,"eventType":"connect","channelId":"c"}`, "valid UTF-8"},
	} {
		_, err := mqttrmq.ParsePresenceEvent([]byte(c.body))
		if !errors.Is(err, mqttrmq.ErrInvalidPresence) || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: ParsePresenceEvent(%q) = %v; want ErrInvalidPresence saying %q", c.name, c.body, err, c.reason)
		}
	}
}

func TestPresenceEventAppendJSONRefuses(t *testing.T) {
	ok := mqttrmq.PresenceEvent{ClientID: "a", Time: time.UnixMilli(1), EventType: "connect", ChannelID: "c"}
	for name, e := range map[string]mqttrmq.PresenceEvent{
		"zero":          {},
		"before 1970":   {ClientID: "a", Time: time.UnixMilli(-5), EventType: "connect", ChannelID: "c"},
		"after 9999":    {ClientID: "a", Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), EventType: "connect", ChannelID: "c"},
		"bad type":      {ClientID: "a", Time: time.UnixMilli(1), EventType: "Connect", ChannelID: "c"},
		"no channel":    {ClientID: "a", Time: time.UnixMilli(1), EventType: "connect"},
		"control in ip": {ClientID: "a", Time: time.UnixMilli(1), EventType: "connect", ChannelID: "c", ClientIP: "1.2.3.4\n"},
	} {
		out, err := e.AppendJSON([]byte("x"))
		if !errors.Is(err, mqttrmq.ErrInvalidPresence) || string(out) != "x" {
			t.Errorf("%s: AppendJSON = %q, %v; want nothing appended and ErrInvalidPresence", name, out, err)
		}
	}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(%+v) = %v", ok, err)
	}
}

// ev makes an event of client "GID_c@@@d".
func ev(typ, channel string, ms int64) mqttrmq.PresenceEvent {
	return mqttrmq.PresenceEvent{ClientID: "GID_c@@@d", Time: time.UnixMilli(ms), EventType: typ, ChannelID: channel, ClientIP: "10.0.0.1:" + channel}
}

// TestPresenceTracker: the consumer rules of SPEC §8, case by case.
func TestPresenceTracker(t *testing.T) {
	for _, c := range []struct {
		name    string
		events  []mqttrmq.PresenceEvent
		online  bool
		channel string
	}{
		{"connect: online", []mqttrmq.PresenceEvent{ev("connect", "a", 10)}, true, "a"},
		{"a graceful close gives disconnect then tcpclean", []mqttrmq.PresenceEvent{ev("connect", "a", 10), ev("disconnect", "a", 20), ev("tcpclean", "a", 20)}, false, "a"},
		{"a dropped network gives tcpclean only", []mqttrmq.PresenceEvent{ev("connect", "a", 10), ev("tcpclean", "a", 30)}, false, "a"},
		{"a reconnect overtakes the old channel's tcpclean", []mqttrmq.PresenceEvent{ev("connect", "a", 10), ev("connect", "b", 20), ev("tcpclean", "a", 25)}, true, "b"},
		{"an offline event only overrides its own channel, whatever its time", []mqttrmq.PresenceEvent{ev("connect", "b", 20), ev("tcpclean", "a", 99)}, true, "b"},
		{"the new channel's connect arrives after the old one's tcpclean", []mqttrmq.PresenceEvent{ev("tcpclean", "a", 25), ev("connect", "b", 20), ev("connect", "a", 10)}, true, "b"},
		{"an older connect arriving late changes nothing", []mqttrmq.PresenceEvent{ev("connect", "b", 20), ev("connect", "a", 10)}, true, "b"},
		{"a connect after its own tcpclean stays offline", []mqttrmq.PresenceEvent{ev("tcpclean", "a", 15), ev("connect", "a", 10)}, false, "a"},
		{"the newest channel's close wins", []mqttrmq.PresenceEvent{ev("connect", "a", 10), ev("connect", "b", 20), ev("tcpclean", "b", 30), ev("tcpclean", "a", 12)}, false, "b"},
		{"duplicates are harmless", []mqttrmq.PresenceEvent{ev("connect", "a", 10), ev("connect", "a", 10), ev("tcpclean", "a", 20), ev("tcpclean", "a", 20), ev("connect", "a", 10)}, false, "a"},
		{"a lost connect: offline on the tcpclean's channel", []mqttrmq.PresenceEvent{ev("tcpclean", "a", 10)}, false, "a"},
		{"two connects in one millisecond: the order of channel IDs decides, for every arrival order", []mqttrmq.PresenceEvent{ev("connect", "b", 10), ev("connect", "a", 10)}, true, "b"},
	} {
		var tr mqttrmq.PresenceTracker
		for _, e := range c.events {
			if _, err := tr.Apply(e); err != nil {
				t.Fatalf("%s: Apply(%+v): %v", c.name, e, err)
			}
		}
		p, ok := tr.Status("GID_c@@@d")
		if !ok || p.Online != c.online || p.ChannelID != c.channel {
			t.Errorf("%s: Status = %+v, %v; want online %v on %q", c.name, p, ok, c.online, c.channel)
		}
		// Any other order gives the same answer: here, the reverse.
		var rev mqttrmq.PresenceTracker
		for i := len(c.events) - 1; i >= 0; i-- {
			rev.Apply(c.events[i])
		}
		if q, _ := rev.Status("GID_c@@@d"); q.Online != p.Online || q.ChannelID != p.ChannelID {
			t.Errorf("%s: in reverse order Status = %+v; want %+v", c.name, q, p)
		}
	}
}

func TestPresenceTrackerReports(t *testing.T) {
	var tr mqttrmq.PresenceTracker
	apply := func(e mqttrmq.PresenceEvent, want bool) {
		t.Helper()
		if changed, err := tr.Apply(e); err != nil || changed != want {
			t.Errorf("Apply(%s %s %d) = %v, %v; want changed %v", e.EventType, e.ChannelID, e.Time.UnixMilli(), changed, err, want)
		}
	}
	apply(ev("connect", "a", 10), true)
	apply(ev("connect", "a", 10), false) // a duplicate
	apply(ev("connect", "b", 20), true)  // online still, on another channel
	apply(ev("tcpclean", "a", 25), false)
	other := mqttrmq.PresenceEvent{ClientID: "GID_c@@@e", Time: time.UnixMilli(5), EventType: "connect", ChannelID: "x"}
	apply(other, true)
	if p, ok := tr.Status("GID_c@@@d"); !ok || !p.Online || p.ClientIP != "10.0.0.1:b" || !p.Since.Equal(time.UnixMilli(20)) {
		t.Errorf("Status = %+v; want online on b since 20 ms", p)
	}
	if on := tr.Online(); len(on) != 2 || on[0].ClientID != "GID_c@@@d" || on[1].ClientID != "GID_c@@@e" {
		t.Errorf("Online = %+v; want both clients, sorted", on)
	}
	apply(ev("disconnect", "b", 30), true)
	apply(ev("tcpclean", "b", 31), false)
	if p, _ := tr.Status("GID_c@@@d"); p.Online || !p.Since.Equal(time.UnixMilli(30)) {
		t.Errorf("Status = %+v; want offline since the disconnect at 30 ms", p)
	}
	if n := tr.Forget(time.UnixMilli(31)); n != 1 {
		t.Errorf("Forget = %d; want 1 (the offline client)", n)
	}
	if _, ok := tr.Status("GID_c@@@d"); ok {
		t.Errorf("a forgotten client is still known")
	}
	if _, err := tr.Apply(mqttrmq.PresenceEvent{ClientID: "a"}); !errors.Is(err, mqttrmq.ErrInvalidPresence) {
		t.Errorf("Apply(invalid) = %v; want ErrInvalidPresence", err)
	}
}

// A client that loses every connect keeps a bounded entry.
func TestPresenceTrackerBounded(t *testing.T) {
	var tr mqttrmq.PresenceTracker
	for i := range 1000 {
		tr.Apply(ev("tcpclean", "c"+strings.Repeat("x", i%50)+string(rune('a'+i%26)), int64(i+1)))
	}
	tr.Apply(ev("connect", "new", 5000))
	if p, _ := tr.Status("GID_c@@@d"); !p.Online || p.ChannelID != "new" {
		t.Errorf("Status = %+v; want online on the new channel", p)
	}
}

// BenchmarkParsePresenceEvent: reading one event body.
func BenchmarkParsePresenceEvent(b *testing.B) {
	body := []byte(`{"clientId":"GID_x@@@d1","time":1700000000000,"eventType":"connect","channelId":"gw-1-mx4l6wau-7","clientIp":"203.0.113.7:51234"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := mqttrmq.ParsePresenceEvent(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPresenceTracker: applying a connection's three events, for
// 10,000 clients.
func BenchmarkPresenceTracker(b *testing.B) {
	events := make([]mqttrmq.PresenceEvent, 0, 30000)
	for i := range 10000 {
		id := "GID_x@@@d" + strconv.Itoa(i)
		ch := "gw-1-" + id
		events = append(events,
			mqttrmq.PresenceEvent{ClientID: id, Time: time.UnixMilli(int64(i + 1)), EventType: "connect", ChannelID: ch},
			mqttrmq.PresenceEvent{ClientID: id, Time: time.UnixMilli(int64(i + 2)), EventType: "disconnect", ChannelID: ch},
			mqttrmq.PresenceEvent{ClientID: id, Time: time.UnixMilli(int64(i + 2)), EventType: "tcpclean", ChannelID: ch})
	}
	b.ReportAllocs()
	for b.Loop() {
		var tr mqttrmq.PresenceTracker
		for _, e := range events {
			tr.Apply(e)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
}
