package gateway

import "strings"

// p2pLevel is the second level of every P2P topic.
const p2pLevel = "p2p"

// snoopsP2P reports whether a filter or topic reaches into the P2P space of
// a parent topic ({parent}/p2p/...) anywhere but at the client's own P2P
// topic. Every P2P message is delivered directly to its target, never
// through subscriptions, so such a filter could only ever serve to snoop;
// and at delivery time the same test keeps any P2P-shaped topic away from
// everyone but its owner.
//
// Filters whose second level is a wildcard ("vehicles/+/x", "vehicles/#")
// are allowed: P2P messages never travel through subscriptions.
func snoopsP2P(clientID, filterOrTopic string) bool {
	f := innerFilter(filterOrTopic)
	slash := strings.IndexByte(f, '/')
	if slash < 0 {
		return false
	}
	rest := f[slash+1:]
	level, target, _ := strings.Cut(rest, "/")
	if level != p2pLevel {
		return false
	}
	return target != clientID
}

// innerFilter strips a shared-subscription prefix, $share/{name}/.
func innerFilter(filter string) string {
	if rest, ok := strings.CutPrefix(filter, "$share/"); ok {
		if _, inner, ok := strings.Cut(rest, "/"); ok {
			return inner
		}
	}
	return filter
}

// parentOfFilter returns the first level of a filter's inner filter.
func parentOfFilter(filter string) string {
	f := innerFilter(filter)
	if i := strings.IndexByte(f, '/'); i >= 0 {
		return f[:i]
	}
	return f
}
