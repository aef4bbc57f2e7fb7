package rocketmqtest

import (
	"encoding/json"
	"sort"
	"strconv"
	"sync"
	"time"
)

// consumerCommands are the requests by which clients join groups, balance
// queues, keep offsets and hand back messages they could not consume.
var consumerCommands = []registration{
	{HeartBeat, (*Server).handleHeartbeat},
	{UnregisterClient, (*Server).handleUnregister},
	{GetConsumerListByGroup, (*Server).handleConsumerList},
	{QueryConsumerOffset, (*Server).handleQueryOffset},
	{UpdateConsumerOffset, (*Server).handleUpdateOffset},
	{ConsumerSendMsgBack, (*Server).handleSendBack},
	{LockBatchMQ, (*Server).handleLock},
	{UnlockBatchMQ, (*Server).handleUnlock},
}

// lockTTL is RebalanceLockManager's REBALANCE_LOCK_MAX_LIVE_TIME.
const lockTTL = 60 * time.Second

// groups is the broker's view of clients: consumer groups and their members
// (ConsumerManager), committed offsets (ConsumerOffsetManager) and orderly
// consumers' queue locks (RebalanceLockManager).
type groups struct {
	mu        sync.Mutex
	byName    map[string]*group
	producers map[string]map[string]*conn // group -> client ID -> conn
	offsets   map[offsetKey]int64
	locks     map[queueKey]lockHolder
	pulls     map[offsetKey]*queuePulls
	pullSeq   uint64 // orders the pulls recorded in pulls
	// known are the subscription groups the broker has created: every
	// consumer group that sent a heartbeat or a pull, members or not
	// (SubscriptionGroupManager, with autoCreateSubscriptionGroup on).
	known map[string]bool
}

type offsetKey struct {
	group, topic string
	queue        int
}

type queueKey struct {
	group, topic, broker string
	queue                int
}

// queuePulls is what the broker saw of a group's pulls of one queue.
type queuePulls struct {
	latest   int64               // the offset the latest pull asked for
	byClient map[string]pullMark // client ID -> its latest pull, while it is a member
}

// pullMark is one client's latest pull of a queue.
type pullMark struct {
	offset int64
	seq    uint64 // groups.pullSeq when it came
}

type lockHolder struct {
	clientID string
	at       time.Time
}

type group struct {
	name      string
	clients   map[string]*conn // client ID -> the connection it heartbeats on
	model     string           // CLUSTERING or BROADCASTING
	fromWhere string
	subs      map[string]subscription
}

type subscription struct {
	topic, expr, typ string
	filter           tagFilter
}

func (g *groups) init() {
	g.byName = make(map[string]*group)
	g.producers = make(map[string]map[string]*conn)
	g.offsets = make(map[offsetKey]int64)
	g.locks = make(map[queueKey]lockHolder)
	g.pulls = make(map[offsetKey]*queuePulls)
	g.known = make(map[string]bool)
}

// legalGroupName reports whether the broker creates a subscription group
// of that name: at most 255 characters of [%|a-zA-Z0-9_-]
// (SubscriptionGroupManager.findSubscriptionGroupConfig). A Light Message
// Queue's name is always one (LmqSubscriptionGroupManager).
func legalGroupName(name string) bool {
	if isLMQ(name) {
		return true
	}
	if len(name) > 255 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !validTopicChar(name[i]) {
			return false
		}
	}
	return true
}

// createGroup records that the broker created the subscription group
// name, and reports whether it could: see legalGroupName.
func (g *groups) createGroup(name string) bool {
	if !legalGroupName(name) {
		return false
	}
	if isLMQ(name) {
		return true
	}
	g.mu.Lock()
	g.known[name] = true
	g.mu.Unlock()
	return true
}

// groupExists is SubscriptionGroupManager.containsSubscriptionGroup.
func (g *groups) groupExists(name string) bool {
	if isLMQ(name) {
		return true
	}
	if javaBlank(name) {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.known[name]
}

// offsetQueue is the queue a committed offset is kept under: a Light
// Message Queue's group keeps one offset per topic, whatever the queue
// (LmqConsumerOffsetManager).
func offsetQueue(group string, queue int) int {
	if isLMQ(group) {
		return 0
	}
	return queue
}

// heartbeatData is the HEART_BEAT body.
type heartbeatData struct {
	ClientID        string `json:"clientID"`
	ProducerDataSet []struct {
		GroupName string `json:"groupName"`
	} `json:"producerDataSet"`
	ConsumerDataSet []struct {
		GroupName           string `json:"groupName"`
		MessageModel        string `json:"messageModel"`
		ConsumeFromWhere    string `json:"consumeFromWhere"`
		SubscriptionDataSet []struct {
			Topic          string `json:"topic"`
			SubString      string `json:"subString"`
			ExpressionType string `json:"expressionType"`
		} `json:"subscriptionDataSet"`
	} `json:"consumerDataSet"`
}

// handleHeartbeat registers the client's producers and consumers
// (ClientManageProcessor.heartBeat). A consumer group gets its retry topic.
// When a client joins a group, the group's other members are told to
// rebalance with NOTIFY_CONSUMER_IDS_CHANGED.
func (s *Server) handleHeartbeat(c *conn, req *request) *reply {
	var hb heartbeatData
	if err := json.Unmarshal(req.body, &hb); err != nil {
		return responsef(CodeSystemError, "decode heartbeat body: %v", err)
	}
	var joined []string
	for _, cd := range hb.ConsumerDataSet {
		if cd.GroupName == "" {
			continue
		}
		s.store.ensure(retryGroupPrefix+cd.GroupName, 1)
		subs := make(map[string]subscription, len(cd.SubscriptionDataSet))
		for _, sd := range cd.SubscriptionDataSet {
			f, err := parseTagFilter(sd.SubString)
			if err != nil {
				continue
			}
			subs[sd.Topic] = subscription{topic: sd.Topic, expr: sd.SubString, typ: sd.ExpressionType, filter: f}
		}
		if s.groups.register(cd.GroupName, hb.ClientID, c, cd.MessageModel, cd.ConsumeFromWhere, subs) {
			joined = append(joined, cd.GroupName)
		}
	}
	s.groups.mu.Lock()
	c.clientID = hb.ClientID
	for _, pd := range hb.ProducerDataSet {
		m := s.groups.producers[pd.GroupName]
		if m == nil {
			m = make(map[string]*conn)
			s.groups.producers[pd.GroupName] = m
		}
		m[hb.ClientID] = c
	}
	s.groups.mu.Unlock()
	for _, g := range joined {
		s.notifyGroup(g, hb.ClientID)
	}
	return response(CodeSuccess, "")
}

// register records a consumer's membership and subscriptions, and reports
// whether the client is new to the group.
func (g *groups) register(name, clientID string, c *conn, model, fromWhere string, subs map[string]subscription) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	grp := g.byName[name]
	if grp == nil {
		grp = &group{name: name, clients: make(map[string]*conn)}
		g.byName[name] = grp
	}
	if legalGroupName(name) && !isLMQ(name) {
		g.known[name] = true
	}
	_, known := grp.clients[clientID]
	grp.clients[clientID] = c
	grp.model, grp.fromWhere = model, fromWhere
	grp.subs = subs
	return !known
}

// notifyGroup sends NOTIFY_CONSUMER_IDS_CHANGED, one-way, to every member of
// a group but the one whose arrival or departure caused it.
//
// A real broker (DefaultConsumerIdsChangeListener) also notifies the
// member that just joined, and notifies on subscription changes too. The
// joining client rebalances on its own as it starts, so that notification
// only makes it rebalance a second time; with rocketmq-client-go that
// second rebalance runs on its own goroutine and can race the client's
// Shutdown (an unsynchronised flag in the client), which fails tests run
// with -race. Members that stay do need to hear about the change, and do.
func (s *Server) notifyGroup(name, except string) {
	s.groups.mu.Lock()
	var conns []*conn
	if grp := s.groups.byName[name]; grp != nil {
		seen := make(map[*conn]bool)
		for id, c := range grp.clients {
			if id != except && !seen[c] {
				seen[c] = true
				conns = append(conns, c)
			}
		}
	}
	s.groups.mu.Unlock()
	for _, c := range conns {
		r := &reply{
			code:   int16(NotifyConsumerIdsChanged),
			flag:   flagOneway,
			opaque: s.notifyOpaque.Add(1),
		}
		r.add("consumerGroup", name)
		c.send(r)
		r.release()
	}
	if len(conns) > 0 {
		s.log.Debug("rocketmqtest: notified group", "group", name, "members", len(conns))
	}
}

// dropConn removes every client that used c, and tells the remaining
// members of their groups to rebalance.
func (g *groups) dropConn(s *Server, c *conn) {
	g.mu.Lock()
	var changed []string
	for name, grp := range g.byName {
		removed := false
		for id, cc := range grp.clients {
			if cc == c {
				delete(grp.clients, id)
				g.forgetPullsLocked(name, id)
				removed = true
			}
		}
		if !removed {
			continue
		}
		if len(grp.clients) == 0 {
			delete(g.byName, name) // ConsumerManager drops an empty group
		} else {
			changed = append(changed, name)
		}
	}
	for _, qp := range g.pulls { // what it pulled before its first heartbeat
		delete(qp.byClient, c.remoteString)
	}
	for name, m := range g.producers {
		for id, cc := range m {
			if cc == c {
				delete(m, id)
			}
		}
		if len(m) == 0 {
			delete(g.producers, name)
		}
	}
	g.mu.Unlock()
	if s.isClosed() {
		return
	}
	for _, name := range changed {
		s.notifyGroup(name, "")
	}
}

// filterFor returns the tag filter a group registered for topic, or the
// refusal PullMessageProcessor sends when there is none.
func (g *groups) filterFor(groupName, topic string) (tagFilter, *reply) {
	g.mu.Lock()
	defer g.mu.Unlock()
	grp := g.byName[groupName]
	if grp == nil {
		return tagFilter{}, response(CodeSubscriptionNotExist, "the consumer's group info not exist"+faqSuffix)
	}
	sub, ok := grp.subs[topic]
	if !ok {
		return tagFilter{}, response(CodeSubscriptionNotExist, "the consumer's subscription not exist"+faqSuffix)
	}
	if sub.typ != "" && sub.typ != expressionTag {
		return tagFilter{}, responsef(CodeSystemError, "The broker does not support consumer to filter message by %s", sub.typ)
	}
	return sub.filter, nil
}

// recordPull notes that the client on c pulled a queue for a group from
// offset; see Server.Pullers and Server.PullOffset.
func (g *groups) recordPull(group, topic string, queue int, offset int64, c *conn) {
	k := offsetKey{group, topic, queue}
	g.mu.Lock()
	id := c.clientID
	if id == "" {
		id = c.remoteString // a client that has not sent a heartbeat yet
	}
	qp := g.pulls[k]
	if qp == nil {
		qp = &queuePulls{byClient: make(map[string]pullMark)}
		g.pulls[k] = qp
	}
	g.pullSeq++
	qp.latest = offset
	qp.byClient[id] = pullMark{offset, g.pullSeq}
	g.mu.Unlock()
}

// pullOffset returns the offset of a group's latest pull of a queue: by
// any client, members that left included, if clientID is empty, else by
// that client.
func (g *groups) pullOffset(group, topic string, queue int, clientID string) (int64, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	qp := g.pulls[offsetKey{group, topic, queue}]
	if qp == nil {
		return 0, false
	}
	if clientID == "" {
		return qp.latest, true
	}
	m, ok := qp.byClient[clientID]
	return m.offset, ok
}

// memberPullOffset returns the offset of the latest pull of a queue by a
// client that has not left the group since.
func (g *groups) memberPullOffset(group, topic string, queue int) (int64, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	qp := g.pulls[offsetKey{group, topic, queue}]
	if qp == nil {
		return 0, false
	}
	var latest pullMark
	for _, m := range qp.byClient {
		if m.seq > latest.seq {
			latest = m
		}
	}
	return latest.offset, latest.seq > 0
}

// forgetPullsLocked forgets the pulls a client made for a group it left,
// so that a client rejoining under the same ID (a process restarted with
// the same instance name) counts as pulling a queue only once it pulls it
// again. The caller holds g.mu.
func (g *groups) forgetPullsLocked(group, clientID string) {
	for k, qp := range g.pulls {
		if k.group == group {
			delete(qp.byClient, clientID)
		}
	}
}

func (g *groups) commitOffset(group, topic string, queue int, offset int64) {
	g.mu.Lock()
	g.offsets[offsetKey{group, topic, offsetQueue(group, queue)}] = offset
	g.mu.Unlock()
}

func (g *groups) offset(group, topic string, queue int) (int64, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	v, ok := g.offsets[offsetKey{group, topic, offsetQueue(group, queue)}]
	return v, ok
}

func (g *groups) members(name string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	grp := g.byName[name]
	if grp == nil {
		return nil
	}
	ids := make([]string, 0, len(grp.clients))
	for id := range grp.clients {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func (s *Server) handleUnregister(c *conn, req *request) *reply {
	clientID := req.ext.get("clientID")
	var notify string
	s.groups.mu.Lock()
	if name := req.ext.get("consumerGroup"); name != "" {
		if grp := s.groups.byName[name]; grp != nil && grp.clients[clientID] != nil {
			delete(grp.clients, clientID)
			s.groups.forgetPullsLocked(name, clientID)
			if len(grp.clients) == 0 {
				delete(s.groups.byName, name)
			} else {
				notify = name
			}
		}
	}
	if name := req.ext.get("producerGroup"); name != "" {
		delete(s.groups.producers[name], clientID)
	}
	s.groups.mu.Unlock()
	if notify != "" {
		s.notifyGroup(notify, clientID)
	}
	return response(CodeSuccess, "")
}

func (s *Server) handleConsumerList(c *conn, req *request) *reply {
	name := req.ext.get("consumerGroup")
	ids := s.groups.members(name)
	if len(ids) == 0 {
		return responsef(CodeSystemError, "no consumer for this group, %s", name)
	}
	body, _ := json.Marshal(struct {
		ConsumerIDList []string `json:"consumerIdList"`
	}{ids})
	rep := response(CodeSuccess, "")
	rep.body = [][]byte{body}
	return rep
}

// handleQueryOffset answers a group's committed offset. For a group that
// never committed, see WithNewGroupOffsetZero.
func (s *Server) handleQueryOffset(c *conn, req *request) *reply {
	var h headerReader
	group := h.str(req, "consumerGroup")
	topicName := h.str(req, "topic")
	queueID := h.int(req, "queueId")
	if h.err != nil {
		return h.errReply()
	}
	if off, ok := s.groups.offset(group, topicName, queueID); ok {
		rep := response(CodeSuccess, "")
		rep.addInt("offset", off)
		return rep
	}
	if req.ext.get("setZeroIfNotFound") == "false" {
		return response(CodeQueryNotFound, "Not found, do not set to zero, maybe this group boot first")
	}
	if s.cfg.zeroOffsetForNew && s.queueHasHead(topicName, queueID) {
		rep := response(CodeSuccess, "")
		rep.addInt("offset", 0)
		return rep
	}
	return response(CodeQueryNotFound, "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first")
}

// queueHasHead reports whether the queue still holds its message at offset 0.
func (s *Server) queueHasHead(topicName string, queueID int) bool {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	t := s.store.topics[topicName]
	return t != nil && queueID >= 0 && queueID < len(t.queues) && len(t.queues[queueID].msgs) > 0
}

// handleUpdateOffset commits a group's offset
// (ConsumerManageProcessor.updateConsumerOffset). The group must exist:
// a consumer group exists once it has sent a heartbeat or a pull, so a
// client that commits for a group it never pulled with is refused.
func (s *Server) handleUpdateOffset(c *conn, req *request) *reply {
	group := req.ext.get("consumerGroup")
	topicName := req.ext.get("topic")
	if !s.groups.groupExists(group) {
		return responsef(CodeSubscriptionGroupNotExist, "Group %s not exist!", group)
	}
	if !isLMQ(topicName) && s.store.lookup(topicName) == nil {
		return responsef(CodeTopicNotExist, "Topic %s not exist!", topicName)
	}
	queueID, err := strconv.Atoi(req.ext.get("queueId"))
	if err != nil {
		return responsef(CodeInvalidParameter, "QueueId is null, topic is %s", topicName)
	}
	off, err := strconv.ParseInt(req.ext.get("commitOffset"), 10, 64)
	if err != nil {
		return responsef(CodeInvalidParameter, "Offset is null, topic is %s", topicName)
	}
	s.groups.commitOffset(group, topicName, queueID, off)
	return response(CodeSuccess, "")
}

// handleSendBack takes back a message a consumer failed to consume
// (AbstractSendMessageProcessor.consumerSendMsgBack): it goes to the group's
// retry topic after a delay level of 3 + its reconsume count, or to the
// group's dead-letter topic once it has been retried maxReconsumeTimes.
func (s *Server) handleSendBack(c *conn, req *request) *reply {
	var h headerReader
	group := h.str(req, "group")
	offset := h.int64(req, "offset")
	level := h.optInt(req, "delayLevel", 0)
	maxTimes := h.optInt(req, "maxReconsumeTimes", defaultMaxReconsumeTimes)
	if h.err != nil {
		return h.errReply()
	}
	s.store.mu.Lock()
	orig := s.store.byPhys[offset]
	s.store.mu.Unlock()
	if orig == nil {
		return responsef(CodeSystemError, "look message by offset failed, %d", offset)
	}
	topicName := retryGroupPrefix + group
	s.store.ensure(topicName, 1)

	props := orig.properties()
	if _, ok := props.get(propRetryTopic); !ok {
		props.set(propRetryTopic, orig.topic)
	}
	props.set(propWait, "false")
	if int(orig.reconsumeTimes) >= maxTimes || level < 0 {
		topicName = dlqGroupPrefix + group
		s.store.ensure(topicName, 1)
		level = 0
	} else if level == 0 {
		level = 3 + int(orig.reconsumeTimes)
	}
	props.set(propDelay, strconv.Itoa(level))
	if _, ok := props.get(propOriginMessageID); !ok {
		props.set(propOriginMessageID, offsetMessageID(s.storeHost, orig.phys))
	}
	m := &message{
		topic:          topicName,
		queueID:        0,
		flag:           orig.flag,
		sysFlag:        orig.sysFlag,
		bornTime:       orig.bornTime,
		bornHost:       orig.bornHost,
		reconsumeTimes: orig.reconsumeTimes + 1,
		body:           orig.body,
		props:          props.String(),
	}
	if _, rep := s.put(m); rep != nil {
		return responsef(CodeSystemError, "%s", rep.remark)
	}
	return response(CodeSuccess, "")
}

// lockBody is the LOCK_BATCH_MQ and UNLOCK_BATCH_MQ request body.
type lockBody struct {
	ConsumerGroup string         `json:"consumerGroup"`
	ClientID      string         `json:"clientId"`
	MQSet         []messageQueue `json:"mqSet"`
}

type messageQueue struct {
	Topic      string `json:"topic"`
	BrokerName string `json:"brokerName"`
	QueueID    int    `json:"queueId"`
}

// handleLock locks queues for an orderly consumer
// (RebalanceLockManager.tryLockBatch): a queue is granted when it is free,
// already the client's, or its holder's lock has expired.
func (s *Server) handleLock(c *conn, req *request) *reply {
	var b lockBody
	if err := json.Unmarshal(req.body, &b); err != nil {
		return responsef(CodeSystemError, "decode lock body: %v", err)
	}
	now := time.Now()
	locked := make([]messageQueue, 0, len(b.MQSet))
	s.groups.mu.Lock()
	for _, mq := range b.MQSet {
		k := queueKey{b.ConsumerGroup, mq.Topic, mq.BrokerName, mq.QueueID}
		h, held := s.groups.locks[k]
		if !held || h.clientID == b.ClientID || now.Sub(h.at) > lockTTL {
			s.groups.locks[k] = lockHolder{clientID: b.ClientID, at: now}
			locked = append(locked, mq)
		}
	}
	s.groups.mu.Unlock()
	body, _ := json.Marshal(struct {
		LockOKMQSet []messageQueue `json:"lockOKMQSet"`
	}{locked})
	rep := response(CodeSuccess, "")
	rep.body = [][]byte{body}
	return rep
}

func (s *Server) handleUnlock(c *conn, req *request) *reply {
	var b lockBody
	if err := json.Unmarshal(req.body, &b); err != nil {
		return responsef(CodeSystemError, "decode unlock body: %v", err)
	}
	s.groups.mu.Lock()
	for _, mq := range b.MQSet {
		k := queueKey{b.ConsumerGroup, mq.Topic, mq.BrokerName, mq.QueueID}
		if h, ok := s.groups.locks[k]; ok && h.clientID == b.ClientID {
			delete(s.groups.locks, k)
		}
	}
	s.groups.mu.Unlock()
	return response(CodeSuccess, "")
}
