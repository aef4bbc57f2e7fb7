package gateway

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mqttrmq/mqttrmq"
)

// Permissions is a topic permission table per AccessKey and Group ID, as
// the hosted service's custom authorization rules are: each rule allows or
// denies publishing, subscribing or both, on the topics a filter
// (wildcards allowed) covers, to the clients of one AccessKey, of one Group
// ID, or to everyone. Read one with ParsePermissions or LoadPermissions:
//
//	# effect  action     subject           filter
//	allow     publish    group:GID_car     vehicles/+/status
//	allow     subscribe  group:GID_car     vehicles/cmd/#
//	allow     all        key:LTAI5tAdmin   #
//	deny      subscribe  *                 vehicles/secret/#
//
// A client's rules are those of its AccessKey (the username's, for the
// Signature, DeviceCredential and Token modes), of its Group ID (the client
// ID's, for GroupID@@@DeviceID) and of everyone (*). As in the hosted
// service's authorization, a deny wins over any allow, and what no rule
// allows is denied:
//
//   - a publish is allowed when an allow rule's filter matches its topic
//     and no deny rule's does;
//   - a subscription is allowed when an allow rule's filter covers its
//     filter (every topic the subscription can match, the allow rule
//     matches: vehicles/# covers vehicles/cmd/+, not the other way round),
//     and no deny rule's filter can match a topic the subscription does. A
//     shared subscription is judged by its filter.
//
// The table trusts the identity the authenticator checked: with AllowAll,
// anyone can claim any AccessKey or Group ID. A Token-mode client needs
// both: the table's permission and its token's. The table judges
// subscriptions as they are made; one a persistent session kept from
// before the table changed stays.
type Permissions struct {
	everyone []permissionRule
	byGroup  map[string][]permissionRule
	byKey    map[string][]permissionRule
	rules    int
}

type permissionRule struct {
	allow              bool
	publish, subscribe bool
	filter             string
	levels             []string // the filter's levels, split once
	line               int
}

// LoadPermissions reads a permission table from a file; see
// ParsePermissions.
func LoadPermissions(path string) (*Permissions, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: permissions: %w", ErrConfig, err)
	}
	defer f.Close()
	return ParsePermissions(f, path)
}

// ParsePermissions reads a permission table, one rule a line:
//
//	allow|deny  publish|subscribe|all  SUBJECT  FILTER
//
// SUBJECT is group:GID_xxx, key:ACCESS_KEY_ID or *; FILTER an MQTT topic
// filter. Fields are separated by spaces or tabs; blank lines and lines
// starting with # are skipped. name names the source in errors. It refuses,
// with an error wrapping ErrConfig that names the line, a line of other
// than four fields, an unknown effect, action or subject kind, a Group ID
// not of the hosted form (see mqttrmq.ParseClientID), an empty AccessKey ID
// or one holding '|', a filter that is not a valid MQTT topic filter (see
// mqttrmq.ValidateTopicFilter), and a shared subscription's filter
// ($share/...: write its filter).
func ParsePermissions(r io.Reader, name string) (*Permissions, error) {
	p := &Permissions{byGroup: map[string][]permissionRule{}, byKey: map[string][]permissionRule{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fail := func(format string, a ...any) (*Permissions, error) {
			return nil, fmt.Errorf("%w: permissions %s line %d: %s", ErrConfig, name, n, fmt.Sprintf(format, a...))
		}
		f := strings.Fields(line)
		if len(f) != 4 {
			return fail("want 4 fields, allow|deny publish|subscribe|all SUBJECT FILTER; got %d", len(f))
		}
		rule := permissionRule{line: n}
		switch f[0] {
		case "allow":
			rule.allow = true
		case "deny":
		default:
			return fail("effect %q is not allow or deny", f[0])
		}
		switch f[1] {
		case "publish":
			rule.publish = true
		case "subscribe":
			rule.subscribe = true
		case "all":
			rule.publish, rule.subscribe = true, true
		default:
			return fail("action %q is not publish, subscribe or all", f[1])
		}
		filter := f[3]
		if err := mqttrmq.ValidateTopicFilter(filter); err != nil {
			return fail("filter %q: %v", filter, err)
		}
		if strings.HasPrefix(filter, "$share/") {
			return fail("filter %q is a shared subscription's: a rule names the filter itself, which covers its shared subscriptions too", filter)
		}
		rule.filter, rule.levels = filter, strings.Split(filter, "/")
		switch subject := f[2]; {
		case subject == "*":
			p.everyone = append(p.everyone, rule)
		case strings.HasPrefix(subject, "group:"):
			group := strings.TrimPrefix(subject, "group:")
			if _, err := mqttrmq.ParseClientID(group + "@@@d"); err != nil {
				return fail("subject %q: %q is not a Group ID (GID_ or GID- then letters, digits, '-' and '_', 7-64 characters)", subject, group)
			}
			p.byGroup[group] = append(p.byGroup[group], rule)
		case strings.HasPrefix(subject, "key:"):
			key := strings.TrimPrefix(subject, "key:")
			if key == "" || strings.Contains(key, "|") {
				return fail("subject %q: an AccessKey ID is non-empty and holds no '|'", subject)
			}
			p.byKey[key] = append(p.byKey[key], rule)
		default:
			return fail("subject %q is not group:GID_..., key:ACCESS_KEY_ID or *", subject)
		}
		p.rules++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: permissions %s: %w", ErrConfig, name, err)
	}
	if p.rules == 0 {
		return nil, fmt.Errorf("%w: permissions %s: no rules: every publish and subscription would be refused", ErrConfig, name)
	}
	return p, nil
}

// Len returns the number of rules.
func (p *Permissions) Len() int {
	if p == nil {
		return 0
	}
	return p.rules
}

// Publish reports whether a client of the AccessKey ID and Group ID given
// ("" for none) may publish to topic. A nil table allows everything. It
// does not allocate.
func (p *Permissions) Publish(accessKey, groupID, topic string) bool {
	if p == nil {
		return true
	}
	allowed := false
	for _, rules := range [...][]permissionRule{p.everyone, p.byGroup[groupID], p.byKey[accessKey]} {
		for i := range rules {
			r := &rules[i]
			if !r.publish || r.allow && allowed {
				continue
			}
			if matchLevels(r.levels, topic) {
				if !r.allow {
					return false // deny wins
				}
				allowed = true
			}
		}
	}
	return allowed
}

// Subscribe reports whether a client of the AccessKey ID and Group ID
// given ("" for none) may subscribe to filter (a shared subscription's is
// judged by its filter). A nil table allows everything.
func (p *Permissions) Subscribe(accessKey, groupID, filter string) bool {
	if p == nil {
		return true
	}
	levels := strings.Split(innerFilter(filter), "/")
	allowed := false
	for _, rules := range [...][]permissionRule{p.everyone, p.byGroup[groupID], p.byKey[accessKey]} {
		for i := range rules {
			r := &rules[i]
			switch {
			case !r.subscribe:
			case r.allow:
				allowed = allowed || levelsCover(r.levels, levels)
			case levelsOverlap(r.levels, levels):
				return false // deny wins
			}
		}
	}
	return allowed
}

// matchLevels reports whether a filter, split into levels, matches a
// topic, as mqttrmq.MatchTopic does, walking the topic without splitting
// it: '+' fills one level, '#' the rest and its parent level, and a
// wildcard first level matches no topic starting with '$' [MQTT-4.7.2-1].
func matchLevels(levels []string, topic string) bool {
	if topic == "" || topic[0] == '$' && (levels[0] == "+" || levels[0] == "#") {
		return false
	}
	i := 0
	for k, l := range levels {
		if l == "#" {
			return true
		}
		end := strings.IndexByte(topic[i:], '/')
		if end < 0 {
			end = len(topic)
		} else {
			end += i
		}
		if l != "+" && topic[i:end] != l {
			return false
		}
		if end == len(topic) { // the topic's last level
			return k == len(levels)-1 || k == len(levels)-2 && levels[k+1] == "#"
		}
		i = end + 1
	}
	return false // the topic has more levels
}

// levelsCover reports whether every topic the filter i can match, the
// filter o matches too; both are valid filters, split into levels, neither
// shared.
func levelsCover(o, i []string) bool {
	if i[0] != "" && i[0][0] == '$' && (o[0] == "+" || o[0] == "#") {
		return false // [MQTT-4.7.2-1]: a wildcard first level matches no $ topic
	}
	for k, ol := range o {
		if ol == "#" {
			return true // the rest, and the parent level itself
		}
		if k >= len(i) {
			return false
		}
		il := i[k]
		switch {
		case il == "#":
			return false // the inner filter reaches below where outer stops
		case ol == "+":
			// any one level, a '+' of the inner filter included
		case ol != il:
			return false
		}
	}
	return len(i) == len(o)
}

// levelsOverlap reports whether some topic matches both filters, split
// into levels.
func levelsOverlap(x, y []string) bool {
	dollar := func(l []string) bool { return l[0] != "" && l[0][0] == '$' }
	wild := func(l []string) bool { return l[0] == "+" || l[0] == "#" }
	if dollar(x) && wild(y) || dollar(y) && wild(x) {
		return false // a wildcard first level matches no $ topic [MQTT-4.7.2-1]
	}
	for k := 0; ; k++ {
		switch {
		case k == len(x) && k == len(y):
			return true
		case k == len(x):
			return y[k] == "#" // a/# matches a
		case k == len(y):
			return x[k] == "#"
		case x[k] == "#" || y[k] == "#":
			return true
		case x[k] == "+" || y[k] == "+" || x[k] == y[k]:
		default:
			return false
		}
	}
}
