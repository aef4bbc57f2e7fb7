package rocketmqtest

import (
	"encoding/binary"
	"hash/crc32"
	"net/netip"
	"sort"
	"sync"
	"time"
)

// The in-memory message store: topics of queues of stored messages, each
// kept in the broker's own commit-log encoding so that a pull answers with
// the stored bytes and primitive.DecodeMessage reads them.

// Permission bits of a topic (Java's PermName).
const (
	permInherit = 1 << 0
	permWrite   = 1 << 1
	permRead    = 1 << 2
)

const (
	// messageMagicCode is MessageDecoder.MESSAGE_MAGIC_CODE (version 1).
	messageMagicCode = 0xDAA320A7

	sysFlagCompressed  = 1 << 0
	sysFlagBornHostV6  = 1 << 4
	sysFlagStoreHostV6 = 1 << 5

	// defaultTopicQueues is the queue count of TBW102, the most an
	// auto-created topic gets (BrokerConfig.defaultTopicQueueNums).
	defaultTopicQueues = 8
	maxQueues          = 1024
)

type store struct {
	mu       sync.Mutex
	topics   map[string]*topic
	byPhys   map[int64]*stored // the commit log, by physical offset
	nextPhys int64
}

type topic struct {
	name   string
	perm   int
	queues []*queue
	lmq    bool // a Light Message Queue (lmq.go): one queue, no route
}

type queue struct {
	topic   *topic
	id      int
	msgs    []*stored      // msgs[i] has queue offset i
	waiters []*pendingPull // held pulls on this queue
}

// stored is one message in the commit log. data is immutable once stored.
type stored struct {
	data        []byte
	topic       string
	queueID     int
	queueOffset int64
	phys        int64
	storeTime   int64
	tags        string

	// Header fields a send-back needs, kept to avoid re-decoding data.
	flag           int32
	sysFlag        int32
	bornTime       int64
	bornHost       netip.AddrPort
	reconsumeTimes int32
	body           []byte // a slice of data
	props          string
}

func (st *stored) properties() properties { return parseProperties(st.props) }

func (s *store) init(autoCreate bool) {
	s.topics = make(map[string]*topic)
	s.byPhys = make(map[int64]*stored)
	if autoCreate {
		s.createLocked(autoCreateTopicKey, defaultTopicQueues, permInherit|permRead|permWrite)
	}
	// The broker keeps one schedule queue per delay level.
	s.createLocked(scheduleTopic, len(defaultDelayLevels), permRead|permWrite)
}

func (s *store) createLocked(name string, queues, perm int) *topic {
	t := s.topics[name]
	if t == nil {
		t = &topic{name: name, perm: perm}
		s.topics[name] = t
	}
	for len(t.queues) < queues {
		t.queues = append(t.queues, &queue{topic: t, id: len(t.queues)})
	}
	return t
}

// ensure returns the topic, creating it with queues if it does not exist.
func (s *store) ensure(name string, queues int) *topic {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.topics[name]; t != nil {
		return t
	}
	return s.createLocked(name, queues, permRead|permWrite)
}

func (s *store) lookup(name string) *topic {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.topics[name]
}

// topicInfo is a topic with its queue count and permissions as they were
// when it was looked up; CreateTopic may add queues, so these are read
// under the store's lock.
type topicInfo struct {
	*topic
	nQueues int
	perm    int
}

func (s *store) infoLocked(t *topic) topicInfo {
	if t == nil {
		return topicInfo{}
	}
	return topicInfo{topic: t, nQueues: len(t.queues), perm: t.perm}
}

// info looks a topic up; its topic is nil if there is none. A Light
// Message Queue always exists.
func (s *store) info(name string) topicInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.infoLocked(s.topicLocked(name))
}

// message is a message about to be stored.
type message struct {
	topic          string
	queueID        int
	flag           int32
	sysFlag        int32
	bornTime       int64
	bornHost       netip.AddrPort
	reconsumeTimes int32
	body           []byte
	props          string
	// delivered marks a scheduled message on its way to its real topic:
	// its DELAY stays, and puts it there at once.
	delivered bool
}

// appendLocked stores m in queue q and returns the held pulls the new message
// satisfies; they have been removed from q and must be answered by the
// caller once s.mu is released. Its offset in q is the number of messages
// q held.
func (s *store) appendLocked(q *queue, m *message, storeHost netip.AddrPort, now time.Time) (*stored, []*pendingPull) {
	st := &stored{
		topic:          q.topic.name,
		queueID:        q.id,
		queueOffset:    int64(len(q.msgs)),
		phys:           s.nextPhys,
		storeTime:      now.UnixMilli(),
		tags:           propertyValue(m.props, propTags),
		flag:           m.flag,
		sysFlag:        m.sysFlag,
		bornTime:       m.bornTime,
		bornHost:       m.bornHost,
		reconsumeTimes: m.reconsumeTimes,
		props:          m.props,
	}
	st.data, st.body = encodeStored(m, st, storeHost)
	s.nextPhys += int64(len(st.data))
	s.byPhys[st.phys] = st
	return st, q.enqueueLocked(st, nil)
}

// enqueueLocked appends st to q, its own queue or a Light Message Queue
// it is dispatched to, and returns woken with the held pulls of q that st
// satisfies appended; they have been removed from q. The caller holds the
// store's lock.
func (q *queue) enqueueLocked(st *stored, woken []*pendingPull) []*pendingPull {
	offset := int64(len(q.msgs))
	q.msgs = append(q.msgs, st)
	if len(q.waiters) > 0 {
		kept := q.waiters[:0]
		for _, p := range q.waiters {
			if p.offset <= offset && p.filter.matches(st.tags) {
				p.detachLocked()
				woken = append(woken, p)
			} else {
				kept = append(kept, p)
			}
		}
		clear(q.waiters[len(kept):])
		q.waiters = kept
	}
	return woken
}

// appendHost appends a host in the stored form: 4 or 16 address bytes, then
// the port as an int32.
func appendHost(b []byte, h netip.AddrPort) []byte {
	ip := h.Addr().Unmap()
	if ip.Is4() {
		a := ip.As4()
		b = append(b, a[:]...)
	} else {
		a := ip.As16()
		b = append(b, a[:]...)
	}
	return binary.BigEndian.AppendUint32(b, uint32(h.Port()))
}

func hostIsV6(h netip.AddrPort) bool { return !h.Addr().Unmap().Is4() }

// encodeStored renders a message as the commit log stores it (Java's
// MessageExtEncoder, message version 1); primitive.DecodeMessage reads it.
// It returns the encoding and the body's slice of it.
func encodeStored(m *message, st *stored, storeHost netip.AddrPort) (data, body []byte) {
	sysFlag := m.sysFlag &^ (sysFlagBornHostV6 | sysFlagStoreHostV6)
	bornV6, storeV6 := hostIsV6(m.bornHost), hostIsV6(storeHost)
	if bornV6 {
		sysFlag |= sysFlagBornHostV6
	}
	if storeV6 {
		sysFlag |= sysFlagStoreHostV6
	}
	st.sysFlag = sysFlag
	size := storedSize(m, st.topic, storeHost)
	b := make([]byte, 0, size)
	b = binary.BigEndian.AppendUint32(b, uint32(size))
	b = binary.BigEndian.AppendUint32(b, messageMagicCode)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(m.body)&0x7FFFFFFF)
	b = binary.BigEndian.AppendUint32(b, uint32(st.queueID))
	b = binary.BigEndian.AppendUint32(b, uint32(m.flag))
	b = binary.BigEndian.AppendUint64(b, uint64(st.queueOffset))
	b = binary.BigEndian.AppendUint64(b, uint64(st.phys))
	b = binary.BigEndian.AppendUint32(b, uint32(sysFlag))
	b = binary.BigEndian.AppendUint64(b, uint64(m.bornTime))
	b = appendHost(b, m.bornHost)
	b = binary.BigEndian.AppendUint64(b, uint64(st.storeTime))
	b = appendHost(b, storeHost)
	b = binary.BigEndian.AppendUint32(b, uint32(m.reconsumeTimes))
	b = binary.BigEndian.AppendUint64(b, 0) // prepared transaction offset
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.body)))
	bodyStart := len(b)
	b = append(b, m.body...)
	b = append(b, byte(len(st.topic)))
	b = append(b, st.topic...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.props)))
	b = append(b, m.props...)
	return b, b[bodyStart : bodyStart+len(m.body)]
}

// storedSize is the length of m's encoding in topicName (MessageExtEncoder.calMsgLength).
func storedSize(m *message, topicName string, storeHost netip.AddrPort) int {
	hostLen := func(h netip.AddrPort) int {
		if hostIsV6(h) {
			return 20
		}
		return 8
	}
	return 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + hostLen(m.bornHost) + 8 + hostLen(storeHost) +
		4 + 8 + 4 + len(m.body) + 1 + len(topicName) + 2 + len(m.props)
}

// offsetMessageID is the broker's message ID for a stored message: the store
// host and the physical offset in upper-case hex (MessageDecoder.createMessageId).
func offsetMessageID(storeHost netip.AddrPort, phys int64) string {
	var raw [28]byte
	b := appendHost(raw[:0], storeHost)
	b = binary.BigEndian.AppendUint64(b, uint64(phys))
	const upper = "0123456789ABCDEF"
	var out [56]byte
	for i, c := range b {
		out[2*i], out[2*i+1] = upper[c>>4], upper[c&0xF]
	}
	return string(out[:2*len(b)])
}

// nextMatch returns the offset of the first message of a queue at or after
// from that f selects, and whether there is one.
func (s *store) nextMatch(topicName string, queueID int, from int64, f tagFilter) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.topics[topicName]
	if t == nil || queueID < 0 || queueID >= len(t.queues) {
		return 0, false
	}
	msgs := t.queues[queueID].msgs
	for i := max(from, 0); i < int64(len(msgs)); i++ {
		if f.matches(msgs[i].tags) {
			return i, true
		}
	}
	return 0, false
}

// topicNames returns the names of all topics but Light Message Queues,
// sorted.
func (s *store) topicNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.topics))
	for n, t := range s.topics {
		if !t.lmq {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// snapshot returns a topic's stored messages in commit-log order.
func (s *store) snapshot(name string) []*stored {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.topics[name]
	if t == nil {
		return nil
	}
	var all []*stored
	for _, q := range t.queues {
		all = append(all, q.msgs...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].phys < all[j].phys })
	return all
}
