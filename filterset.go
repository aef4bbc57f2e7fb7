package mqttrmq

import (
	"slices"
	"strings"
	"sync"
)

// FilterSet is the set of MQTT topic filters whose Light Message Queues a
// message is fanned out to, the way Apache RocketMQ-MQTT's WildcardManager
// keeps the wildcard filters registered under each first-level topic. For one
// topic it returns the queue of the topic itself and of every filter that
// matches it, which is what a message's INNER_MULTI_DISPATCH must list for
// subscribers of a/+ or a/# to receive it.
//
// Matching is MatchTopic's, exactly: '+' fills one level, '#' the rest and its
// parent ("a/#" matches "a"), and a filter starting with a wildcard matches no
// topic starting with '$'. The index is a trie walked without splitting the
// topic; a match allocates nothing but the slice it returns, and nothing at
// all given room in the caller's buffer.
//
// The zero FilterSet is empty and ready to use. A nil *FilterSet is empty
// too: it matches nothing and removes nothing, but, like a nil map, takes
// no filters: Add and Replace refuse it with an error wrapping
// ErrInvalidFilter.
// A FilterSet is safe for concurrent use: matches read under a shared lock
// while filters are added and removed. It must not be copied after first use.
type FilterSet struct {
	mu   sync.RWMutex
	root filterNode
	n    int // distinct filters
}

// filterNode is one level of the trie. As in a NATS sublist, the wildcard
// children are fields rather than map keys, so a match visits them without a
// lookup.
//
// A node's literal children are kept inline while it has one, as every
// level of a device's own filter (devices/{id}/cmd) but the shared ones
// does, and in a map from the second on: a map for one child costs several
// times the node itself, and a gateway holds a filter per device.
type filterNode struct {
	oneLevel string                 // the level of the inline child
	one      *filterNode            // the only literal child, while literal is nil
	literal  map[string]*filterNode // the literal children, once there are two
	plus     *filterNode            // the child for a '+' level
	hash     *filterNode            // the child for a '#' level, always a leaf

	// A filter ends at this node when refs > 0. Its filter and its
	// Light Message Queue's name are one string, text, split at split,
	// so that a node fits in 80 bytes rather than 96.
	refs  int
	text  string
	split uint16 // a filter is at most 65535 bytes [MQTT-4.7.3-3]
	exact bool   // the filter has no wildcard: it matches only itself
}

// filter returns the filter that ends at n, unshared.
func (n *filterNode) filter() string { return n.text[:n.split] }

// queue returns the Light Message Queue of the filter that ends at n.
func (n *filterNode) queue() string { return n.text[n.split:] }

func (n *filterNode) empty() bool {
	return n.refs == 0 && n.one == nil && len(n.literal) == 0 && n.plus == nil && n.hash == nil
}

// literalChild returns n's child for a literal level, or nil.
func (n *filterNode) literalChild(level string) *filterNode {
	if n.literal != nil {
		return n.literal[level]
	}
	if n.one != nil && n.oneLevel == level {
		return n.one
	}
	return nil
}

// setLiteral makes c n's child for a literal level it has no child for.
func (n *filterNode) setLiteral(level string, c *filterNode) {
	switch {
	case n.literal != nil:
		n.literal[level] = c
	case n.one == nil:
		n.oneLevel, n.one = level, c
	default:
		n.literal = map[string]*filterNode{n.oneLevel: n.one, level: c}
		n.oneLevel, n.one = "", nil
	}
}

// deleteLiteral removes n's child for a literal level.
func (n *filterNode) deleteLiteral(level string) {
	if n.literal != nil {
		delete(n.literal, level)
	} else if n.oneLevel == level {
		n.oneLevel, n.one = "", nil
	}
}

// eachLiteral calls f with every literal child of n.
func (n *filterNode) eachLiteral(f func(*filterNode)) {
	if n.one != nil {
		f(n.one)
	}
	for _, c := range n.literal {
		f(c)
	}
}

// checkSetFilter checks a filter for the set and returns its inner filter: a
// valid filter (ValidateTopicFilter) whose queue LMQQueue can name.
func checkSetFilter(filter string) (inner string, f finding) {
	if inner, f = checkFilter(filter); !f.ok() {
		return "", f
	}
	start := len(filter) - len(inner)
	if start > 0 && strings.HasPrefix(inner, sharePrefix) {
		// $share/g/$share/x: the inner filter would read as shared
		// again, and LMQQueue names no queue for it.
		return "", finding{probLMQShared, start}
	}
	if f = checkLMQChars(inner); !f.ok() {
		if f.at >= 0 {
			f.at += start
		}
		return "", f
	}
	return inner, fine
}

// Add registers filter; a shared subscription $share/{name}/{filter}
// registers its inner filter. Registrations are counted: a filter added
// twice stays until it is removed twice, as a gateway adds one per
// subscription.
//
// Add refuses, with an error wrapping ErrInvalidFilter, what
// ValidateTopicFilter refuses and a filter whose queue LMQQueue cannot name
// (a trailing '/', an empty first level, '%', ',', a later level named LMQ,
// a name over 255 bytes, a shared subscription whose inner filter starts with
// $share/ again), and a nil s, and then changes nothing.
func (s *FilterSet) Add(filter string) error {
	const op = "FilterSet.Add"
	inner, f := checkSetFilter(filter)
	if !f.ok() {
		return f.err(op, filter, ErrInvalidFilter)
	}
	if s == nil {
		return errNilFilterSet(op, filter)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add(inner, 1)
	return nil
}

// errNilFilterSet refuses to write to a nil *FilterSet, as a nil map would,
// but with an error instead of a panic.
func errNilFilterSet(op, input string) error {
	return newError(op, input, "nil *FilterSet: a FilterSet to write to is needed", ErrInvalidFilter)
}

// add registers a checked inner filter refs more times.
func (s *FilterSet) add(inner string, refs int) {
	n := &s.root
	for start := 0; ; {
		end := levelEnd(inner, start)
		n = n.child(inner[start:end])
		if end == len(inner) {
			break
		}
		start = end + 1
	}
	if n.refs == 0 {
		s.n++
		var b strings.Builder
		b.Grow(len(inner) + lmqLen(inner))
		b.WriteString(inner)
		writeLMQ(&b, inner)
		n.text, n.split = b.String(), uint16(len(inner))
		n.exact = !strings.ContainsAny(inner, "+#")
	}
	n.refs += refs
}

// child returns n's child for level, creating it when missing.
func (n *filterNode) child(level string) *filterNode {
	p := &n.plus
	switch level {
	case "+":
	case "#":
		p = &n.hash
	default:
		if c := n.literalChild(level); c != nil {
			return c
		}
		c := &filterNode{}
		n.setLiteral(strings.Clone(level), c)
		return c
	}
	if *p == nil {
		*p = &filterNode{}
	}
	return *p
}

// lookup returns n's child for level, or nil.
func (n *filterNode) lookup(level string) *filterNode {
	switch level {
	case "+":
		return n.plus
	case "#":
		return n.hash
	}
	return n.literalChild(level)
}

// levelEnd returns the index of the '/' that ends the level starting at
// start, or len(s).
func levelEnd(s string, start int) int {
	if i := strings.IndexByte(s[start:], '/'); i >= 0 {
		return start + i
	}
	return len(s)
}

// Remove takes back one registration of filter (or of the inner filter of a
// shared subscription). It reports whether filter was registered; a filter
// that is not, or is not valid, leaves the set unchanged.
func (s *FilterSet) Remove(filter string) bool {
	inner, f := checkSetFilter(filter)
	if !f.ok() || s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.remove(inner)
}

// remove takes back one registration of inner.
func (s *FilterSet) remove(inner string) bool {
	// The path from the root and the level that leads to each node, to
	// prune the nodes left empty.
	type hop struct {
		n     *filterNode
		level string
	}
	var stack [16]hop
	path := append(stack[:0], hop{&s.root, ""})
	n := &s.root
	for start := 0; ; {
		end := levelEnd(inner, start)
		level := inner[start:end]
		if n = n.lookup(level); n == nil {
			return false
		}
		path = append(path, hop{n, level})
		if end == len(inner) {
			break
		}
		start = end + 1
	}
	if n.refs == 0 {
		return false
	}
	if n.refs--; n.refs == 0 {
		n.text, n.split, n.exact = "", 0, false
		s.n--
	}
	// Unlink every node that holds nothing any more.
	for i := len(path) - 1; i > 0 && path[i].n.empty(); i-- {
		parent := path[i-1].n
		switch path[i].level {
		case "+":
			parent.plus = nil
		case "#":
			parent.hash = nil
		default:
			parent.deleteLiteral(path[i].level)
		}
	}
	return true
}

// Replace makes filters the whole set of filters registered under the
// first-level topic firstTopic, each counted once, in one step that readers
// see whole: the way RocketMQ-MQTT reloads the wildcards it keeps in the name
// server's KV configuration (namespace "LMQ", key firstTopic, value the
// filters joined by ','; pass strings.Split(value, ",")). A list with no
// filter removes every filter under firstTopic.
//
// Empty strings in filters are skipped, not refused: strings.Split gives
// one for an empty value ([""]), and for a leading, trailing or doubled
// ',', and an empty filter is never a registration (ValidateTopicFilter
// refuses it), so an empty value empties the topic's filters, as the
// configuration means.
//
// It refuses, changing nothing, with an error wrapping ErrInvalidTopic a
// firstTopic that ValidateParentTopic refuses, and with an error wrapping
// ErrInvalidFilter what Add refuses (an empty string aside, and a nil s
// too) and a filter whose first level is not firstTopic.
func (s *FilterSet) Replace(firstTopic string, filters []string) error {
	const op = "FilterSet.Replace"
	if f := checkParent(firstTopic); !f.ok() {
		return f.err(op, firstTopic, ErrInvalidTopic)
	}
	if s == nil {
		return errNilFilterSet(op, firstTopic)
	}
	inners := make([]string, 0, len(filters))
	for _, filter := range filters {
		if filter == "" {
			continue // what strings.Split makes of "" and of a stray ','
		}
		inner, f := checkSetFilter(filter)
		if !f.ok() {
			return f.err(op, filter, ErrInvalidFilter)
		}
		if inner[:levelEnd(inner, 0)] != firstTopic {
			return finding{probFirstLevel, -1}.err(op, filter, ErrInvalidFilter)
		}
		inners = append(inners, inner)
	}
	// Build the new subtree aside, then swap it in under the lock.
	var fresh FilterSet
	for _, inner := range inners {
		if fresh.count(inner) == 0 {
			fresh.add(inner, 1)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.root.literalChild(firstTopic); old != nil {
		s.n -= countFilters(old)
		s.root.deleteLiteral(firstTopic)
	}
	if sub := fresh.root.literalChild(firstTopic); sub != nil {
		s.root.setLiteral(strings.Clone(firstTopic), sub)
		s.n += fresh.n
	}
	return nil
}

// count returns how many times a checked inner filter is registered.
func (s *FilterSet) count(inner string) int {
	n := &s.root
	for start := 0; ; {
		end := levelEnd(inner, start)
		if n = n.lookup(inner[start:end]); n == nil {
			return 0
		}
		if end == len(inner) {
			return n.refs
		}
		start = end + 1
	}
}

func countFilters(n *filterNode) int {
	c := 0
	if n.refs > 0 {
		c++
	}
	n.eachLiteral(func(child *filterNode) { c += countFilters(child) })
	if n.plus != nil {
		c += countFilters(n.plus)
	}
	if n.hash != nil {
		c += countFilters(n.hash)
	}
	return c
}

// Len returns the number of distinct filters registered.
func (s *FilterSet) Len() int {
	if s == nil {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.n
}

// Filters returns the registered filters (inner filters of shared
// subscriptions), sorted.
func (s *FilterSet) Filters() []string {
	if s == nil {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, s.n)
	var visit func(n *filterNode)
	visit = func(n *filterNode) {
		if n.refs > 0 {
			out = append(out, n.filter())
		}
		n.eachLiteral(visit)
		if n.plus != nil {
			visit(n.plus)
		}
		if n.hash != nil {
			visit(n.hash)
		}
	}
	visit(&s.root)
	slices.Sort(out)
	return out
}

// AppendMatches appends to dst the queue (see LMQQueue) of every registered
// filter that matches topic, as MatchTopic decides, and returns the extended
// slice. Given a dst with room, it allocates nothing. The order depends only
// on the filters registered.
//
// It refuses, with an error wrapping ErrInvalidTopic and returning dst
// unchanged, a topic that ValidateTopicName refuses.
func (s *FilterSet) AppendMatches(dst []string, topic string) ([]string, error) {
	if f := checkName(topic); !f.ok() {
		return dst, f.err("FilterSet.AppendMatches", topic, ErrInvalidTopic)
	}
	if s == nil {
		return dst, nil
	}
	s.mu.RLock()
	out := walk(&s.root, topic, 0, allQueues(dst))
	s.mu.RUnlock()
	return out, nil
}

// AppendFilters appends to dst every registered filter that matches topic,
// as MatchTopic decides, as it was registered (the inner filter of a shared
// subscription, as Filters lists it), and returns the extended slice: what
// a gateway needs to find the subscriptions a message reaches. Given a dst
// with room, it allocates nothing; the strings are the set's own, and stay
// valid after their filter is removed. The order depends only on the
// filters registered, and no filter is listed twice.
//
// It refuses, with an error wrapping ErrInvalidTopic and returning dst
// unchanged, a topic that ValidateTopicName refuses.
func (s *FilterSet) AppendFilters(dst []string, topic string) ([]string, error) {
	if f := checkName(topic); !f.ok() {
		return dst, f.err("FilterSet.AppendFilters", topic, ErrInvalidTopic)
	}
	if s == nil {
		return dst, nil
	}
	s.mu.RLock()
	out := walk(&s.root, topic, 0, allFilters(dst))
	s.mu.RUnlock()
	return out, nil
}

// Queues returns the queues a message published to topic is dispatched to,
// as RocketMQ-MQTT's WildcardManager.matchQueueSetByMsgTopic chooses them: the
// topic's own queue first, then the queue of every matching filter (a filter
// equal to the topic is the topic's queue, listed once). A P2P topic
// {parent}/p2p/{clientID} goes to that client's P2P queue,
// "%LMQ%%p2p%{clientID}%", and to no filter's.
//
// It refuses, with an error wrapping ErrInvalidTopic, a topic SplitTopic
// refuses (the first level is a RocketMQ topic), a topic whose queue LMQQueue
// cannot name, a subtopic starting /p2p that is not /p2p/{clientID}, and a
// P2P client ID holding '%' or ','.
func (s *FilterSet) Queues(topic string) ([]string, error) {
	target, f := checkDispatch(topic)
	if !f.ok() {
		return nil, f.err("FilterSet.Queues", topic, ErrInvalidTopic)
	}
	out := make([]string, 1, 8)
	if target != "" {
		out[0] = string(appendP2PQueue(nil, target))
		return out, nil
	}
	out[0] = lmqName(topic)
	if s == nil {
		return out, nil
	}
	s.mu.RLock()
	out = walk(&s.root, topic, 0, fanOut(out))
	s.mu.RUnlock()
	return out, nil
}

// AppendDispatch appends to dst the INNER_MULTI_DISPATCH value of a message
// published to topic: the queues Queues returns, joined by ','. Given a dst
// with room, it allocates nothing. It refuses what Queues refuses, with an
// error wrapping ErrInvalidTopic, and then returns dst unchanged.
func (s *FilterSet) AppendDispatch(dst []byte, topic string) ([]byte, error) {
	out, f := s.appendDispatch(dst, topic)
	if !f.ok() {
		return dst, f.err("FilterSet.AppendDispatch", topic, ErrInvalidTopic)
	}
	return out, nil
}

// appendDispatch appends the topic's own (or P2P) queue and the queues of
// the matching filters.
func (s *FilterSet) appendDispatch(dst []byte, topic string) ([]byte, finding) {
	target, f := checkDispatch(topic)
	if !f.ok() {
		return dst, f
	}
	if target != "" {
		return appendP2PQueue(dst, target), fine
	}
	dst = appendLMQ(dst, topic)
	if s == nil {
		return dst, fine
	}
	s.mu.RLock()
	out := walk(&s.root, topic, 0, dispatchList(dst))
	s.mu.RUnlock()
	return out, fine
}

// checkDispatch checks that a message published to topic can be dispatched
// to Light Message Queues, and returns the target of a P2P topic.
func checkDispatch(topic string) (p2pTarget string, f finding) {
	_, second, f := splitTopic(topic)
	if !f.ok() {
		return "", f
	}
	if IsP2PSubtopic(second) {
		target, ok := p2pTargetOf(second)
		if !ok {
			return "", finding{probNoP2PTopic, -1}
		}
		if f := checkP2PQueue(target); !f.ok() {
			if f.at >= 0 {
				f.at += len(topic) - len(target)
			}
			return "", f
		}
		return target, fine
	}
	return "", checkLMQChars(topic)
}

// A matchSink collects the filters a walk finds. The kinds differ in what
// they keep: every filter, every filter's queue, or only wildcard filters'
// queues (after the topic's own, which an exact filter would repeat), as
// strings or as one comma-separated list.
type matchSink[S any] interface {
	add(n *filterNode) S
}

type allQueues []string

func (q allQueues) add(n *filterNode) allQueues { return append(q, n.queue()) }

type allFilters []string

func (q allFilters) add(n *filterNode) allFilters { return append(q, n.filter()) }

type fanOut []string

func (q fanOut) add(n *filterNode) fanOut {
	if n.exact {
		return q // the topic itself, whose queue is listed first
	}
	return append(q, n.queue())
}

type dispatchList []byte

func (d dispatchList) add(n *filterNode) dispatchList {
	if n.exact {
		return d
	}
	d = append(d, dispatchSeparator)
	return append(d, n.queue()...)
}

// walk adds to out every filter under n that matches the levels of topic
// from start on, start being the first byte of a level. It walks topic in
// place, never splitting it.
func walk[S matchSink[S]](n *filterNode, topic string, start int, out S) S {
	end := levelEnd(topic, start)
	// A filter starting with a wildcard matches no topic starting with '$'
	// [MQTT-4.7.2-1].
	wild := start > 0 || topic[0] != '$'
	if n.hash != nil && wild {
		out = out.add(n.hash) // '#' takes this level and all below it
	}
	if c := n.literalChild(topic[start:end]); c != nil {
		out = step(c, topic, end, out)
	}
	if n.plus != nil && wild {
		out = step(n.plus, topic, end, out)
	}
	return out
}

// step continues a walk at child c, which matched the level ending at end.
func step[S matchSink[S]](c *filterNode, topic string, end int, out S) S {
	if end < len(topic) {
		return walk(c, topic, end+1, out)
	}
	if c.refs > 0 {
		out = out.add(c)
	}
	if c.hash != nil {
		out = out.add(c.hash) // "a/#" matches "a" [MQTT-4.7.1-2]
	}
	return out
}
