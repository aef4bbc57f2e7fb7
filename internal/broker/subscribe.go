package broker

import (
	"fmt"
	"strings"
	"time"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/internal/packet"
)

// onSubscribe grants or refuses each filter of a SUBSCRIBE, answers with
// one code per filter [MQTT-3.8.4-6], then sends the retained messages the
// new subscriptions ask for [MQTT-3.3.1-6].
func (c *Client) onSubscribe(h packet.Header, body []byte) error {
	s := c.srv
	sp, err := packet.DecodeSubscribe(c.version, h, body)
	if err != nil {
		return c.protocolFault(err)
	}
	subID := 0
	if ids := sp.Properties.SubscriptionIDs; len(ids) > 0 {
		subID = ids[0]
	}
	codes := make([]byte, len(sp.Filters))
	var added, replaced []*subscription
	type replay struct {
		sub *subscription
	}
	var replays []replay
	sess := c.sess
	sess.mu.Lock()
	for i, f := range sp.Filters {
		inner, group, code := parseFilter(f.Filter)
		if code == MalformedPacket {
			sess.mu.Unlock()
			return c.fail(MalformedPacket, fmt.Sprintf("topic filter %q is not a valid MQTT filter [MQTT-4.7.1-2] [MQTT-4.8.2-1]", f.Filter))
		}
		if code == Success && group != "" && f.NoLocal {
			sess.mu.Unlock()
			// [MQTT-3.8.3-4]: no-local on a shared subscription.
			return c.fail(ProtocolError, "no local set on a shared subscription [MQTT-3.8.3-4]")
		}
		if code == Success && s.opts.MaxSubscriptions > 0 && len(sess.subs) >= s.opts.MaxSubscriptions && !sess.holds(f.Filter) {
			code = QuotaExceeded
		}
		byHook := false
		if code == Success {
			code, byHook = s.hooks.AuthorizeSubscribe(c, f.Filter, f.QoS), true
		}
		if code.Failed() {
			s.stats.refuse(refSuback, code)
			if !byHook { // a hook logs its own refusals, knowing why
				s.event("subscription refused", "client", c.id, "remote", c.RemoteAddr().String(), "filter", f.Filter, "code", code)
			}
			codes[i] = byte(code)
			if c.version != packet.V5 {
				codes[i] = v3SubackFailure // [MQTT-3.9.3-2]
			}
			continue
		}
		qos := min(f.QoS, maxQoS)
		codes[i] = qos // [MQTT-3.9.3-1]: the granted QoS
		sub, isNew := sess.subscribe(f.Filter, inner, group)
		sub.qos, sub.noLocal, sub.rap, sub.rh, sub.id = qos, f.NoLocal, f.RetainAsPublished, f.RetainHandling, subID
		if isNew {
			sub.since = time.Now()
			s.index.add(sub)
			added = append(added, sub)
		} else {
			replaced = append(replaced, sub)
		}
		// Retained messages: on every subscription (handling 0), on a new
		// one (1), or never (2) [MQTT-3.3.1-9] [MQTT-3.3.1-10]
		// [MQTT-3.3.1-11]; never for a shared one [MQTT-4.8.2-?].
		if group == "" && (sub.rh == 0 || sub.rh == 1 && isNew) {
			replays = append(replays, replay{sub})
		}
	}
	// The SUBACK goes before any message the new subscriptions match,
	// whose delivery waits for this lock.
	c.write(packet.AppendSuback(nil, c.version, sp.PacketID, codes, ""))
	sess.mu.Unlock()
	for _, sub := range added {
		s.hooks.Subscribed(c.id, sub.filter)
	}
	for _, sub := range replaced {
		s.hooks.Resubscribed(c.id, sub.filter)
	}
	now := time.Now()
	for _, r := range replays {
		for _, m := range s.retained.match(r.sub.inner, now) {
			var ids []int
			if r.sub.id > 0 {
				ids = []int{r.sub.id}
			}
			sess.mu.Lock()
			sess.sawRetained(m)
			_, slow := s.deliverLocked(sess, m, min(m.QoS, r.sub.qos), true, ids, now) // [MQTT-3.3.1-8]
			sess.mu.Unlock()
			s.cutOff(slow)
		}
	}
	return nil
}

// subscribe returns the session's subscription to filter, new or the one
// it had, whose options the new SUBSCRIBE replaces [MQTT-3.8.4-3];
// sess.mu is held.
func (sess *session) subscribe(filter, inner, group string) (*subscription, bool) {
	for _, sub := range sess.subs {
		if sub.filter == filter {
			return sub, false
		}
	}
	sub := &subscription{sess: sess, filter: filter, inner: inner, group: group}
	sess.subs = append(sess.subs, sub)
	return sub, true
}

// holds reports whether the session subscribes to filter; sess.mu is held.
func (sess *session) holds(filter string) bool {
	for _, sub := range sess.subs {
		if sub.filter == filter {
			return true
		}
	}
	return false
}

// parseFilter checks a filter. One MQTT itself forbids (a misplaced
// wildcard, an empty filter or share name) is a malformed packet, which
// closes the connection [MQTT-4.7.1-1] [MQTT-4.7.1-2] [MQTT-4.7.3-1]
// [MQTT-4.8.2-1] [MQTT-4.8.2-2]; one well formed that this project's
// mapping refuses (control characters, which would corrupt RocketMQ
// properties) is refused in the SUBACK (0x8F). It splits a shared
// subscription $share/{group}/{filter}.
func parseFilter(filter string) (inner, group string, code ReasonCode) {
	inner, group, ok := splitShared(filter)
	if !ok || !wellFormedFilter(inner) {
		return "", "", MalformedPacket
	}
	if err := mqttrmq.ValidateTopicFilter(filter); err != nil {
		return "", "", TopicFilterInvalid
	}
	return inner, group, Success
}

// splitShared splits $share/{group}/{filter}; a filter that is not shared
// comes back whole, with no group.
func splitShared(filter string) (inner, group string, ok bool) {
	rest, shared := strings.CutPrefix(filter, "$share/")
	if !shared {
		return filter, "", true
	}
	group, inner, found := strings.Cut(rest, "/")
	if !found || group == "" || strings.ContainsAny(group, "+#") {
		return "", "", false
	}
	return inner, group, true
}

// wellFormedFilter applies MQTT's own rules: at least one character
// [MQTT-4.7.3-1], '#' alone as the last level [MQTT-4.7.1-2], '+' alone in
// its level [MQTT-4.7.1-3].
func wellFormedFilter(f string) bool {
	if f == "" {
		return false
	}
	for start := 0; start <= len(f); {
		end := strings.IndexByte(f[start:], '/')
		if end < 0 {
			end = len(f)
		} else {
			end += start
		}
		level := f[start:end]
		if strings.ContainsAny(level, "+#") && len(level) > 1 {
			return false
		}
		if level == "#" && end != len(f) {
			return false
		}
		start = end + 1
	}
	return true
}

// onUnsubscribe removes filters [MQTT-3.10.4-1] and answers with one code
// per filter in MQTT 5 [MQTT-3.11.3-1].
func (c *Client) onUnsubscribe(h packet.Header, body []byte) error {
	s := c.srv
	u, err := packet.DecodeUnsubscribe(c.version, h, body)
	if err != nil {
		return c.protocolFault(err)
	}
	codes := make([]byte, len(u.Filters))
	var gone []*subscription
	sess := c.sess
	sess.mu.Lock()
	for i, f := range u.Filters {
		codes[i] = byte(NoSubscriptionExisted)
		for j, sub := range sess.subs {
			if sub.filter == f {
				codes[i] = byte(Success)
				gone = append(gone, sub)
				sess.subs = append(sess.subs[:j], sess.subs[j+1:]...)
				break
			}
		}
	}
	for _, sub := range gone {
		s.index.remove(sub)
	}
	// [MQTT-3.10.4-5]: UNSUBACK even when nothing was removed.
	c.write(packet.AppendUnsuback(nil, c.version, u.PacketID, codes))
	sess.mu.Unlock()
	for _, sub := range gone {
		s.hooks.Unsubscribed(c.id, sub.filter)
	}
	return nil
}
