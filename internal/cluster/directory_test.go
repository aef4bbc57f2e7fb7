package cluster

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mqttrmq/mqttrmq/internal/broker"
)

var testNames = Names{Cluster: "c1"}

// view is a directory as instance self sees it, with the clients it was
// told to take over.
type view struct {
	*directory
	taken []string
}

func newView(self string) *view {
	v := &view{}
	v.directory = newDirectory(self, testNames, func(c string) { v.taken = append(v.taken, c) })
	return v
}

// synced makes instance name known with an empty snapshot, so that its
// deltas apply.
func (v *view) synced(names ...string) {
	for _, name := range names {
		v.apply([]record{{Kind: kindSnapBegin, Instance: name}, {Kind: kindSnapEnd, Instance: name}}, time.Now())
	}
}

func (v *view) queues(topic, p2p string, retained bool) []string {
	q := v.dispatch(topic, p2p, retained)
	slices.Sort(q)
	return q
}

func inboxes(names ...string) []string {
	var q []string
	for _, n := range names {
		q = append(q, testNames.Inbox(n))
	}
	return q
}

func sorted(q ...string) []string {
	q = slices.Clone(q)
	slices.Sort(q)
	return q
}

// A clean session's filter brings messages to its instance's inbox only:
// no other instance, and nothing for a topic nobody holds.
func TestDispatchFollowsInterest(t *testing.T) {
	v := newView("a")
	v.synced("a", "b", "c")
	now := time.Now()
	v.apply([]record{{Kind: kindSubscribe, Instance: "b", Filter: "vehicles/+/gps"}}, now)
	v.apply([]record{{Kind: kindSubscribe, Instance: "c", Filter: "$share/g/vehicles/#"}}, now)

	if got, want := v.queues("vehicles/v1/gps", "", false), inboxes("b", "c"); !slices.Equal(got, want) {
		t.Errorf("vehicles/v1/gps: %v, want %v", got, want)
	}
	if got, want := v.queues("vehicles/v1/speed", "", false), inboxes("c"); !slices.Equal(got, want) {
		t.Errorf("vehicles/v1/speed: %v, want %v (a shared subscription matches with its inner filter)", got, want)
	}
	if got := v.queues("chat/room", "", false); len(got) != 0 {
		t.Errorf("a topic nobody subscribes to goes to %v, want nowhere", got)
	}
	// Two clean sessions on b hold the filter: one unsubscribing leaves it.
	v.apply([]record{{Kind: kindSubscribe, Instance: "b", Filter: "vehicles/+/gps"}, {Kind: kindUnsubscribe, Instance: "b", Filter: "vehicles/+/gps"}}, now)
	if got, want := v.queues("vehicles/v1/gps", "", false), inboxes("b", "c"); !slices.Equal(got, want) {
		t.Errorf("after one of two unsubscribed: %v, want %v", got, want)
	}
	v.apply([]record{{Kind: kindUnsubscribe, Instance: "b", Filter: "vehicles/+/gps"}}, now)
	if got, want := v.queues("vehicles/v1/gps", "", false), inboxes("c"); !slices.Equal(got, want) {
		t.Errorf("after both unsubscribed: %v, want %v", got, want)
	}
	// A retained message reaches every live instance, which keep it for
	// subscriptions to come.
	if got, want := v.queues("chat/room", "", true), inboxes("a", "b", "c"); !slices.Equal(got, want) {
		t.Errorf("retained: %v, want %v", got, want)
	}
}

// An instance's deltas apply only once a snapshot of it was read: a
// delta read before it may change what the snapshot already holds.
func TestDeltaBeforeSnapshotIgnored(t *testing.T) {
	v := newView("a")
	now := time.Now()
	v.apply([]record{{Kind: kindSubscribe, Instance: "b", Filter: "x/#"}}, now)
	if got := v.queues("x/1", "", false); len(got) != 0 {
		t.Errorf("a delta of an unsynced instance applied: %v", got)
	}
	v.apply([]record{
		{Kind: kindSnapBegin, Instance: "b"},
		{Kind: kindSubscribe, Instance: "b", Filter: "x/#", Count: 2},
		{Kind: kindConnect, Instance: "b", Client: "dev1", At: 5},
	}, now)
	if got := v.queues("x/1", "", false); len(got) != 0 {
		t.Errorf("a snapshot applied before its end: %v", got)
	}
	v.apply([]record{{Kind: kindSnapEnd, Instance: "b"}}, now)
	if got, want := v.queues("x/1", "", false), inboxes("b"); !slices.Equal(got, want) {
		t.Errorf("after the snapshot: %v, want %v", got, want)
	}
	if got, want := v.queues("x/p2p/dev1", "dev1", false), inboxes("b"); !slices.Equal(got, want) {
		t.Errorf("P2P to a client the snapshot has: %v, want %v", got, want)
	}
	// A later snapshot replaces everything the instance said before.
	v.apply([]record{{Kind: kindSnapBegin, Instance: "b"}, {Kind: kindSubscribe, Instance: "b", Filter: "y", Count: 1}, {Kind: kindSnapEnd, Instance: "b"}}, now)
	if got := v.queues("x/1", "", false); len(got) != 0 {
		t.Errorf("a filter the new snapshot does not hold: %v", got)
	}
	if got := v.queues("", "dev1", false); len(got) != 0 {
		t.Errorf("a client the new snapshot does not hold: %v", got)
	}
	if got, want := v.queues("y", "", false), inboxes("b"); !slices.Equal(got, want) {
		t.Errorf("the new snapshot's filter: %v, want %v", got, want)
	}
}

// One client ID, one connection [MQTT-3.1.4-2]: a later connection
// elsewhere takes over the one here; an earlier one does not, and a
// disconnect of an old connection leaves the new one.
func TestTakeover(t *testing.T) {
	v := newView("a")
	v.synced("a", "b")
	now := time.Now()
	v.apply([]record{{Kind: kindConnect, Instance: "a", Client: "dev1", At: 100}}, now)
	v.apply([]record{{Kind: kindConnect, Instance: "b", Client: "dev1", At: 50}}, now)
	if len(v.taken) != 0 {
		t.Fatalf("an earlier connection elsewhere took over: %v", v.taken)
	}
	v.apply([]record{{Kind: kindConnect, Instance: "b", Client: "dev1", At: 200}}, now)
	if !slices.Equal(v.taken, []string{"dev1"}) {
		t.Fatalf("taken over: %v, want [dev1]", v.taken)
	}
	if got, want := v.queues("", "dev1", false), inboxes("b"); !slices.Equal(got, want) {
		t.Errorf("P2P after the takeover: %v, want %v", got, want)
	}
	// a's connection ends after b's began: b keeps the client.
	v.apply([]record{{Kind: kindDisconnect, Instance: "a", Client: "dev1", At: 100}}, now)
	if got, want := v.queues("", "dev1", false), inboxes("b"); !slices.Equal(got, want) {
		t.Errorf("P2P after the old connection ended: %v, want %v", got, want)
	}
	// b's end of an earlier connection (At 50) leaves the one of At 200.
	v.apply([]record{{Kind: kindDisconnect, Instance: "b", Client: "dev1", At: 50}}, now)
	if got, want := v.queues("", "dev1", false), inboxes("b"); !slices.Equal(got, want) {
		t.Errorf("P2P after an older connection's end: %v, want %v", got, want)
	}
	v.apply([]record{{Kind: kindDisconnect, Instance: "b", Client: "dev1", At: 200}}, now)
	if got := v.queues("", "dev1", false); len(got) != 0 {
		t.Errorf("P2P to a client connected nowhere: %v", got)
	}
}

// A persistent session's messages go to its queue, online or not, and to
// its owner's inbox while it is online there; a record older than the one
// held changes nothing, and a newer one owned elsewhere takes the session
// over here.
func TestSessions(t *testing.T) {
	v := newView("a")
	v.synced("a", "b")
	now := time.Now()
	sess := func(owner string, online bool, version int64, filters ...string) record {
		s := &Session{Client: "car1", Owner: owner, Online: online, Version: version}
		for _, f := range filters {
			s.Subs = append(s.Subs, broker.SubscriptionState{Filter: f, QoS: 1})
		}
		return record{Kind: kindSession, Instance: owner, Session: s}
	}
	v.apply([]record{sess("a", true, 10, "cmd/#")}, now)
	q := testNames.Session("car1")
	if got, want := v.queues("cmd/all", "", false), sorted(q, testNames.Inbox("a")); !slices.Equal(got, want) {
		t.Errorf("online here: %v, want %v", got, want)
	}
	if got, want := v.queues("", "car1", false), sorted(q, testNames.Inbox("a")); !slices.Equal(got, want) {
		t.Errorf("P2P online here: %v, want %v", got, want)
	}
	v.apply([]record{sess("a", false, 10, "cmd/#")}, now)
	if got, want := v.queues("cmd/all", "", false), []string{q}; !slices.Equal(got, want) {
		t.Errorf("offline: %v, want %v", got, want)
	}
	v.apply([]record{sess("a", true, 20, "cmd/#")}, now)
	v.apply([]record{sess("b", true, 15, "other")}, now)
	if len(v.taken) != 0 || v.session("car1").Owner != "a" {
		t.Fatalf("a stale record applied: taken %v, owner %s", v.taken, v.session("car1").Owner)
	}
	v.apply([]record{sess("b", true, 30, "cmd/#", "more/+")}, now)
	if !slices.Equal(v.taken, []string{"car1"}) {
		t.Errorf("taken over: %v, want [car1]", v.taken)
	}
	if got, want := v.queues("more/x", "", false), sorted(q, testNames.Inbox("b")); !slices.Equal(got, want) {
		t.Errorf("the new record's filter: %v, want %v", got, want)
	}
	// An older gone record leaves the session; a current one ends it.
	v.apply([]record{{Kind: kindSessionGone, Instance: "a", Client: "car1", Session: &Session{Client: "car1", Version: 20}}}, now)
	if v.session("car1") == nil {
		t.Fatal("a gone record older than the session ended it")
	}
	v.apply([]record{{Kind: kindSessionGone, Instance: "b", Client: "car1", Session: &Session{Client: "car1", Version: 30}}}, now)
	if v.session("car1") != nil {
		t.Fatal("the session outlived its gone record")
	}
	if got := v.queues("cmd/all", "", false); len(got) != 0 {
		t.Errorf("an ended session's filter: %v", got)
	}
}

// An instance that says goodbye, or is not heard from, is forgotten with
// everything it held; an offline session past its expiry ends.
func TestLeaveAndExpire(t *testing.T) {
	v := newView("a")
	v.synced("a", "b", "c")
	start := time.Now()
	v.apply([]record{{Kind: kindSubscribe, Instance: "b", Filter: "t/#"}}, start)
	v.apply([]record{{Kind: kindSubscribe, Instance: "c", Filter: "t/#"}, {Kind: kindConnect, Instance: "c", Client: "d", At: 1}}, start)
	v.apply([]record{{Kind: kindLeave, Instance: "b"}}, start)
	if got, want := v.queues("t/1", "", false), inboxes("c"); !slices.Equal(got, want) {
		t.Errorf("after b left: %v, want %v", got, want)
	}
	v.apply([]record{{Kind: kindSession, Instance: "a", Session: &Session{Client: "s1", Owner: "a", Version: 1, Expires: start.Add(time.Minute).UnixNano()}}}, start)
	v.apply([]record{{Kind: kindSnapBegin, Instance: "a"}, {Kind: kindSnapEnd, Instance: "a"}}, start.Add(time.Hour))
	dead := v.expire(start.Add(time.Second), start.Add(2*time.Minute))
	if !slices.Equal(dead, []string{"c"}) {
		t.Errorf("dead: %v, want [c]", dead)
	}
	if got := v.queues("t/1", "", false); len(got) != 0 {
		t.Errorf("a dead instance's filter: %v", got)
	}
	if got := v.queues("", "d", false); len(got) != 0 {
		t.Errorf("a dead instance's client: %v", got)
	}
	if v.session("s1") != nil {
		t.Error("an offline session outlived its expiry")
	}
}

// The sessions of a dead instance are adopted by exactly one of the live
// instances that share a view of who is live.
func TestAdoptsExactlyOne(t *testing.T) {
	live := []string{"gw-1", "gw-2", "gw-3", "gw-4"}
	views := map[string]*view{}
	for _, name := range live {
		v := newView(name)
		v.synced(live...)
		views[name] = v
	}
	counts := map[string]int{}
	for i := range 1000 {
		client := fmt.Sprintf("GID_x@@@%d", i)
		n := 0
		for _, name := range live {
			if views[name].adopts(client) {
				n++
				counts[name]++
			}
		}
		if n != 1 {
			t.Fatalf("%s adopted by %d instances, want 1", client, n)
		}
	}
	for _, name := range live {
		if counts[name] < 150 {
			t.Errorf("%s adopts %d of 1000 sessions; want a fair share: %v", name, counts[name], counts)
		}
	}
}

// Names: every queue fits RocketMQ's 127 characters, whatever the client
// ID, and different client IDs have different queues.
func TestNames(t *testing.T) {
	n := Names{Namespace: "MQ_INST_1", Cluster: "prod"}
	if !n.Check(64) {
		t.Fatal("Check refused a short namespace and cluster")
	}
	if (Names{Cluster: strings.Repeat("c", 100)}).Check(64) {
		t.Error("Check took a cluster name too long for its queues")
	}
	if got, want := n.Inbox("gw-1"), "%LMQ%MQ_INST_1%prod-gw-gw-1"; got != want {
		t.Errorf("Inbox: %q, want %q", got, want)
	}
	if got, want := n.Topic("directory"), "MQ_INST_1%prod_directory"; got != want {
		t.Errorf("Topic: %q, want %q", got, want)
	}
	seen := map[string]string{}
	for _, id := range []string{"a", "A", "GID_car@@@v1", "GID_car@@@v2", "ü", strings.Repeat("x", 40), strings.Repeat("x", 41), strings.Repeat("y", 65535), strings.Repeat("y", 65534)} {
		q := n.Session(id)
		if len(q) > maxQueueName {
			t.Errorf("Session(%.20q…): %d characters", id, len(q))
		}
		if !strings.HasPrefix(q, "%LMQ%MQ_INST_1%prod-s-") {
			t.Errorf("Session(%.20q…) = %q: not in the cluster's names", id, q)
		}
		for _, r := range q[len("%LMQ%MQ_INST_1%"):] {
			if !(r == '-' || r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
				t.Errorf("Session(%.20q…) = %q holds %q", id, q, r)
			}
		}
		if other, ok := seen[q]; ok {
			t.Errorf("%.20q… and %.20q… share queue %q", id, other, q)
		}
		seen[q] = id
	}
}

// Records survive their encoding.
func TestRecordsRoundTrip(t *testing.T) {
	rs := []record{
		{Kind: kindConnect, Instance: "gw-1", Client: "ü@@@1", At: time.Now().UnixNano()},
		{Kind: kindSession, Instance: "gw-1", Session: &Session{Client: "c", Owner: "gw-1", Online: true, Version: 7, Subs: []broker.SubscriptionState{{Filter: "a/#", QoS: 1, NoLocal: true, ID: 3}}}},
		{Kind: kindSubscribe, Instance: "gw-2", Filter: "$share/g/x", Count: 3},
	}
	b, err := encodeRecords(rs)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeRecords(b)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(back[0], *back[1].Session, back[2]) != fmt.Sprint(rs[0], *rs[1].Session, rs[2]) {
		t.Errorf("round trip: %+v, want %+v", back, rs)
	}
	if _, err := decodeRecords([]byte("{not json")); err == nil {
		t.Error("decodeRecords took a malformed message")
	}
}

// A P2P message to a persistent client whose connect record came and
// whose session's record has not yet goes to the session's queue as well
// as to the inbox: if the client leaves and its instance closes before
// the record comes, the queue still has it. Once the record came, or for
// a clean session, it is as before.
func TestDispatchAwaitingSession(t *testing.T) {
	v := newView("a")
	v.synced("a", "b")
	now := time.Now()
	session := testNames.Session("dev1")
	v.apply([]record{{Kind: kindConnect, Instance: "b", Client: "dev1", At: 10, Persistent: true}}, now)
	if got, want := v.queues("", "dev1", false), sorted(session, testNames.Inbox("b")); !slices.Equal(got, want) {
		t.Errorf("P2P before the session's record: %v, want %v", got, want)
	}
	// It left before the record came: the queue still takes its messages.
	v.apply([]record{{Kind: kindDisconnect, Instance: "b", Client: "dev1", At: 10}}, now)
	if got, want := v.queues("", "dev1", false), []string{session}; !slices.Equal(got, want) {
		t.Errorf("P2P after it left, before its record: %v, want %v", got, want)
	}
	v.apply([]record{{Kind: kindSession, Instance: "b", Client: "dev1", Session: &Session{Client: "dev1", Owner: "b", Version: 10}}}, now)
	if got, want := v.queues("", "dev1", false), []string{session}; !slices.Equal(got, want) {
		t.Errorf("P2P once its offline record came: %v, want %v", got, want)
	}
	if len(v.awaiting) != 0 {
		t.Errorf("still awaiting %v after the record", v.awaiting)
	}
	// A clean session: its inbox alone.
	v.apply([]record{{Kind: kindConnect, Instance: "b", Client: "dev2", At: 20}}, now)
	if got, want := v.queues("", "dev2", false), inboxes("b"); !slices.Equal(got, want) {
		t.Errorf("P2P to a clean session: %v, want %v", got, want)
	}
	// A persistent connect whose instance's snapshot then no longer has
	// it (the instance went before writing the record) awaits no more.
	v.apply([]record{{Kind: kindConnect, Instance: "b", Client: "dev3", At: 30, Persistent: true}}, now)
	v.apply([]record{{Kind: kindSnapBegin, Instance: "b"}, {Kind: kindSnapEnd, Instance: "b"}}, now)
	if got := v.queues("", "dev3", false); len(got) != 0 || len(v.awaiting) != 0 {
		t.Errorf("P2P to a client the snapshot dropped: %v (awaiting %v), want nowhere", got, v.awaiting)
	}
	// The session ended before its record came (a clean start elsewhere).
	v.apply([]record{{Kind: kindConnect, Instance: "b", Client: "dev4", At: 40, Persistent: true}, {Kind: kindSessionGone, Instance: "b", Client: "dev4"}}, now)
	if len(v.awaiting) != 0 {
		t.Errorf("awaiting %v after the session was gone", v.awaiting)
	}
}
