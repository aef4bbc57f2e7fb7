package conformance

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The MQTT protocol versions, as CONNECT's Protocol Level byte says them.
const (
	v311 byte = 4 // MQTT 3.1.1
	v5   byte = 5 // MQTT 5.0
)

// Bounded waits. deadline is a failure deadline, never an expectation: a
// healthy server answers far sooner. quiet is how long a case listens for
// something that must not arrive when it has no later message to wait for
// instead; such a wait can miss a late violation but never fails a
// correct server.
const (
	deadline = 10 * time.Second
	quiet    = 700 * time.Millisecond
)

// testCase is one conformance case: what it checks, for which protocol
// version, and the normative statements it cites.
type testCase struct {
	area    string   // the file it lives in: "connect", "publish", ...
	version byte     // v311 or v5
	refs    []string // normative statements of that version: "MQTT-3.1.0-1"; or sections: "§4.8.2"
	name    string   // what it checks, briefly
	run     func(c *C)
}

func (tc testCase) versionName() string {
	if tc.version == v5 {
		return "5.0"
	}
	return "3.1.1"
}

// fullName is the subtest's name: area/version/statements name.
func (tc testCase) fullName() string {
	return tc.area + "/" + tc.versionName() + "/" + strings.Join(tc.refs, ",") + " " + tc.name
}

// both makes a 3.1.1 and a 5.0 case of one check whose statement numbers
// differ between the versions.
func both(area string, refs311, refs5 []string, name string, run func(c *C)) []testCase {
	return []testCase{
		{area: area, version: v311, refs: refs311, name: name, run: run},
		{area: area, version: v5, refs: refs5, name: name, run: run},
	}
}

// only5 makes an MQTT 5.0 case.
func only5(area string, refs []string, name string, run func(c *C)) testCase {
	return testCase{area: area, version: v5, refs: refs, name: name, run: run}
}

// only311 makes an MQTT 3.1.1 case.
func only311(area string, refs []string, name string, run func(c *C)) testCase {
	return testCase{area: area, version: v311, refs: refs, name: name, run: run}
}

// refs is shorthand for a list of statements.
func refs(r ...string) []string { return r }

// allCases lists every case, area by area.
func allCases() []testCase {
	var all []testCase
	for _, area := range [][]testCase{
		connectCases(),
		publishCases(),
		subscribeCases(),
		sessionCases(),
		willCases(),
		retainCases(),
		keepAliveCases(),
		propertyCases(),
		expiryCases(),
		flowControlCases(),
		packetSizeCases(),
		topicAliasCases(),
		sharedCases(),
		refusalCases(),
		deviceCases(),
	} {
		all = append(all, area...)
	}
	return all
}

// runSeq tells concurrent runs apart, so that a server shared between runs
// never sees one run's names in another's.
var runSeq atomic.Int64

// C is what a case runs with: its test, its target, its protocol version
// and names of its own. Its test is the case's own, or, for a known break,
// one that records the case's failures instead of failing (see
// Target.KnownBreaks).
type C struct {
	testing.TB
	target  Target
	version byte
	slug    string // unique to this case and run: the second topic level, the client ID stem
	ids     atomic.Int64
}

func newC(t testing.TB, tg Target, tc testCase, index int) *C {
	run := runSeq.Add(1)
	slug := "k" + strconv.FormatInt(int64(index), 36) + "r" + strconv.FormatInt(run%1296, 36) +
		strconv.FormatInt(time.Now().UnixNano()%46656, 36)
	return &C{TB: t, target: tg, version: tc.version, slug: slug}
}

// is5 reports whether the case speaks MQTT 5.0.
func (c *C) is5() bool { return c.version == v5 }

// topic returns a topic name (or filter) of the case's own:
// prefix/slug/name, or prefix/slug when name is empty.
func (c *C) topic(name string) string {
	if name == "" {
		return c.target.TopicPrefix + "/" + c.slug
	}
	return c.target.TopicPrefix + "/" + c.slug + "/" + name
}

// clientID returns a client ID of the case's own for role, at most 23
// letters and digits, which every server must accept [MQTT-3.1.3-5].
func (c *C) clientID(role string) string {
	id := c.slug + role
	if len(id) > 23 {
		c.Fatalf("client ID %q is longer than 23 characters", id)
	}
	return id
}

// newID returns a fresh client ID for the case.
func (c *C) newID() string {
	return c.clientID("c" + strconv.FormatInt(c.ids.Add(1), 36))
}

// need fails the case when the target declares no value for a limit the
// case needs to exercise its rule.
func (c *C) need(ok bool, what string) {
	c.Helper()
	if !ok {
		c.Fatalf("the target declares no %s: this case cannot exercise its rule, and the suite holds every server to it", what)
	}
}

// payload makes a recognisable payload of n bytes.
func payload(tag string, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	copy(b, tag)
	return b
}

// hex formats a reason code.
func hex(b byte) string { return fmt.Sprintf("0x%02X", b) }
