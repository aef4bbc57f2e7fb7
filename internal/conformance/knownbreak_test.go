package conformance

import (
	"strings"
	"testing"
)

// TestRecorder: a known break's test keeps what the case reports, and a
// Fatal ends the case's goroutine there, as the testing package does.
func TestRecorder(t *testing.T) {
	rec := &recorder{TB: t}
	done := make(chan struct{})
	reached := false
	go func() {
		defer close(done)
		rec.Errorf("first %d", 1)
		rec.Fatalf("second %d", 2)
		reached = true
	}()
	<-done
	if reached {
		t.Error("the case went on after Fatalf")
	}
	if got := strings.Join(rec.failures(), "; "); got != "first 1; second 2" || !rec.Failed() {
		t.Errorf("recorded %q, failed %v; want both messages, failed", got, rec.Failed())
	}
}

// TestKnownBreakCheck: a known break names a case of the suite, once,
// with the statement it breaks and what the server does instead.
func TestKnownBreakCheck(t *testing.T) {
	name := allCases()[0].fullName()
	for _, tc := range []struct {
		breaks []KnownBreak
		ok     bool
	}{
		{[]KnownBreak{{Case: name, Statement: "MQTT-3.1.0-1", Instead: "answers"}}, true},
		{[]KnownBreak{{Case: "connect/5.0/no such case", Statement: "MQTT-3.1.0-1", Instead: "answers"}}, false},
		{[]KnownBreak{{Case: name, Statement: "MQTT-3.1.0-1", Instead: "answers"}, {Case: name, Statement: "x", Instead: "y"}}, false},
		{[]KnownBreak{{Case: name, Instead: "answers"}}, false},
		{[]KnownBreak{{Case: name, Statement: "MQTT-3.1.0-1"}}, false},
	} {
		tg := Target{Addr: "127.0.0.1:1883", TopicPrefix: "p", KnownBreaks: tc.breaks}
		if err := tg.check(); (err == nil) != tc.ok {
			t.Errorf("check(%+v) = %v; want ok %v", tc.breaks, err, tc.ok)
		}
	}
}
