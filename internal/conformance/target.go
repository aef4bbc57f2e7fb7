package conformance

import (
	"flag"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Target describes a running MQTT server the cases are run against.
type Target struct {
	// Addr is the server's MQTT listener, "host:port", plain TCP.
	Addr string

	// TopicPrefix is the first level of every topic and filter the cases
	// use ("conformance" makes "conformance/k3x/a"). A gateway serves only
	// topics whose first level is one of its RocketMQ topics; any server
	// works with any prefix. It must be a valid topic level without
	// wildcards.
	TopicPrefix string

	// Limits are the limits the server is configured with. The cases check
	// that its CONNACK advertises them and that it enforces them.
	Limits Limits

	// Refusals are well-formed topics and filters the server refuses, with
	// the reason code it refuses each with. The cases check every one.
	Refusals []Refusal

	// Deviations are the documented ways this server legitimately departs
	// from what the cases otherwise require: a SHOULD it does not follow, a
	// MAY it does not take. Each case says which deviation, if any, it
	// accepts in place of its strict expectation. A MUST is never a
	// deviation.
	Deviations []Deviation

	// KnownBreaks are the cases a reference server is known to fail by
	// faults of its own, each with the statement it breaks and what it
	// does instead. It is for a reference server only, whose faults the
	// suite cannot fix but must not hide: Run checks that each of these
	// cases still fails (so that the list stays true: a case the server
	// has come to pass is reported), and that every other case passes. A
	// server under test declares none: each of its failures is a defect.
	KnownBreaks []KnownBreak
}

// KnownBreak is a case a reference server fails by a fault of its own.
type KnownBreak struct {
	// Case is the case's subtest name as Run gives it before the testing
	// package replaces its spaces: area/version/statements what it checks,
	// for example "connect/5.0/MQTT-3.1.0-2 a second CONNECT is a
	// protocol violation and closes the connection".
	Case string

	// Statement is the normative statement the server breaks, as the
	// case cites it: "MQTT-3.3.4-6".
	Statement string

	// Instead says what the server does instead of what the statement
	// requires.
	Instead string
}

// Limits are a server's configured limits, as its MQTT 5 CONNACK must state
// them (MQTT 5.0 §3.2.2.3). A zero field means the server has no such limit
// or sends no such property; a case that needs the limit to exercise a
// rule then fails, saying so, since the suite holds every server to these
// features.
type Limits struct {
	// ReceiveMaximum is the server's Receive Maximum: how many QoS 1 and 2
	// publishes a client may have unacknowledged towards it
	// (MQTT 5.0 §3.2.2.3.3). Zero means 65535, the value of an absent
	// property.
	ReceiveMaximum uint16

	// MaximumPacketSize is the largest packet the server accepts, in bytes
	// (MQTT 5.0 §3.2.2.3.6).
	MaximumPacketSize uint32

	// MaxPayload is the largest payload the server takes in a PUBLISH,
	// when its policy sets one below what its Maximum Packet Size allows;
	// zero means none. The case of a packet of exactly the Maximum Packet
	// Size then fills it with a longer topic instead, and checks that a
	// larger payload, in a packet under the maximum, is refused (MQTT 5:
	// PUBACK with a reason code of 0x80 or more, Quota exceeded (0x97)
	// for example) and reaches nobody.
	MaxPayload int

	// TopicAliasMaximum is the highest topic alias the server accepts from
	// a client (MQTT 5.0 §3.2.2.3.8).
	TopicAliasMaximum uint16

	// ServerKeepAlive is the Server Keep Alive the server sends an MQTT 5
	// client that asks for a longer keep-alive than this (MQTT 5.0
	// §3.2.2.3.14). The cases keep well under it, and ping as the server
	// tells them to.
	ServerKeepAlive uint16

	// MaxSubscriptionsPerClient is how many subscriptions the server lets
	// one client hold; the next is refused with 0x97 (Quota exceeded) in
	// MQTT 5 and 0x80 in MQTT 3.1.1. Zero means no such limit, and the
	// cases check that a client's subscriptions are all granted.
	MaxSubscriptionsPerClient int
}

// Refusal is a well-formed topic filter or topic name that the server
// refuses to every client, and the MQTT 5 reason code it refuses it with.
type Refusal struct {
	// Filter, when not empty, is refused in SUBSCRIBE: SUBACK carries Code
	// in MQTT 5 and 0x80 in MQTT 3.1.1.
	Filter string

	// Topic, when not empty, is refused in PUBLISH: PUBACK or PUBREC
	// carries Code in MQTT 5, and the message reaches nobody.
	Topic string

	// Code is the MQTT 5 reason code: 0x87 (Not authorized), 0x8F (Topic
	// Filter invalid) or 0x90 (Topic Name invalid) for example.
	Code byte

	// Why says, in the case's failure messages, what the server refuses.
	Why string
}

// Deviation names a documented, deliberate way a server departs from a
// SHOULD or does not take a MAY.
type Deviation string

// The deviations the cases know.
const (
	// CloseWithoutDisconnect: on some protocol errors the server closes
	// the network connection without first sending a DISCONNECT with the
	// reason code. MQTT 5.0 §4.13.1 says it SHOULD send one; closing is
	// what it MUST do [MQTT-4.13.1-1].
	CloseWithoutDisconnect Deviation = "close-without-disconnect"

	// NoPayloadFormatCheck: the server does not check that a payload whose
	// Payload Format Indicator is 1 is valid UTF-8. MQTT 5.0 §3.3.2.3.2
	// says it MAY, answering 0x99 (Payload format invalid); it MUST then
	// still forward the indicator unaltered [MQTT-3.3.2-4].
	NoPayloadFormatCheck Deviation = "no-payload-format-check"
)

// Has reports whether the target declares deviation d.
func (t Target) Has(d Deviation) bool { return slices.Contains(t.Deviations, d) }

// receiveMaximum is the Receive Maximum in force: 65535 when absent.
func (l Limits) receiveMaximum() uint16 {
	if l.ReceiveMaximum == 0 {
		return 65535
	}
	return l.ReceiveMaximum
}

// knownBreak returns the known break declared for the case named name.
func (t Target) knownBreak(name string) (KnownBreak, bool) {
	for _, kb := range t.KnownBreaks {
		if kb.Case == name {
			return kb, true
		}
	}
	return KnownBreak{}, false
}

// check reports what is wrong with a target, or nil.
func (t Target) check() error {
	if t.Addr == "" {
		return fmt.Errorf("conformance: Target.Addr is empty")
	}
	if t.TopicPrefix == "" || strings.ContainsAny(t.TopicPrefix, "/+#\x00") {
		return fmt.Errorf("conformance: Target.TopicPrefix %q is not one topic level", t.TopicPrefix)
	}
	for _, r := range t.Refusals {
		if (r.Filter == "") == (r.Topic == "") {
			return fmt.Errorf("conformance: a Refusal names a filter or a topic, exactly one: %+v", r)
		}
		if r.Code < 0x80 {
			return fmt.Errorf("conformance: Refusal %+v: a refusal's reason code is 0x80 or more", r)
		}
	}
	if len(t.KnownBreaks) > 0 {
		names := map[string]bool{}
		for _, tc := range allCases() {
			names[tc.fullName()] = true
		}
		seen := map[string]bool{}
		for _, kb := range t.KnownBreaks {
			switch {
			case !names[kb.Case]:
				return fmt.Errorf("conformance: KnownBreak names no case: %q", kb.Case)
			case seen[kb.Case]:
				return fmt.Errorf("conformance: KnownBreak lists %q twice", kb.Case)
			case kb.Statement == "" || kb.Instead == "":
				return fmt.Errorf("conformance: KnownBreak %q must say the statement it breaks and what the server does instead", kb.Case)
			}
			seen[kb.Case] = true
		}
	}
	return nil
}

// Run runs every case against the servers target describes, each as a
// subtest of t named area/version/statements, for example
// "connect/5.0/MQTT-3.1.0-1 first packet not CONNECT", several at once
// (see casesAtOnce), and returns when all have run. target is called
// once per case, from the case's goroutine with the case's t: it may start
// a server for the case (and stop it with t.Cleanup), or return one server
// shared by all cases, since each case uses topics and client IDs of its
// own. Run calls t.Fatal on a target it cannot use. A case the target
// lists in KnownBreaks must fail, and its subtest fails if it passes.
func Run(t *testing.T, target func(t *testing.T) Target) {
	t.Helper()
	cases := allCases()
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(atOnce(), len(cases)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				runCase(t, target, cases[i], i)
			}
		}()
	}
	for i := range cases {
		next <- i
	}
	close(next)
	wg.Wait()
}

// casesAtOnce is how many cases Run runs at once for each test the
// testing package's -parallel flag lets run at once (GOMAXPROCS unless
// set): a case spends its time waiting on the server, for keep-alives,
// will delays and quiet periods, far more than computing: held to
// -parallel alone, the suite takes two to three times as long.
const casesAtOnce = 4

// atOnce is how many cases Run runs at once.
func atOnce() int {
	n := runtime.GOMAXPROCS(0)
	if f := flag.Lookup("test.parallel"); f != nil {
		if g, ok := f.Value.(flag.Getter); ok {
			if v, ok := g.Get().(int); ok && v > 0 {
				n = v
			}
		}
	}
	return casesAtOnce * n
}

// runCase runs one case as a subtest of t.
func runCase(t *testing.T, target func(t *testing.T) Target, tc testCase, index int) {
	t.Run(tc.fullName(), func(t *testing.T) {
		tg := target(t)
		if err := tg.check(); err != nil {
			t.Fatal(err)
		}
		if kb, ok := tg.knownBreak(tc.fullName()); ok {
			runKnownBreak(t, tg, tc, index, kb)
			return
		}
		tc.run(newC(t, tg, tc, index))
	})
}
