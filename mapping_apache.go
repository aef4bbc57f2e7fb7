package mqttrmq

import "strings"

// emptyPayload is the body RocketMQ-MQTT sends in place of an empty MQTT
// payload, with IS_EMPTY_MSG "true" (MessageUtil.EMPTYSTRING), since its
// RocketMQ client refuses an empty body.
const emptyPayload = "\u2605\r\n\t\u2600"

// propertyTags is RocketMQ's key for a message's tag (primitive.PropertyTags);
// the Properties interface writes the tag through it.
const propertyTags = "TAGS"

// toRocketMQLMQ writes a publish as Apache RocketMQ-MQTT does.
func (d *Dialect) toRocketMQLMQ(p Publish, dst Properties) (string, error) {
	const op = "ToRocketMQ"
	parent, _, err := d.checkPublish(op, p, dst, true)
	if err != nil {
		return "", err
	}
	// Room for the topic's queue and a few filters' as long. A queue name
	// is at most maxLMQLen bytes, so a 64 KB topic, which is refused, costs
	// no more than a short one.
	room := 4*min(lmqLen(p.Topic), maxLMQLen) + 3
	dispatch, f := d.filters.appendDispatch(make([]byte, 0, room), p.Topic)
	if !f.ok() {
		return "", f.err(op, p.Topic, ErrInvalidTopic)
	}
	var extBuf [256]byte
	ext := appendExtData(extBuf[:0], p.QoS, p.UserProperties)
	empty := boolText(len(p.Payload) == 0)

	size := propLen(PropOriginTopic, len(p.Topic)) + propLen(d.qos, 1) +
		propLen(d.cleanSession, len(boolText(p.CleanSession))) + propLen(apacheEmpty, len(empty)) +
		propLen(apacheRetryTimes, 1) + propLen(PropExtData, len(ext)) +
		propLen(propertyTags, len(d.tag)) + propLen(PropDispatch, len(dispatch))
	if p.ClientID != "" {
		size += propLen(d.clientID, len(p.ClientID))
	}
	if size > maxPropertiesLen {
		return "", newError(op, p.Topic, "topic, client ID, user properties and queues pass RocketMQ's 32767-byte limit on properties", ErrInvalidProperty)
	}

	dst.WithProperty(PropOriginTopic, p.Topic)
	dst.WithProperty(d.qos, p.QoS.String())
	dst.WithProperty(d.cleanSession, boolText(p.CleanSession))
	if p.ClientID != "" {
		dst.WithProperty(d.clientID, p.ClientID)
	}
	dst.WithProperty(apacheEmpty, empty)
	dst.WithProperty(apacheRetryTimes, "0")
	dst.WithProperty(PropExtData, string(ext))
	dst.WithProperty(propertyTags, d.tag)
	dst.WithProperty(PropDispatch, string(dispatch))
	return parent, nil
}

// fromRocketMQLMQ reads a message as Apache RocketMQ-MQTT does.
func (d *Dialect) fromRocketMQLMQ(topic string, src Properties, payload []byte) (Publish, error) {
	const op = "FromRocketMQ"
	if isNil(src) {
		return Publish{}, errNilMessage(op)
	}
	if f := checkParent(topic); !f.ok() {
		return Publish{}, f.err(op, topic, ErrInvalidTopic)
	}
	ext, err := parseExtData(op, src.GetProperty(PropExtData))
	if err != nil {
		return Publish{}, err
	}
	p := Publish{Payload: payload, UserProperties: ext.user}
	if p.Topic, err = d.topicOfLMQ(op, topic, src, ext); err != nil {
		return Publish{}, err
	}
	if p.QoS, err = d.qosOfLMQ(op, src, ext); err != nil {
		return Publish{}, err
	}
	if p.CleanSession, err = d.cleanSessionOf(op, src); err != nil {
		return Publish{}, err
	}
	if p.ClientID, err = d.clientIDOf(op, src); err != nil {
		return Publish{}, err
	}
	// Boolean.parseBoolean: "true" in any case; anything else is false.
	if strings.EqualFold(src.GetProperty(apacheEmpty), "true") && string(payload) == emptyPayload {
		p.Payload = payload[:0]
	}
	return p, nil
}

// topicOfLMQ finds the delivered topic of an Apache message.
func (d *Dialect) topicOfLMQ(op, topic string, src Properties, ext extData) (string, error) {
	for _, c := range [...]struct{ key, value string }{
		{PropExtData + "." + PropRealTopic, ext.realTopic},
		{PropRealTopic, src.GetProperty(PropRealTopic)},
		{PropOriginTopic, src.GetProperty(PropOriginTopic)},
	} {
		if c.value != "" {
			if f := checkName(c.value); !f.ok() {
				return "", f.errKey(op, c.key, c.value)
			}
			return c.value, nil
		}
	}
	if list := src.GetProperty(PropDispatch); list != "" {
		return topicOfDispatch(op, topic, list)
	}
	// Neither dialect's topic: read the hosted one's subtopic, if any, and
	// check the topic it makes, as the hosted reader does.
	second := src.GetProperty(PropSecondTopic)
	if second != "" {
		if f := checkSecondChars(second); !f.ok() {
			return "", f.errKey(op, PropSecondTopic, second)
		}
	}
	joined := topic + second
	if f := checkName(joined); !f.ok() {
		return "", f.errKey(op, PropSecondTopic, second)
	}
	return joined, nil
}

// topicOfDispatch reads the topic from the queues a message was dispatched
// to, as RocketMQ-MQTT does for a message from a RocketMQ producer: from a
// queue that is not a wildcard filter's. RocketMQ-MQTT takes the last such
// queue of a list its producer built from a set, in no order; this takes the
// first, which is the topic's own in the lists FilterSet.AppendDispatch
// writes.
func topicOfDispatch(op, topic, list string) (string, error) {
	p2p := ""
	for rest := list; rest != ""; {
		var q string
		q, rest = cutQueue(rest)
		if isWildcardQueue(q) {
			continue
		}
		if strings.HasPrefix(q, p2pQueuePrefix) {
			if p2p == "" {
				p2p = q
			}
			continue
		}
		t, f := parseLMQ(q)
		if !f.ok() {
			return "", f.errKey(op, PropDispatch, q)
		}
		return t, nil
	}
	if p2p != "" {
		// A P2P message reaches its target on {parent}/p2p/{clientID}.
		id, ok := parseP2PQueue(p2p)
		t := topic + p2pLevel + id
		if !ok || !checkName(t).ok() {
			return "", finding{probNoP2PTopic, -1}.errKey(op, PropDispatch, p2p)
		}
		return t, nil
	}
	return "", newError(op, list, PropDispatch+": no queue names a topic", ErrInvalidProperty)
}

// qosOfLMQ reads an Apache message's QoS: qosLevel, qoslevel, then extData's.
func (d *Dialect) qosOfLMQ(op string, m Properties, ext extData) (QoS, error) {
	if _, v := either(m, d.qos, d.qosAlt); v != "" || ext.qos == "" {
		return d.qosOf(op, m)
	}
	q, ok := parseQoS(ext.qos)
	if !ok {
		return 0, newError(op, ext.qos, PropExtData+"."+apacheQoS+` must be "0", "1" or "2"`, ErrInvalidProperty)
	}
	return q, nil
}
