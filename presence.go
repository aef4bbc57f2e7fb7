package mqttrmq

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// The event types of the hosted service's client status notifications
// [SPEC §8]. Each is both the RocketMQ tag of the message and the eventType
// of its body, so a backend can subscribe to some of them with a tag
// expression ("connect || tcpclean").
const (
	// PresenceConnect: the client's CONNECT was accepted.
	PresenceConnect = "connect"
	// PresenceDisconnect: the client sent DISCONNECT. Its tcpclean follows.
	PresenceDisconnect = "disconnect"
	// PresenceTCPClean: the client's TCP connection closed, for any reason.
	PresenceTCPClean = "tcpclean"
)

// PresenceTags is the tag expression that selects every presence event.
const PresenceTags = PresenceConnect + " || " + PresenceDisconnect + " || " + PresenceTCPClean

// PresenceEvent is one client status notification, the body of a message
// on the status topic:
//
//	{"clientId":"GID_x@@@d1","time":1700000000000,"eventType":"connect","channelId":"…","clientIp":"203.0.113.7:51234"}
//
// A connection gives a connect event and, when it ends, a tcpclean event,
// preceded by a disconnect event when the client said goodbye. Events can
// come late, twice, or (rarely) not at all: PresenceTracker applies the
// rules that make sense of them.
type PresenceEvent struct {
	ClientID  string    // the client's ID
	Time      time.Time // when it happened; the body keeps milliseconds
	EventType string    // PresenceConnect, PresenceDisconnect or PresenceTCPClean
	ChannelID string    // names the TCP connection, unique per connection
	ClientIP  string    // the client's address, "ip:port"; may be empty
}

// Online reports whether the event brings its client online (a connect).
func (e PresenceEvent) Online() bool { return e.EventType == PresenceConnect }

// maxPresenceMillis is the last millisecond of the year 9999: a later
// time is a mistake, and would not survive a round trip through time.Time's
// formatting.
const maxPresenceMillis = 253402300799999

// Validate reports whether the event can be written and tracked. It
// refuses, with an error wrapping ErrInvalidPresence, an empty client or
// channel ID, an event type other than the three, a time before 1970 or
// after 9999, and control characters or invalid UTF-8 in any field.
func (e PresenceEvent) Validate() error { return e.validate("PresenceEvent.Validate") }

func (e PresenceEvent) validate(op string) error {
	fail := func(input, reason string) error { return newError(op, input, reason, ErrInvalidPresence) }
	for _, f := range [...]struct{ name, v string }{{"clientId", e.ClientID}, {"channelId", e.ChannelID}, {"clientIp", e.ClientIP}} {
		if f.v == "" && f.name != "clientIp" {
			return fail(f.v, f.name+" is empty")
		}
		if !validText(f.v) {
			return fail(f.v, f.name+" holds a control character or invalid UTF-8")
		}
	}
	switch e.EventType {
	case PresenceConnect, PresenceDisconnect, PresenceTCPClean:
	default:
		return fail(e.EventType, `eventType is not "connect", "disconnect" or "tcpclean"`)
	}
	if ms := e.Time.UnixMilli(); ms <= 0 || ms > maxPresenceMillis {
		return fail(e.Time.String(), "time is not between 1970 and 9999")
	}
	return nil
}

// validText reports whether s is UTF-8 without control characters.
func validText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// AppendJSON appends the event's body, as the hosted service writes it,
// to dst. It refuses what Validate refuses, appending nothing.
func (e PresenceEvent) AppendJSON(dst []byte) ([]byte, error) {
	if err := e.validate("PresenceEvent.AppendJSON"); err != nil {
		return dst, err
	}
	dst = append(dst, `{"clientId":`...)
	dst = appendJSONString(dst, e.ClientID)
	dst = append(dst, `,"time":`...)
	dst = strconv.AppendInt(dst, e.Time.UnixMilli(), 10)
	dst = append(dst, `,"eventType":`...)
	dst = appendJSONString(dst, e.EventType)
	dst = append(dst, `,"channelId":`...)
	dst = appendJSONString(dst, e.ChannelID)
	dst = append(dst, `,"clientIp":`...)
	dst = appendJSONString(dst, e.ClientIP)
	return append(dst, '}'), nil
}

// ParsePresenceEvent reads the body of a presence event. It refuses, with
// an error wrapping ErrInvalidPresence, a body that is not one JSON object
// (strictly: invalid UTF-8 and lone surrogates are refused, not replaced),
// a key given twice, a clientId, eventType or channelId missing or not a
// string, a time missing or not a whole number of milliseconds, a clientIp
// that is not a string, and whatever Validate refuses. Other keys are
// skipped, so that a field the service adds one day does not break a
// backend.
func ParsePresenceEvent(body []byte) (PresenceEvent, error) {
	const op = "ParsePresenceEvent"
	s := string(body)
	fail := func(reason string) (PresenceEvent, error) {
		return PresenceEvent{}, newError(op, s, reason, ErrInvalidPresence)
	}
	r := &jsonReader{s: s}
	if !r.consume('{') {
		return fail("not a JSON object")
	}
	var e PresenceEvent
	const (
		hasClient = 1 << iota
		hasTime
		hasType
		hasChannel
		hasIP
	)
	seen := 0
	if !r.consume('}') {
		for {
			key, ok := r.str()
			if !ok || !r.consume(':') {
				return fail("not a JSON object")
			}
			bit := 0
			var dst *string
			switch key {
			case "clientId":
				bit, dst = hasClient, &e.ClientID
			case "eventType":
				bit, dst = hasType, &e.EventType
			case "channelId":
				bit, dst = hasChannel, &e.ChannelID
			case "clientIp":
				bit, dst = hasIP, &e.ClientIP
			case "time":
				bit = hasTime
			}
			if bit != 0 && seen&bit != 0 {
				return fail("key " + strconv.Quote(key) + " given twice")
			}
			seen |= bit
			switch {
			case dst != nil:
				r.ws()
				v, ok := r.str()
				if !ok {
					return fail(key + " is not a JSON string of valid UTF-8")
				}
				*dst = v
			case bit == hasTime:
				ms, ok := r.wholeNumber()
				if !ok {
					return fail("time is not a whole number of milliseconds")
				}
				e.Time = time.UnixMilli(ms)
			default:
				if !r.skipValue(0) {
					return fail("not a JSON object")
				}
			}
			if r.consume('}') {
				break
			}
			if !r.consume(',') {
				return fail("not a JSON object")
			}
		}
	}
	if !r.end() {
		return fail("more than one JSON value")
	}
	switch {
	case seen&hasClient == 0:
		return fail("no clientId")
	case seen&hasTime == 0:
		return fail("no time")
	case seen&hasType == 0:
		return fail("no eventType")
	case seen&hasChannel == 0:
		return fail("no channelId")
	}
	if err := e.validate(op); err != nil {
		return PresenceEvent{}, err
	}
	return e, nil
}

// wholeNumber reads a JSON number that is a whole number fitting an int64: no
// fraction, no exponent (1e3 is a number JSON allows, but no producer of
// milliseconds writes it).
func (r *jsonReader) wholeNumber() (int64, bool) {
	r.ws()
	start := r.i
	if !r.number() {
		return 0, false
	}
	n, err := strconv.ParseInt(r.s[start:r.i], 10, 64)
	return n, err == nil
}

// Presence is what a PresenceTracker knows of one client.
type Presence struct {
	ClientID string
	// Online says whether the client is connected.
	Online bool
	// ChannelID is the connection it is online on or, offline, the one
	// it went offline on.
	ChannelID string
	// ClientIP is the address it connected from, when known.
	ClientIP string
	// Since is the time of the event that gave this status.
	Since time.Time
}

// PresenceTracker knows which clients are online from their presence
// events, applying the rules of SPEC §8 whatever order the events come in:
//
//   - a client's newest connect (by time) names its current channel; it is
//     online until an offline event (disconnect or tcpclean) of that very
//     channel arrives;
//   - an offline event of another channel changes nothing, so a reconnect
//     that overtakes the old connection's tcpclean (a takeover, a network
//     drop noticed late) leaves the client online;
//   - a connect of a channel already seen offline, or older than the
//     current one, changes nothing;
//   - an event applied twice changes nothing.
//
// So the status of a client depends on which events arrived, not on their
// order. An event lost in transit is beyond any rule: a lost tcpclean
// leaves its client online until its next connection's events arrive.
//
// The zero value is ready to use, and a tracker is safe for concurrent use.
// It remembers every client it heard of; Forget drops those offline for
// long.
type PresenceTracker struct {
	mu      sync.Mutex
	clients map[string]*clientPresence
}

// clientPresence is one client's channels that may still matter: the
// current one (the newest connect) and those seen offline recently enough
// that their connect, arriving late, could otherwise pass for the current
// one.
type clientPresence struct {
	channels []channelSeen
}

type channelSeen struct {
	id      string
	ip      string
	connect int64 // ms of its connect event; 0 when not seen
	offline int64 // ms of its earliest offline event; 0 when none seen
}

// maxChannels bounds what one client's entry keeps: only a client whose
// connects are lost many times over, and whose tcpcleans all arrive, gets
// near it.
const maxChannels = 16

// Apply takes one event and reports whether it changed what the tracker
// says of its client (online or not, and on which channel). It refuses,
// with an error wrapping ErrInvalidPresence, what PresenceEvent.Validate
// refuses, changing nothing.
func (t *PresenceTracker) Apply(e PresenceEvent) (changed bool, err error) {
	if err := e.validate("PresenceTracker.Apply"); err != nil {
		return false, err
	}
	ms := e.Time.UnixMilli()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.clients == nil {
		t.clients = map[string]*clientPresence{}
	}
	cp := t.clients[e.ClientID]
	if cp == nil {
		cp = &clientPresence{}
		t.clients[e.ClientID] = cp
	}
	before := cp.status(e.ClientID)
	i := slices.IndexFunc(cp.channels, func(c channelSeen) bool { return c.id == e.ChannelID })
	if i < 0 {
		cp.channels = append(cp.channels, channelSeen{id: e.ChannelID})
		i = len(cp.channels) - 1
	}
	ch := &cp.channels[i]
	if e.Online() {
		if ch.connect == 0 || ms < ch.connect {
			ch.connect = ms
		}
		ch.ip = e.ClientIP
	} else if ch.offline == 0 || ms < ch.offline {
		ch.offline = ms
	}
	cp.prune()
	after := cp.status(e.ClientID)
	return before.Online != after.Online || before.ChannelID != after.ChannelID, nil
}

// current returns the index of the channel with the newest connect (ties
// go to the greater channel ID, so that every order agrees), or -1.
func (cp *clientPresence) current() int {
	cur := -1
	for i, c := range cp.channels {
		if c.connect == 0 {
			continue
		}
		if cur < 0 || c.connect > cp.channels[cur].connect || c.connect == cp.channels[cur].connect && c.id > cp.channels[cur].id {
			cur = i
		}
	}
	return cur
}

// prune forgets the channels that can no longer matter: every time known
// of them is older than the current channel's connect, so no event of
// theirs can make them current again.
func (cp *clientPresence) prune() {
	if cur := cp.current(); cur >= 0 {
		keep := cp.channels[cur]
		cp.channels = slices.DeleteFunc(cp.channels, func(c channelSeen) bool {
			return c.id != keep.id && max(c.connect, c.offline) < keep.connect
		})
	}
	for len(cp.channels) > maxChannels {
		// Drop the oldest channel that is not the current one.
		cur := cp.current()
		oldest := -1
		for i, c := range cp.channels {
			if i != cur && (oldest < 0 || max(c.connect, c.offline) < max(cp.channels[oldest].connect, cp.channels[oldest].offline)) {
				oldest = i
			}
		}
		cp.channels = slices.Delete(cp.channels, oldest, oldest+1)
	}
}

// status says what the channels mean: online on the current channel
// unless it went offline; offline since the latest offline event when no
// connect is known.
func (cp *clientPresence) status(clientID string) Presence {
	p := Presence{ClientID: clientID}
	if cur := cp.current(); cur >= 0 {
		c := cp.channels[cur]
		p.ChannelID, p.ClientIP = c.id, c.ip
		p.Online = c.offline == 0
		p.Since = time.UnixMilli(c.connect)
		if !p.Online {
			p.Since = time.UnixMilli(max(c.offline, c.connect))
		}
		return p
	}
	last := -1
	for i, c := range cp.channels {
		if last < 0 || c.offline > cp.channels[last].offline || c.offline == cp.channels[last].offline && c.id > cp.channels[last].id {
			last = i
		}
	}
	if last >= 0 {
		p.ChannelID, p.Since = cp.channels[last].id, time.UnixMilli(cp.channels[last].offline)
	}
	return p
}

// Status returns what the tracker knows of a client, and whether it heard
// of it at all.
func (t *PresenceTracker) Status(clientID string) (Presence, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	cp, ok := t.clients[clientID]
	if !ok {
		return Presence{}, false
	}
	return cp.status(clientID), true
}

// Online returns the clients online now, sorted by client ID.
func (t *PresenceTracker) Online() []Presence {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Presence
	for id, cp := range t.clients {
		if p := cp.status(id); p.Online {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b Presence) int { return strings.Compare(a.ClientID, b.ClientID) })
	return out
}

// Forget drops the clients offline since before the given time, and
// returns how many it dropped. An event of theirs arriving later starts
// afresh: forget only what no late event is expected for (an hour is
// generous).
func (t *PresenceTracker) Forget(before time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for id, cp := range t.clients {
		if p := cp.status(id); !p.Online && p.Since.Before(before) {
			delete(t.clients, id)
			n++
		}
	}
	return n
}
