package mqttrmq_test

import (
	"errors"
	"testing"
	"time"

	"github.com/mqttrmq/mqttrmq"
)

// FuzzParsePresenceEvent: any body is read or refused with
// ErrInvalidPresence, and what is read writes back to a body that reads the
// same.
func FuzzParsePresenceEvent(f *testing.F) {
	for _, s := range []string{
		`{"clientId":"GID_x@@@d1","time":1700000000000,"eventType":"connect","channelId":"c","clientIp":"203.0.113.7:51234"}`,
		`{"clientId":"a","time":1,"eventType":"tcpclean","channelId":"c","x":[{"y":null}]}`,
		`{"clientId":"\u00e9\ud83d\ude00","time":2,"eventType":"disconnect","channelId":"\"c\""}`,
		`{"clientId":"a","time":1e3,"eventType":"connect","channelId":"c"}`,
		`{`, `[]`, `{"clientId":"a","clientId":"a"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := mqttrmq.ParsePresenceEvent(body)
		if err != nil {
			if !errors.Is(err, mqttrmq.ErrInvalidPresence) {
				t.Fatalf("ParsePresenceEvent(%q) = %v; want ErrInvalidPresence", body, err)
			}
			_ = err.Error()
			return
		}
		out, err := e.AppendJSON(nil)
		if err != nil {
			t.Fatalf("AppendJSON(%+v) of a parsed event: %v", e, err)
		}
		again, err := mqttrmq.ParsePresenceEvent(out)
		if err != nil || again.ClientID != e.ClientID || !again.Time.Equal(e.Time) || again.EventType != e.EventType || again.ChannelID != e.ChannelID || again.ClientIP != e.ClientIP {
			t.Fatalf("round trip of %q: %s gives %+v, %v; want %+v", body, out, again, err, e)
		}
	})
}

// FuzzPresenceTracker: a client's status depends on which events arrived,
// not on their order, and applying an event twice changes nothing. The
// events are what connections make: each channel connects once, at its
// own time, and goes offline no earlier.
func FuzzPresenceTracker(f *testing.F) {
	f.Add([]byte{10, 20, 30, 40, 0, 0, 0, 0, 1, 0, 2, 0, 5})
	f.Add([]byte{49, 33, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 3, 1, 1, 0, 2, 1, 9})
	f.Fuzz(func(t *testing.T, script []byte) {
		if len(script) < 4 {
			return
		}
		// Four channels' connect times, then three bytes an event: its
		// type, its channel, and for an offline event its delay.
		types := []string{mqttrmq.PresenceConnect, mqttrmq.PresenceDisconnect, mqttrmq.PresenceTCPClean}
		var events []mqttrmq.PresenceEvent
		for i := 4; i+2 < len(script) && len(events) < 12; i += 3 {
			typ, ch := types[int(script[i])%3], int(script[i+1])%4
			ms := int64(script[ch]) + 1
			if typ != mqttrmq.PresenceConnect {
				ms += int64(script[i+2])
			}
			events = append(events, mqttrmq.PresenceEvent{ClientID: "c", EventType: typ, ChannelID: string(rune('a' + ch)), Time: time.UnixMilli(ms)})
		}
		var fwd, rev, twice mqttrmq.PresenceTracker
		for i, e := range events {
			fwd.Apply(e)
			rev.Apply(events[len(events)-1-i])
			twice.Apply(e)
			twice.Apply(e)
		}
		a, _ := fwd.Status("c")
		b, _ := rev.Status("c")
		c, _ := twice.Status("c")
		if a.Online != b.Online || a.ChannelID != b.ChannelID || a.Online != c.Online || a.ChannelID != c.ChannelID {
			t.Fatalf("events %+v: forward %+v, reverse %+v, twice %+v", events, a, b, c)
		}
	})
}
