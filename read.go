package mqttrmq

import (
	"slices"
	"strings"
)

// One message, one reading.
//
// A message can say one thing in more than one place. The dialects spell
// the QoS and clean-session keys differently (qoslevel, qosLevel); the
// Apache one also keeps the QoS and mqttRealTopic in extData; the topic a
// message is addressed to is the RocketMQ topic + mqttSecondTopic in one
// dialect, originMqttTopic and the queues of INNER_MULTI_DISPATCH in the
// other; the user properties are mqtt5UserProperty in one, extData in the
// other. Every reader, in either dialect, reads every place, and refuses a
// message whose places disagree. So both dialects read a message alike, and
// FromRocketMQ, P2PTargetOf, QoSOf and the rest never answer two different
// things about it: which would let a gateway decide delivery and privacy
// one way and show the message another.

// readPublish reads a message into what MQTT clients are delivered.
func readPublish(op, topic string, src Properties, payload []byte) (Publish, error) {
	if isNil(src) {
		return Publish{}, errNilMessage(op)
	}
	// A consumer with a namespace hands over {namespace}%{parent}.
	_, parent, f := splitNamespace(topic)
	if !f.ok() {
		return Publish{}, f.err(op, topic, ErrInvalidTopic)
	}
	ext, err := parseExtData(op, src.GetProperty(PropExtData))
	if err != nil {
		return Publish{}, err
	}
	a, err := addressOf(op, src)
	if err != nil {
		return Publish{}, err
	}
	p := Publish{Payload: payload}
	if p.Topic, err = a.topicIn(op, parent); err != nil {
		return Publish{}, err
	}
	shown, err := realTopicOf(op, src, ext)
	if err != nil {
		return Publish{}, err
	}
	if shown != "" {
		p.Topic = shown
	}
	if p.QoS, err = qosOf(op, src, ext); err != nil {
		return Publish{}, err
	}
	clean, err := cleanSessionOf(op, src)
	if err != nil {
		return Publish{}, err
	}
	p.PersistentSession = !clean
	if p.Retain, err = parseBool(op, PropRetain, src.GetProperty(PropRetain), false); err != nil {
		return Publish{}, err
	}
	if p.ClientID, err = clientIDOf(op, src); err != nil {
		return Publish{}, err
	}
	if p.UserProperties, err = userPropertiesOf(op, src, ext); err != nil {
		return Publish{}, err
	}
	// A payload Apache RocketMQ-MQTT wrote for an empty one: IS_EMPTY_MSG
	// "true" (Boolean.parseBoolean: any letter case) and its placeholder.
	if strings.EqualFold(src.GetProperty(apacheEmpty), "true") && string(payload) == emptyPayload {
		p.Payload = payload[:0]
	}
	if err := readMQTT5(op, src, &ext, &p); err != nil {
		return Publish{}, err
	}
	p.Born, _ = BornTime(src)
	return p, nil
}

// errConflict refuses a message that says one thing twice, differently: key
// holds value, which disagrees with what earlier said.
func errConflict(op, earlier, key, value string) error {
	return newError(op, value, key+" disagrees with "+earlier+": a message that says two things is refused", ErrInvalidProperty)
}

// address is where a message is addressed, as the properties that carry it
// say: mqttSecondTopic, originMqttTopic and INNER_MULTI_DISPATCH.
type address struct {
	first string // the first level, when a property names it; "" for the RocketMQ topic
	tail  string // the levels after the first, with their leading '/'; "" for a one-level topic
	whole string // first + tail, when a property holds it whole, so that no join allocates
	key   string // the property tail was read from, "" when none carries an address
}

// addressOf reads the address of a message from every property that
// carries one, each valid, all naming the same topic.
func addressOf(op string, src Properties) (address, error) {
	var a address
	if second := src.GetProperty(PropSecondTopic); second != "" {
		if f := checkSecondChars(second); !f.ok() {
			return a, f.errKey(op, PropSecondTopic, second)
		}
		a = address{tail: second, key: PropSecondTopic}
	}
	if origin := src.GetProperty(PropOriginTopic); origin != "" {
		first, tail, f := splitTopic(origin)
		if !f.ok() {
			return a, f.errKey(op, PropOriginTopic, origin)
		}
		if a.key != "" && tail != a.tail {
			return a, errConflict(op, a.key, PropOriginTopic, origin)
		}
		a = address{first: first, tail: tail, whole: origin, key: PropOriginTopic}
	}
	if list := src.GetProperty(PropDispatch); list != "" {
		topicQ, p2pQ, err := dispatchQueues(op, list)
		if err != nil {
			return a, err
		}
		if a.whole != "" {
			// originMqttTopic names the address whole: the list must name
			// its queue as RocketMQ-MQTT names it, which need not read back
			// (a/b/ has the queue of a/b).
			if !isQueueOf(topicQ, p2pQ, a) {
				return a, errConflict(op, a.key, PropDispatch, list)
			}
			return a, nil
		}
		d, err := dispatchAddress(op, topicQ, p2pQ)
		if err != nil {
			return a, err
		}
		switch {
		case a.key == "":
			a = d
		case d.tail != a.tail:
			return a, errConflict(op, a.key, PropDispatch, list)
		default:
			a.first = d.first // mqttSecondTopic and a topic's queue
		}
	}
	return a, nil
}

// topicIn returns the topic a message on the RocketMQ topic parent is
// addressed to.
func (a address) topicIn(op, parent string) (string, error) {
	if a.first != "" && a.first != parent {
		return "", newError(op, a.first, a.key+": the first level is not the RocketMQ topic "+parent, ErrInvalidProperty)
	}
	switch {
	case a.whole != "":
		return a.whole, nil
	case a.tail == "":
		return parent, nil
	case len(parent)+len(a.tail) > maxTopicLen:
		// The tail is checked; the parent is ASCII: only the length is left.
		return "", newError(op, a.tail, a.key+": with the RocketMQ topic "+parent+", longer than 65535 bytes", ErrInvalidProperty)
	}
	return parent + a.tail, nil
}

// dispatchQueues finds the queue of INNER_MULTI_DISPATCH that says where a
// message is addressed: a topic's queue, beside the queues of the wildcard
// filters that match it, or a client's P2P queue alone, as RocketMQ-MQTT's
// WildcardManager lists them. A list naming two topics, two clients, or a
// client and a topic, is addressed to no one topic and is refused. The
// wildcard queues say who else receives a message, not where it is
// addressed, and are not read.
func dispatchQueues(op, list string) (topicQ, p2pQ string, err error) {
	wildcards := false
	for rest := list; rest != ""; {
		var q string
		q, rest = cutQueue(rest)
		switch {
		case isWildcardQueue(q):
			wildcards = true
		case strings.HasPrefix(q, p2pQueuePrefix):
			if p2pQ != "" && q != p2pQ {
				return "", "", newError(op, list, PropDispatch+": the P2P queues of two clients", ErrInvalidProperty)
			}
			p2pQ = q
		default:
			if topicQ != "" && q != topicQ {
				return "", "", newError(op, list, PropDispatch+": the queues of two topics", ErrInvalidProperty)
			}
			topicQ = q
		}
	}
	switch {
	case p2pQ != "" && (topicQ != "" || wildcards):
		return "", "", newError(op, list, PropDispatch+": a P2P queue beside other queues: addressed to one client and to subscribers", ErrInvalidProperty)
	case p2pQ == "" && topicQ == "":
		return "", "", newError(op, list, PropDispatch+": no queue names a topic", ErrInvalidProperty)
	}
	return topicQ, p2pQ, nil
}

// dispatchAddress reads the address the queue dispatchQueues found names.
func dispatchAddress(op, topicQ, p2pQ string) (address, error) {
	if p2pQ != "" {
		id, ok := parseP2PQueue(p2pQ)
		if !ok {
			return address{}, finding{probNoP2PTopic, -1}.errKey(op, PropDispatch, p2pQ)
		}
		// A P2P message reaches its target on {parent}/p2p/{clientID}.
		return address{tail: p2pLevel + id, key: PropDispatch}, nil
	}
	t, f := parseLMQ(topicQ)
	if !f.ok() {
		return address{}, f.errKey(op, PropDispatch, topicQ)
	}
	first, tail, f := splitTopic(t)
	if !f.ok() {
		return address{}, f.errKey(op, PropDispatch, topicQ)
	}
	return address{first: first, tail: tail, whole: t, key: PropDispatch}, nil
}

// isQueueOf reports whether the queue dispatchQueues found is the one
// RocketMQ-MQTT dispatches a message addressed to a to: the P2P queue of the
// client a P2P topic names, else the topic's own queue, "%LMQ%" and the topic
// with a trailing '/' (TopicUtils.normalizeTopic, for more than one level)
// and every '/' written '%'.
func isQueueOf(topicQ, p2pQ string, a address) bool {
	if p2pQ != "" {
		id, ok := p2pTargetOf(a.tail)
		rest, isP2P := strings.CutPrefix(p2pQ, p2pQueuePrefix)
		return ok && isP2P && len(rest) == len(id)+1 && rest[:len(id)] == id && rest[len(id)] == '%'
	}
	rest, ok := strings.CutPrefix(topicQ, LMQPrefix)
	topic := a.whole
	if !ok || len(rest) < len(topic) {
		return false
	}
	for i := 0; i < len(topic); i++ {
		c := topic[i]
		if c == '/' {
			c = '%'
		}
		if rest[i] != c {
			return false
		}
	}
	if a.tail == "" || topic[len(topic)-1] == '/' {
		return len(rest) == len(topic) // one level, or normalised already
	}
	return len(rest) == len(topic)+1 && rest[len(topic)] == '%'
}

// realTopicOf reads mqttRealTopic, a property or a member of extData: ""
// when neither is there.
func realTopicOf(op string, m Properties, ext extData) (string, error) {
	shown, from := "", ""
	for _, c := range [...]struct{ key, value string }{
		{PropRealTopic, m.GetProperty(PropRealTopic)},
		{PropExtData + "." + PropRealTopic, ext.realTopic},
	} {
		if c.value == "" {
			continue
		}
		if f := checkName(c.value); !f.ok() {
			return "", f.errKey(op, c.key, c.value)
		}
		if from != "" && c.value != shown {
			return "", errConflict(op, from, c.key, c.value)
		}
		shown, from = c.value, c.key
	}
	return shown, nil
}

// qosOf reads the QoS of a message from qoslevel, qosLevel and extData's
// qosLevel; a message with none is AtLeastOnce.
func qosOf(op string, m Properties, ext extData) (QoS, error) {
	q, from := AtLeastOnce, ""
	for _, c := range [...]struct{ key, value string }{
		{PropQoS, m.GetProperty(PropQoS)},
		{apacheQoS, m.GetProperty(apacheQoS)},
		{PropExtData + "." + apacheQoS, ext.qos},
	} {
		if c.value == "" {
			continue
		}
		got, ok := parseQoS(c.value)
		if !ok {
			return 0, newError(op, c.value, c.key+` must be "0", "1" or "2"`, ErrInvalidProperty)
		}
		if from != "" && got != q {
			return 0, errConflict(op, from, c.key, c.value)
		}
		q, from = got, c.key
	}
	return q, nil
}

// cleanSessionOf reads the clean-session flag of a message from
// cleansessionflag and cleanSessionFlag; a message with neither is clean.
func cleanSessionOf(op string, m Properties) (bool, error) {
	clean, from := true, ""
	for _, key := range [...]string{PropCleanSession, apacheCleanSession} {
		v := m.GetProperty(key)
		if v == "" {
			continue
		}
		got, err := parseBool(op, key, v, true)
		if err != nil {
			return false, err
		}
		if from != "" && got != clean {
			return false, errConflict(op, from, key, v)
		}
		clean, from = got, key
	}
	return clean, nil
}

// clientIDOf reads and checks the sender's client ID.
func clientIDOf(op string, src Properties) (string, error) {
	id := src.GetProperty(PropClientID)
	if id != "" {
		if f := scan(id, scanText); !f.ok() {
			return "", f.errKey(op, PropClientID, id)
		}
	}
	return id, nil
}

// userPropertiesOf reads the user properties of a message from
// mqtt5UserProperty and from the members of extData that are not the
// mapping's: nil when there are none.
func userPropertiesOf(op string, m Properties, ext extData) ([]UserProperty, error) {
	raw := m.GetProperty(PropUserProperties)
	props, err := parseUserPropertiesArray(op, raw)
	if err != nil {
		return nil, err
	}
	switch {
	case len(ext.user) == 0:
		return props, nil
	case len(props) == 0:
		return ext.user, nil
	case !slices.Equal(props, ext.user):
		return nil, errConflict(op, PropUserProperties, PropExtData, m.GetProperty(PropExtData))
	}
	return props, nil
}
