package main

import (
	"fmt"
	"sync"
)

// kind is one of the three flows the quickstart counts.
type kind int

const (
	uplink    kind = iota // device telemetry the backend read from RocketMQ
	p2p                   // backend commands that reached their one vehicle
	broadcast             // the backend's command to all, as each vehicle got it
	kinds
)

var kindNames = [kinds]string{"uplink", "p2p", "broadcast"}

func (k kind) String() string { return kindNames[k] }

// tally counts which of the expected messages arrived. A message is a key,
// the receiving or sending client ID, the topic and the payload, which
// holds the run ID: a redelivery (at least once) counts once, and a message
// of another run not at all.
type tally struct {
	mu      sync.Mutex
	want    [kinds]map[string]bool // key → arrived
	got     [kinds]int
	changed chan struct{} // signalled on every count
}

func newTally() *tally {
	t := &tally{changed: make(chan struct{}, 1)}
	for k := range t.want {
		t.want[k] = map[string]bool{}
	}
	return t
}

// expect adds a message that must arrive.
func (t *tally) expect(k kind, key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.want[k][key] = false
}

// arrive counts a message and says what it was: "" for an expected one
// arriving for the first time, else why it was not counted.
func (t *tally) arrive(k kind, key string) (note string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	arrived, ok := t.want[k][key]
	switch {
	case !ok:
		return " (not sent by this run: not counted)"
	case arrived:
		return " (again: redelivered, counted once)"
	}
	t.want[k][key] = true
	t.got[k]++
	select {
	case t.changed <- struct{}{}:
	default:
	}
	return ""
}

// done reports whether every expected message of the kinds arrived.
func (t *tally) done(ks ...kind) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range ks {
		if t.got[k] < len(t.want[k]) {
			return false
		}
	}
	return true
}

func (t *tally) complete() bool { return t.done(uplink, p2p, broadcast) }

// String gives the counts as the summary line shows them.
func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fmt.Sprintf("uplink %d/%d, p2p %d/%d, broadcast %d/%d",
		t.got[uplink], len(t.want[uplink]), t.got[p2p], len(t.want[p2p]), t.got[broadcast], len(t.want[broadcast]))
}
