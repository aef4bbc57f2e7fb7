package mqttrmq

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
	var mqtt5 [numMQTT5]string
	if hasMQTT5(&p) {
		mqtt5 = mqtt5Values(&p)
	}
	var extBuf [256]byte
	ext := appendExtData(extBuf[:0], p.QoS, &mqtt5, p.UserProperties)
	empty := boolText(len(p.Payload) == 0)

	size := propLen(PropOriginTopic, len(p.Topic)) + propLen(d.qos, 1) +
		propLen(d.cleanSession, len(boolText(!p.PersistentSession))) + propLen(apacheEmpty, len(empty)) +
		propLen(apacheRetryTimes, 1) + propLen(PropExtData, len(ext)) +
		propLen(propertyTags, len(d.tag)) + propLen(PropDispatch, len(dispatch))
	if p.ClientID != "" {
		size += propLen(d.clientID, len(p.ClientID))
	}
	if size += queueOffsetsLen(countQueues(dispatch)); size > maxMappedLen {
		return "", errTooLarge(op, p.Topic, size)
	}

	dst.WithProperty(PropOriginTopic, p.Topic)
	dst.WithProperty(d.qos, p.QoS.String())
	dst.WithProperty(d.cleanSession, boolText(!p.PersistentSession))
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
