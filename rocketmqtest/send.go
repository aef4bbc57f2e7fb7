package rocketmqtest

import (
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// sendCommands are a producer's requests.
var sendCommands = []registration{
	{SendMessage, (*Server).handleSend},
	{SendMessageV2, (*Server).handleSend},
	{SendBatchMessage, (*Server).handleSend},
}

// defaultMaxReconsumeTimes is SubscriptionGroupConfig.retryMaxTimes.
const defaultMaxReconsumeTimes = 16

// sendHeader is SendMessageRequestHeader, decoded from either its long
// field names (SEND_MESSAGE) or V2's one-letter names (SEND_MESSAGE_V2,
// SEND_BATCH_MESSAGE).
type sendHeader struct {
	producerGroup     string
	topic             string
	defaultTopic      string
	defaultQueueNums  int
	queueID           int
	sysFlag           int32
	bornTime          int64
	flag              int32
	properties        string
	reconsumeTimes    int32
	maxReconsumeTimes int
	batch             bool
}

// sendHeaderNames maps V1 field names to their V2 letters.
var sendHeaderNames = [][2]string{
	{"producerGroup", "a"}, {"topic", "b"}, {"defaultTopic", "c"},
	{"defaultTopicQueueNums", "d"}, {"queueId", "e"}, {"sysFlag", "f"},
	{"bornTimestamp", "g"}, {"flag", "h"}, {"properties", "i"},
	{"reconsumeTimes", "j"}, {"unitMode", "k"}, {"maxReconsumeTimes", "l"},
	{"batch", "m"},
}

func decodeSendHeader(req *request, sh *sendHeader) *reply {
	if req.code != SendMessage {
		// Rename V2 letters in place so one decoder serves both.
		v1 := make(extFields, 0, len(req.ext))
		for _, n := range sendHeaderNames {
			if v, ok := req.ext.lookup(n[1]); ok {
				v1 = append(v1, field{n[0], v})
			}
		}
		req.ext = v1
	}
	var h headerReader
	*sh = sendHeader{
		producerGroup:     h.str(req, "producerGroup"),
		topic:             h.str(req, "topic"),
		defaultTopic:      h.str(req, "defaultTopic"),
		defaultQueueNums:  h.int(req, "defaultTopicQueueNums"),
		queueID:           h.int(req, "queueId"),
		sysFlag:           int32(h.int(req, "sysFlag")),
		bornTime:          h.int64(req, "bornTimestamp"),
		flag:              int32(h.int(req, "flag")),
		properties:        req.ext.get("properties"),
		reconsumeTimes:    int32(h.optInt(req, "reconsumeTimes", 0)),
		maxReconsumeTimes: h.optInt(req, "maxReconsumeTimes", -1),
		batch:             h.optBool(req, "batch"),
	}
	if h.err != nil {
		return h.errReply()
	}
	return nil
}

func (s *Server) handleSend(c *conn, req *request) *reply {
	var header sendHeader
	if rep := decodeSendHeader(req, &header); rep != nil {
		return rep
	}
	sh := &header
	if code, refused := s.faults.takeRefusal(); refused {
		s.log.Info("rocketmqtest: send refused", "topic", sh.topic, "code", code.String())
		return responsef(code, "service not available now (refused by rocketmqtest RefuseSends)")
	}
	t, rep := s.checkSend(c, sh)
	if rep != nil {
		return rep
	}
	queueID := sh.queueID
	if queueID < 0 {
		queueID = rand.IntN(t.nQueues)
	}
	if sh.batch {
		return s.sendBatch(c, req, sh, t, queueID)
	}

	topicName := sh.topic
	retryToDLQ := false
	if strings.HasPrefix(topicName, retryGroupPrefix) {
		maxTimes := sh.maxReconsumeTimes
		if maxTimes < 0 {
			maxTimes = defaultMaxReconsumeTimes
		}
		if int(sh.reconsumeTimes) > maxTimes {
			// SendMessageProcessor.handleRetryAndDLQ
			retryToDLQ = true
			topicName = dlqGroupPrefix + strings.TrimPrefix(topicName, retryGroupPrefix)
			s.store.ensure(topicName, 1)
			queueID = 0
		}
	}
	if strings.EqualFold(propertyValue(sh.properties, propTransaction), "true") { // Boolean.parseBoolean
		// A broker with rejectTransactionMessage=true: this server does not
		// implement half messages and their check-back.
		return responsef(CodeNoPermission, "the broker[%s] sending transaction message is forbidden", s.storeHost.Addr())
	}
	// The broker adds UNIQ_KEY when it is missing, CLUSTER, and (a 5.3
	// broker stores them with the message, not only in its answer)
	// MSG_REGION and TRACE_ON.
	var propsOut, uniq string
	if ok, hasUniq, hasCluster := canonical(sh.properties); ok && hasUniq && !hasCluster && !retryToDLQ &&
		!strings.Contains(sh.properties, propMsgRegion) && !strings.Contains(sh.properties, propTraceSwitch) {
		propsOut = sh.properties + brokerAdded
		uniq = propertyValue(sh.properties, propUniqKey)
	} else {
		props := parseProperties(sh.properties)
		if retryToDLQ {
			props.set(propDelay, "-1")
		}
		var ok bool
		if uniq, ok = props.get(propUniqKey); !ok {
			uniq = s.newUniqID()
			props.set(propUniqKey, uniq)
		}
		props.set(propCluster, ClusterName)
		props.set(propMsgRegion, regionID)
		props.set(propTraceSwitch, "true")
		propsOut = props.String()
	}

	m := &message{
		topic:          topicName,
		queueID:        queueID,
		flag:           sh.flag,
		sysFlag:        sh.sysFlag,
		bornTime:       sh.bornTime,
		bornHost:       c.remote,
		reconsumeTimes: sh.reconsumeTimes,
		body:           req.body,
		props:          propsOut,
	}
	st, rep := s.put(m)
	if rep != nil {
		return rep
	}
	rep = sendOK(offsetMessageID(s.storeHost, st.phys))
	rep.addInt("queueId", int64(queueID))
	rep.addInt("queueOffset", st.queueOffset)
	rep.add("transactionId", uniq)
	return rep
}

// brokerAdded is what the broker appends to a sent message's properties.
const brokerAdded = propCluster + "\x01" + ClusterName + "\x02" + propMsgRegion + "\x01" + regionID + "\x02" + propTraceSwitch + "\x01true\x02"

// withBrokerAdded returns a batch message's properties with what the
// broker adds to each: CLUSTER, MSG_REGION, TRACE_ON.
func withBrokerAdded(props string) string {
	if ok, _, hasCluster := canonical(props); ok && !hasCluster &&
		!strings.Contains(props, propMsgRegion) && !strings.Contains(props, propTraceSwitch) {
		return props + brokerAdded
	}
	p := parseProperties(props)
	p.set(propCluster, ClusterName)
	p.set(propMsgRegion, regionID)
	p.set(propTraceSwitch, "true")
	return p.String()
}

// sendOK starts a successful send response for the stored message ID (or
// IDs, comma-separated, for a batch).
func sendOK(msgID string) *reply {
	rep := response(CodeSuccess, "")
	rep.add("msgId", msgID)
	rep.add(propMsgRegion, regionID)
	rep.add(propTraceSwitch, "true")
	return rep
}

// checkSend applies AbstractSendMessageProcessor.msgCheck: the topic's name,
// its existence (creating it from TBW102 when auto-creation is on) and the
// queue ID.
func (s *Server) checkSend(c *conn, sh *sendHeader) (topicInfo, *reply) {
	if remark := validateTopic(sh.topic); remark != "" {
		return topicInfo{}, response(CodeInvalidParameter, remark)
	}
	if notAllowedSendTopics[sh.topic] {
		return topicInfo{}, responsef(CodeNoPermission, "Sending message to topic[%s] is forbidden.", sh.topic)
	}
	t := s.createTopicForSend(sh)
	if t.topic == nil {
		s.log.Info("rocketmqtest: send to unknown topic", "topic", sh.topic, "remote", c.remoteString)
		return t, responsef(CodeTopicNotExist, "topic[%s] not exist, apply first please!%s", sh.topic, faqSuffix)
	}
	if t.perm&permWrite == 0 {
		return t, responsef(CodeNoPermission, "the topic[%s] sending message is forbidden", sh.topic)
	}
	if sh.queueID >= t.nQueues {
		return t, responsef(CodeSystemError, "request queueId[%d] is illegal, topic[%s] has %d queues, Producer: %s",
			sh.queueID, sh.topic, t.nQueues, c.remoteString)
	}
	return t, nil
}

// createTopicForSend returns the send's topic, creating it as
// TopicConfigManager.createTopicInSendMessageMethod does: from an inheritable
// default topic (TBW102), with the smaller of the two queue counts. Retry
// topics are created with one queue whatever the configuration. A Light
// Message Queue is a topic of one queue that always exists: a message sent
// to it directly is stored there.
func (s *Server) createTopicForSend(sh *sendHeader) topicInfo {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	if t := s.store.topicLocked(sh.topic); t != nil {
		return s.store.infoLocked(t)
	}
	if strings.HasPrefix(sh.topic, retryGroupPrefix) {
		return s.store.infoLocked(s.store.createLocked(sh.topic, 1, permRead|permWrite))
	}
	def := s.store.topics[sh.defaultTopic]
	if def == nil || def.perm&permInherit == 0 {
		return topicInfo{}
	}
	n := min(max(sh.defaultQueueNums, 1), len(def.queues))
	s.log.Info("rocketmqtest: auto-created topic", "topic", sh.topic, "queues", n)
	return s.store.infoLocked(s.store.createLocked(sh.topic, n, def.perm&^permInherit))
}

// illegalMessageRemark is SendMessageProcessor's remark for MESSAGE_ILLEGAL
// and PROPERTIES_SIZE_EXCEEDED.
func (s *Server) illegalMessageRemark() string {
	return "the message is illegal, maybe msg body or properties length not matched. msg body length limit " +
		strconv.Itoa(s.cfg.maxMessageSize) + "B, msg properties length limit 32KB."
}

// put stores m as CommitLog.putMessage does: it checks the sizes, diverts
// a message with a delay level to the schedule topic, appends it, and
// answers the held pulls it satisfies. m's topic must exist.
func (s *Server) put(m *message) (*stored, *reply) {
	if len(m.topic) > topicMaxLength {
		return nil, responsef(CodeMessageIllegal, "message topic length too long %d", len(m.topic))
	}
	if len(m.body) > s.cfg.maxMessageSize {
		return nil, response(CodeMessageIllegal, s.illegalMessageRemark())
	}
	if needsDispatch(m.topic, m.props) {
		// Checked before a delay level sends it to the schedule topic:
		// it is dispatched when it reaches its own.
		list := propertyValue(m.props, propMultiDispatch)
		if problem := dispatchProblem(list); problem != "" {
			s.log.Info("rocketmqtest: dispatch list refused", "topic", m.topic, "problem", problem)
			return nil, response(CodeMessageIllegal, dispatchRefusal(list, problem))
		}
	}
	var due time.Duration
	if level := delayLevel(m.props); level > 0 && !m.delivered && m.sysFlag&transactionPreparedFlag == 0 {
		level = min(level, len(s.cfg.delayLevels))
		props := parseProperties(m.props)
		props.set(propDelay, strconv.Itoa(level))
		props.set(propRealTopic, m.topic)
		props.set(propRealQueueID, strconv.Itoa(m.queueID))
		m.props = props.String()
		m.topic = scheduleTopic
		m.queueID = level - 1
		due = s.cfg.delayLevels[level-1]
	}
	if len(m.props) > maxPropertiesLength {
		return nil, response(CodeMessageIllegal, s.illegalMessageRemark())
	}
	now := time.Now()
	s.store.mu.Lock()
	t := s.store.topicLocked(m.topic)
	if t == nil || m.queueID < 0 || m.queueID >= len(t.queues) {
		s.store.mu.Unlock()
		return nil, responsef(CodeSystemError, "topic[%s] queue %d not exist", m.topic, m.queueID)
	}
	var lmqs []*queue
	if needsDispatch(m.topic, m.props) {
		// The broker writes the queue offsets into the message as it
		// appends it (CommitLog's handlePropertiesForLmqMsg), and checks
		// the sizes again: the properties' and the whole message's.
		m.props, lmqs = s.store.wrapLocked(m)
		if len(m.props) > maxPropertiesLength || storedSize(m, t.name, s.storeHost) > s.cfg.maxMessageSize {
			s.store.mu.Unlock()
			return nil, response(CodeMessageIllegal, s.illegalMessageRemark())
		}
	}
	st, woken := s.store.appendLocked(t.queues[m.queueID], m, s.storeHost, now)
	for _, q := range lmqs {
		woken = q.enqueueLocked(st, woken)
	}
	s.store.mu.Unlock()
	s.wake(woken)
	if m.topic == scheduleTopic {
		s.sched.add(now.Add(due), st)
	}
	return st, nil
}

// transactionPreparedFlag is MessageSysFlag.TRANSACTION_PREPARED_TYPE.
const transactionPreparedFlag = 1 << 2

// delayLevel returns the DELAY property as a level, 0 when absent or not a
// number.
func delayLevel(props string) int {
	v := propertyValue(props, propDelay)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0
	}
	return n
}

// sendBatch stores the messages of a SEND_BATCH_MESSAGE body, the
// concatenation of the client's encoded messages, in one queue. The broker
// dispatches none of them to Light Message Queues (its batch encoder
// writes no INNER_MULTI_QUEUE_OFFSET).
func (s *Server) sendBatch(c *conn, req *request, sh *sendHeader, t topicInfo, queueID int) *reply {
	if strings.HasPrefix(sh.topic, retryGroupPrefix) {
		return responsef(CodeMessageIllegal, "batch request does not support retry group %s", sh.topic)
	}
	if len(req.body) > s.cfg.maxMessageSize {
		return response(CodeMessageIllegal, s.illegalMessageRemark())
	}
	if delayLevel(sh.properties) > 0 {
		return response(CodeMessageIllegal, s.illegalMessageRemark())
	}
	msgs, ok := decodeBatch(req.body)
	if !ok || len(msgs) == 0 {
		return response(CodeMessageIllegal, s.illegalMessageRemark())
	}
	for _, bm := range msgs {
		if problem := batchDispatchProblem(sh.topic, bm.props); problem != "" {
			return response(CodeMessageIllegal, dispatchRefusal(propertyValue(bm.props, propMultiDispatch), problem))
		}
	}
	now := time.Now()
	var woken []*pendingPull
	ids := make([]string, 0, len(msgs))
	var first *stored
	s.store.mu.Lock()
	q := t.queues[queueID]
	for _, bm := range msgs {
		m := &message{
			topic:          sh.topic,
			queueID:        queueID,
			flag:           bm.flag,
			sysFlag:        sh.sysFlag,
			bornTime:       sh.bornTime,
			bornHost:       c.remote,
			reconsumeTimes: sh.reconsumeTimes,
			body:           bm.body,
			props:          withBrokerAdded(bm.props),
		}
		st, w := s.store.appendLocked(q, m, s.storeHost, now)
		woken = append(woken, w...)
		ids = append(ids, offsetMessageID(s.storeHost, st.phys))
		if first == nil {
			first = st
		}
	}
	s.store.mu.Unlock()
	s.wake(woken)
	rep := sendOK(strings.Join(ids, ","))
	rep.addInt("queueId", int64(queueID))
	rep.addInt("queueOffset", first.queueOffset)
	return rep
}

type batchMessage struct {
	flag  int32
	body  []byte
	props string
}

// decodeBatch splits a batch body. Each message is
//
//	int32 total size, int32 magic, int32 body CRC, int32 flag,
//	int32 body length, body, int16 properties length, properties
//
// as primitive.Message.Marshal writes it. It reports false on any
// inconsistency and never reads out of bounds.
func decodeBatch(b []byte) ([]batchMessage, bool) {
	var out []batchMessage
	for len(b) > 0 {
		if len(b) < 20 {
			return nil, false
		}
		total := int(int32(binary.BigEndian.Uint32(b)))
		if total < 22 || total > len(b) {
			return nil, false
		}
		m := b[:total]
		b = b[total:]
		flag := int32(binary.BigEndian.Uint32(m[12:]))
		bodyLen := int(int32(binary.BigEndian.Uint32(m[16:])))
		if bodyLen < 0 || 20+bodyLen+2 > total {
			return nil, false
		}
		body := m[20 : 20+bodyLen]
		propsLen := int(binary.BigEndian.Uint16(m[20+bodyLen:]))
		if propsLen > maxPropertiesLength || 20+bodyLen+2+propsLen != total {
			return nil, false
		}
		props := string(m[22+bodyLen : 22+bodyLen+propsLen])
		out = append(out, batchMessage{flag: flag, body: body, props: props})
	}
	return out, true
}

// newUniqID makes the UNIQ_KEY the broker gives a message that arrived
// without one, in MessageClientIDSetter's shape: 32 hex digits.
func (s *Server) newUniqID() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixNano()))
	binary.BigEndian.PutUint64(b[8:], s.uniqCounter.Add(1))
	return strings.ToUpper(hex.EncodeToString(b[:]))
}
