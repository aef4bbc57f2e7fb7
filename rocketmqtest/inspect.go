package rocketmqtest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// Inspection helpers for tests. They read the server's state directly, not
// over the wire, and work after Close as well.

// Messages returns every message stored in topic, in the order the broker
// stored them, decoded with primitive.DecodeMessage from the bytes a pull
// would deliver (so compressed bodies come back uncompressed). Each call
// returns fresh copies. It returns nil for a topic that does not exist.
// Messages waiting out a delay level are in SCHEDULE_TOPIC_XXXX until due.
//
// A Light Message Queue ("%LMQ%…") holds messages stored in other topics:
// each comes as a pull of the queue delivers it and rocketmq-client-go's
// pull consumer shows it, with the Topic, QueueOffset and properties it
// was stored with and Queue set to the Light Message Queue's queue 0; its
// offset in the Light Message Queue is in the INNER_MULTI_QUEUE_OFFSET
// property.
func (s *Server) Messages(topic string) []*primitive.MessageExt {
	all := s.store.snapshot(topic)
	out := make([]*primitive.MessageExt, 0, len(all))
	for _, st := range all {
		msgs := primitive.DecodeMessage(st.data)
		if len(msgs) != 1 {
			continue // cannot happen: the server encoded it
		}
		m := msgs[0]
		if isLMQ(topic) {
			m.Queue = &primitive.MessageQueue{Topic: topic, QueueId: 0}
		} else {
			m.Queue.Topic = st.topic
		}
		m.Queue.BrokerName = BrokerName
		out = append(out, m)
	}
	return out
}

// Topics returns the names of all topics, sorted, including the ones the
// broker keeps for itself (TBW102, SCHEDULE_TOPIC_XXXX, %RETRY%…, %DLQ%…),
// as the name server lists them: without Light Message Queues.
func (s *Server) Topics() []string { return s.store.topicNames() }

// Queues returns the number of queues of topic, 0 if it does not exist;
// 1 for a Light Message Queue ("%LMQ%…"), which always exists.
func (s *Server) Queues(topic string) int {
	if isLMQ(topic) {
		return 1
	}
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	if t := s.store.topics[topic]; t != nil {
		return len(t.queues)
	}
	return 0
}

// MaxOffset returns the offset the next message of a queue will get (the
// number of messages it holds), 0 if the queue does not exist.
func (s *Server) MaxOffset(topic string, queueID int) int64 {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	t := s.store.topics[topic]
	if t == nil || queueID < 0 || queueID >= len(t.queues) {
		return 0
	}
	return int64(len(t.queues[queueID].msgs))
}

// ConsumerOffset returns the offset a consumer group committed on a queue,
// and whether it committed one. A group named as a Light Message Queue
// ("%LMQ%…") keeps one offset per topic, whichever queue it names.
func (s *Server) ConsumerOffset(group, topic string, queueID int) (int64, bool) {
	return s.groups.offset(group, topic, queueID)
}

// Consumers returns the client IDs of the members of a consumer group, as
// GET_CONSUMER_LIST_BY_GROUP answers them, sorted.
func (s *Server) Consumers(group string) []string { return s.groups.members(group) }

// Pullers returns the client IDs that have pulled a queue of topic on
// behalf of group, sorted: after a rebalance, which member owns which
// queue. A client that pulled before its first heartbeat is named by its
// address. A member that leaves the group (it unregisters, or its
// connection closes) is forgotten, so a client that rejoins under the same
// ID is listed again only once it pulls again.
func (s *Server) Pullers(group, topic string, queueID int) []string {
	s.groups.mu.Lock()
	defer s.groups.mu.Unlock()
	qp := s.groups.pulls[offsetKey{group, topic, queueID}]
	if qp == nil {
		return []string{}
	}
	ids := make([]string, 0, len(qp.byClient))
	for id := range qp.byClient {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// PullOffset returns the offset that the latest PULL_MESSAGE a consumer
// group sent for a queue asked for, and whether the group has pulled the
// queue at all: the group's position in the queue. Everything below it has
// reached the consumer, though its handler may still be at work on it; a
// position equal to MaxOffset means the consumer has received every
// message of the queue and its pull is waiting for the next one. Unlike
// ConsumerOffset, which the client commits every 5 seconds, it moves with
// every pull. A pull refused outright (an unknown topic or queue, a
// missing subscription) does not count; every other does, whatever it
// finds.
func (s *Server) PullOffset(group, topic string, queueID int) (int64, bool) {
	return s.groups.pullOffset(group, topic, queueID, "")
}

// WaitForCaughtUp waits until a consumer group has received every stored
// message its subscriptions select (its retry topic included): until, on
// every queue, the latest pull by a current member asks for an offset past
// the last such message (PullOffset equals MaxOffset, unless the queue
// ends in messages the group's tags exclude; pulls by members that have
// left do not count, see Pullers); for a broadcasting group, until every
// member's does. Every member's pulls are then waiting at the server, so
// while no new message arrives a consumer can be shut down without a pull
// answer racing its Shutdown (see ConsumerGuard). Whether the handlers
// have finished with the messages it does not tell; messages waiting out a
// delay level (Scheduled) are not in their topic yet. It returns ctx's
// error if ctx ends first, wrapped with what was missing.
func (s *Server) WaitForCaughtUp(ctx context.Context, group string) error {
	return s.waitUntil(ctx, "WaitForCaughtUp", group, func() string { return s.lagging(group) })
}

// WaitForConsumers waits until a consumer group has n members and each of
// them pulls the queues that are its own, in every topic the group
// subscribes to (its retry topic included): for a clustering group, the
// queues rocketmq-client-go's default strategy, consumer.AllocateByAveragely,
// gives the member; for a broadcasting group, every queue. Once it returns,
// the members' start-up rebalances are over, so a message sent now is
// consumed, even by a CONSUME_FROM_LAST_OFFSET group, and a consumer can be
// shut down without racing its own rebalance (see ConsumerGuard). A group
// using another allocation strategy never looks ready; then wait for its
// messages instead. It returns ctx's error if ctx ends first, wrapped with
// what was missing.
func (s *Server) WaitForConsumers(ctx context.Context, group string, n int) error {
	return s.waitUntil(ctx, "WaitForConsumers", group, func() string { return s.consumersMissing(group, n) })
}

// waitUntil polls missing, which says what is missing or "" when nothing
// is, until nothing is or ctx ends.
func (s *Server) waitUntil(ctx context.Context, op, input string, missing func() string) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		m := missing()
		if m == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return &Error{Op: op, Input: input, Err: fmt.Errorf("%s: %w", m, ctx.Err())}
		case <-t.C:
		}
	}
}

// groupView is a consistent copy of what WaitForConsumers and
// WaitForCaughtUp look at: a group's members and topics, sorted.
type groupView struct {
	ids, topics  []string
	filters      map[string]tagFilter // topic -> the group's subscription
	broadcasting bool
}

func (s *Server) viewGroup(group string) groupView {
	s.groups.mu.Lock()
	defer s.groups.mu.Unlock()
	var v groupView
	grp := s.groups.byName[group]
	if grp == nil {
		return v
	}
	for id := range grp.clients {
		v.ids = append(v.ids, id)
	}
	v.filters = make(map[string]tagFilter, len(grp.subs))
	for topic, sub := range grp.subs {
		v.topics = append(v.topics, topic)
		v.filters[topic] = sub.filter
	}
	sort.Strings(v.ids)
	sort.Strings(v.topics)
	v.broadcasting = grp.model == "BROADCASTING"
	return v
}

// lagging says which queue keeps a group from having caught up, or "" if
// none does.
func (s *Server) lagging(group string) string {
	v := s.viewGroup(group)
	if len(v.ids) == 0 {
		return "the group has no members"
	}
	for _, topic := range v.topics {
		for q := range s.Queues(topic) {
			pullers := []string{""} // the latest pull, by any member
			if v.broadcasting {
				pullers = v.ids
			}
			for _, id := range pullers {
				who := cmp.Or(id, "the group")
				off, ok := s.groups.pullOffset(group, topic, q, id)
				if id == "" {
					off, ok = s.groups.memberPullOffset(group, topic, q)
				}
				if !ok {
					return fmt.Sprintf("%s has not pulled %s queue %d", who, topic, q)
				}
				if next, ok := s.store.nextMatch(topic, q, off, v.filters[topic]); ok {
					return fmt.Sprintf("%s has pulled %s queue %d up to %d; its message at %d waits", who, topic, q, off, next)
				}
			}
		}
	}
	return ""
}

// consumersMissing says what keeps a group from being ready, or "" if
// nothing does.
func (s *Server) consumersMissing(group string, n int) string {
	v := s.viewGroup(group)
	if len(v.ids) != n {
		return fmt.Sprintf("have %d members, want %d", len(v.ids), n)
	}
	for _, topic := range v.topics {
		queues := s.Queues(topic)
		for q := range queues {
			owners := v.ids
			if !v.broadcasting {
				owners = []string{v.ids[averageOwner(q, queues, len(v.ids))]}
			}
			pullers := s.Pullers(group, topic, q)
			for _, id := range owners {
				if !slices.Contains(pullers, id) {
					return fmt.Sprintf("%s has not pulled %s queue %d", id, topic, q)
				}
			}
		}
	}
	return ""
}

// averageOwner returns the index, among members sorted by client ID, of the
// member consumer.AllocateByAveragely gives queue q of a topic with queues
// queues: the members split the queues into consecutive runs, the first
// queues%members members taking one queue more. With more members than
// queues, member i takes queue i.
func averageOwner(q, queues, members int) int {
	if queues <= members {
		return q
	}
	base, extra := queues/members, queues%members
	if q < extra*(base+1) {
		return q / (base + 1)
	}
	return extra + (q-extra*(base+1))/base
}

// Requests returns how many requests with code the server has received
// since it started, answered or not. Counting PullMessage over a quiet
// interval shows whether consumers long-poll or spin.
func (s *Server) Requests(code RequestCode) uint64 {
	if c := s.requests.counter(code, false); c != nil {
		return c.Load()
	}
	return 0
}

// Pulled returns how many messages the pull requests of a consumer group
// have returned so far, in all topics (retry and Light Message Queues
// included), or of every group together when group is "". A message
// returned twice (pulled again from an earlier offset, or by two members
// of a broadcasting group) counts twice; a held pull's messages count
// when the server answers it. A test counts with it the reads a design
// costs the broker, exactly, whatever the consumers then do with them.
func (s *Server) Pulled(group string) uint64 { return s.pulled.get(group) }

// HeldPulls returns the number of pulls the broker is holding open (long
// polling) right now.
func (s *Server) HeldPulls() int {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	n := 0
	for _, t := range s.store.topics {
		for _, q := range t.queues {
			n += len(q.waiters)
		}
	}
	return n
}

// Connections returns the number of open client connections.
func (s *Server) Connections() int {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	return len(s.conns)
}

// Scheduled returns the number of messages waiting out a delay level
// (delayed sends and consumer retries) before delivery.
func (s *Server) Scheduled() int { return s.sched.pending() }

// String describes the server for logs: its address and size.
func (s *Server) String() string {
	return "rocketmqtest.Server(" + s.addr + ", " + strconv.Itoa(len(s.Topics())) + " topics)"
}
