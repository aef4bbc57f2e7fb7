package mqttrmq

// Publish is one MQTT PUBLISH as the mapping sees it: what a device sent, or
// what MQTT clients are delivered.
type Publish struct {
	Topic        string // the MQTT topic name
	QoS          QoS
	Retain       bool
	ClientID     string // the sender's client ID; "" when a backend sent it
	CleanSession bool   // the sender's session: clean (true) or persistent
	Payload      []byte // passed through byte for byte, never copied or re-encoded

	// UserProperties are the MQTT 5 user properties, in order, duplicates
	// kept; nil when there are none (MQTT 3.1.1 has none). An empty list is
	// not written and reads back as nil.
	UserProperties []UserProperty
}

// ToRocketMQ maps a device's PUBLISH onto a RocketMQ message: it returns the
// RocketMQ topic (the first level of p.Topic) and writes to dst the
// properties the hosted service writes: qoslevel and cleansessionflag always,
// clientId when p.ClientID is set, mqttSecondTopic when p.Topic has more than
// one level, mqttRetain when p.Retain is set, and mqtt5UserProperty when
// p.UserProperties has any. The payload is the message body, which the
// caller sets.
//
// It validates everything before it writes anything, so on error dst is
// untouched. It refuses, with an error wrapping
//   - ErrInvalidTopic, what SplitTopic refuses;
//   - ErrInvalidProperty, a nil dst, a QoS above 2, a client ID holding a
//     control character or invalid UTF-8 (a \x01 or \x02 would inject or
//     drop RocketMQ properties), user properties ValidateUserProperties
//     refuses, and properties that would pass RocketMQ's 32767-byte limit on
//     their own.
//
// (*Dialect).ToRocketMQ maps in another dialect.
func ToRocketMQ(p Publish, dst Properties) (topic string, err error) {
	return hosted.toRocketMQ(p, dst)
}

// ToRocketMQ maps a device's PUBLISH onto a RocketMQ message in the dialect
// d, and returns the RocketMQ topic, the first level of p.Topic. The
// AlibabaCloud dialect writes what the package-level ToRocketMQ writes.
//
// The ApacheRocketMQMQTT dialect writes what RocketMQ-MQTT's
// LmqQueueStoreManager writes for a client's publish: originMqttTopic (the
// whole topic), qosLevel, cleanSessionFlag, clientId when p.ClientID is set,
// IS_EMPTY_MSG ("true" for an empty payload, else "false"), retryTimes "0",
// extData (a JSON object of qosLevel and the user properties), the tag
// MQTT_COMMON, and INNER_MULTI_DISPATCH listing the queues of
// FilterSet.Queues for the filters configured with WithFilters. It writes no
// retain flag: RocketMQ-MQTT keeps retained messages in its own store, and
// clears the flag on what it sends.
//
// It validates everything before it writes anything, so on error dst is
// untouched. It refuses what the package-level ToRocketMQ refuses and, in
// the Apache dialect, with an error wrapping ErrInvalidTopic a topic whose
// queue LMQQueue cannot name and a malformed P2P topic (see
// FilterSet.Queues), and with an error wrapping ErrInvalidProperty a user
// property key given twice (extData holds one value per key).
func (d *Dialect) ToRocketMQ(p Publish, dst Properties) (topic string, err error) {
	if d = d.or(); d.lmq {
		return d.toRocketMQLMQ(p, dst)
	}
	return d.toRocketMQ(p, dst)
}

// propLen is what one property costs on the wire: key, value and two
// separators.
func propLen(key string, valueLen int) int { return len(key) + valueLen + 2 }

// checkPublish validates, for either dialect's ToRocketMQ, what every
// uplink must be: a message to write to, a topic with a parent, a QoS, a
// client ID free of control characters, and user properties that can be
// carried (oneValuePerKey where they travel as a JSON object).
func (d *Dialect) checkPublish(op string, p Publish, dst Properties, oneValuePerKey bool) (parent, second string, err error) {
	if isNil(dst) {
		return "", "", errNilMessage(op)
	}
	parent, second, f := splitTopic(p.Topic)
	if !f.ok() {
		return "", "", f.err(op, p.Topic, ErrInvalidTopic)
	}
	if !p.QoS.Valid() {
		return "", "", newError(op, p.QoS.String(), "QoS must be 0, 1 or 2", ErrInvalidProperty)
	}
	if p.ClientID != "" {
		if f := scan(p.ClientID, scanText); !f.ok() {
			return "", "", f.errKey(op, d.clientID, p.ClientID)
		}
	}
	if err := checkUserProperties(op, p.UserProperties, oneValuePerKey); err != nil {
		return "", "", err
	}
	return parent, second, nil
}

func (d *Dialect) toRocketMQ(p Publish, dst Properties) (string, error) {
	const op = "ToRocketMQ"
	parent, second, err := d.checkPublish(op, p, dst, false)
	if err != nil {
		return "", err
	}
	size := propLen(d.qos, 1) + propLen(d.cleanSession, len(boolText(p.CleanSession)))
	if p.ClientID != "" {
		size += propLen(d.clientID, len(p.ClientID))
	}
	if second != "" {
		size += propLen(d.secondTopic, len(second))
	}
	if p.Retain {
		size += propLen(d.retain, len("true"))
	}
	if len(p.UserProperties) > 0 {
		size += propLen(d.userProperties, userPropertiesJSONLen(p.UserProperties))
	}
	if size > maxPropertiesLen {
		return "", newError(op, p.Topic, "topic, client ID, retain flag and user properties pass RocketMQ's 32767-byte limit on properties", ErrInvalidProperty)
	}

	dst.WithProperty(d.qos, p.QoS.String())
	dst.WithProperty(d.cleanSession, boolText(p.CleanSession))
	if p.ClientID != "" {
		dst.WithProperty(d.clientID, p.ClientID)
	}
	if second != "" {
		dst.WithProperty(d.secondTopic, second)
	}
	if p.Retain {
		dst.WithProperty(d.retain, "true")
	}
	if len(p.UserProperties) > 0 {
		dst.WithProperty(d.userProperties, string(appendUserPropertiesArray(nil, p.UserProperties)))
	}
	return parent, nil
}

// FromRocketMQ maps a RocketMQ message onto what MQTT clients are delivered:
// the topic is mqttRealTopic when set, else topic + mqttSecondTopic; QoS,
// clean session, retain, the sender's client ID and the user properties come
// from their properties (absent QoS is 1, absent clean session is true); the
// payload is passed through, not copied.
//
// It refuses, with an error wrapping
//   - ErrInvalidTopic, a topic that ValidateParentTopic refuses;
//   - ErrInvalidProperty, a nil src, an mqttSecondTopic that does not start
//     with '/', an mqttRealTopic or joined topic that ValidateTopicName
//     refuses, a QoS, clean-session or retain value it cannot read, a
//     clientId holding a control character or invalid UTF-8, and an
//     mqtt5UserProperty that UserPropertiesOf refuses.
//
// For a P2P message the delivered topic may be mqttRealTopic; P2PTargetOf
// tells whom it is addressed to. (*Dialect).FromRocketMQ reads another
// dialect.
func FromRocketMQ(topic string, src Properties, payload []byte) (Publish, error) {
	return hosted.fromRocketMQ(topic, src, payload)
}

// FromRocketMQ maps a RocketMQ message onto what MQTT clients are delivered,
// reading it in the dialect d. The AlibabaCloud dialect reads as the
// package-level FromRocketMQ does.
//
// The ApacheRocketMQMQTT dialect reads as RocketMQ-MQTT's
// LmqQueueStoreManager and PushAction do. The topic is mqttRealTopic (a
// member of extData, or failing that a property), else originMqttTopic, else
// the first queue of INNER_MULTI_DISPATCH that is neither a wildcard filter's
// nor a P2P queue, read with ParseLMQQueue (a P2P queue alone gives
// {topic}/p2p/{clientID}), else topic + mqttSecondTopic. The QoS is qosLevel,
// else qoslevel, else extData's qosLevel, else 1; clean session is
// cleanSessionFlag, else cleansessionflag, else true; the user properties are
// the members of extData other than the mapping's own. Retain is false. A
// payload RocketMQ-MQTT wrote for an empty one (IS_EMPTY_MSG "true" and its
// placeholder body) is delivered empty.
//
// It refuses what the package-level FromRocketMQ refuses and, with an error
// wrapping ErrInvalidProperty, an originMqttTopic that ValidateTopicName
// refuses, an INNER_MULTI_DISPATCH queue it falls back on that ParseLMQQueue
// refuses, and an extData that UserPropertiesOf refuses.
func (d *Dialect) FromRocketMQ(topic string, src Properties, payload []byte) (Publish, error) {
	if d = d.or(); d.lmq {
		return d.fromRocketMQLMQ(topic, src, payload)
	}
	return d.fromRocketMQ(topic, src, payload)
}

func (d *Dialect) fromRocketMQ(topic string, src Properties, payload []byte) (Publish, error) {
	const op = "FromRocketMQ"
	if isNil(src) {
		return Publish{}, errNilMessage(op)
	}
	if f := checkParent(topic); !f.ok() {
		return Publish{}, f.err(op, topic, ErrInvalidTopic)
	}
	second := src.GetProperty(d.secondTopic)
	if second != "" {
		if f := checkSecondChars(second); !f.ok() {
			return Publish{}, f.errKey(op, d.secondTopic, second)
		}
	}
	p := Publish{Payload: payload}
	if real := src.GetProperty(d.realTopic); real != "" {
		if f := checkName(real); !f.ok() {
			return Publish{}, f.errKey(op, d.realTopic, real)
		}
		p.Topic = real
	} else {
		p.Topic = topic + second
		if f := checkName(p.Topic); !f.ok() {
			return Publish{}, f.errKey(op, d.secondTopic, second)
		}
	}
	var err error
	if p.QoS, err = d.qosOf(op, src); err != nil {
		return Publish{}, err
	}
	if p.CleanSession, err = d.cleanSessionOf(op, src); err != nil {
		return Publish{}, err
	}
	if p.Retain, err = parseBool(op, d.retain, src.GetProperty(d.retain), false); err != nil {
		return Publish{}, err
	}
	if p.ClientID, err = d.clientIDOf(op, src); err != nil {
		return Publish{}, err
	}
	if p.UserProperties, err = parseUserPropertiesArray(op, src.GetProperty(d.userProperties)); err != nil {
		return Publish{}, err
	}
	return p, nil
}

// clientIDOf reads and checks the sender's client ID.
func (d *Dialect) clientIDOf(op string, src Properties) (string, error) {
	id := src.GetProperty(d.clientID)
	if id != "" {
		if f := scan(id, scanText); !f.ok() {
			return "", f.errKey(op, d.clientID, id)
		}
	}
	return id, nil
}
