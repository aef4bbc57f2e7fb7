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
}

// ToRocketMQ maps a device's PUBLISH onto a RocketMQ message: it returns the
// RocketMQ topic (the first level of p.Topic) and writes to dst the
// properties the hosted service writes: qoslevel and cleansessionflag always,
// clientId when p.ClientID is set, mqttSecondTopic when p.Topic has more than
// one level, and mqttRetain when p.Retain is set. The payload is the
// message body, which the caller sets.
//
// It validates everything before it writes anything, so on error dst is
// untouched. It refuses, with an error wrapping
//   - ErrInvalidTopic, what SplitTopic refuses;
//   - ErrInvalidProperty, a nil dst, a QoS above 2, a client ID holding a
//     control character or invalid UTF-8 (a \x01 or \x02 would inject or
//     drop RocketMQ properties), and properties that would pass RocketMQ's
//     32767-byte limit on their own.
func ToRocketMQ(p Publish, dst Properties) (topic string, err error) {
	return hosted.toRocketMQ(p, dst)
}

func (k *keys) toRocketMQ(p Publish, dst Properties) (string, error) {
	const op = "ToRocketMQ"
	if dst == nil {
		return "", errNilMessage(op)
	}
	parent, second, f := splitTopic(p.Topic)
	if !f.ok() {
		return "", f.err(op, p.Topic, ErrInvalidTopic)
	}
	if !p.QoS.Valid() {
		return "", newError(op, p.QoS.String(), "QoS must be 0, 1 or 2", ErrInvalidProperty)
	}
	if p.ClientID != "" {
		if f := scan(p.ClientID, scanText); !f.ok() {
			return "", f.errKey(op, k.clientID, p.ClientID)
		}
	}
	// Each property costs key + value + two separators on the wire.
	size := len(k.qos) + 1 + len(k.cleanSession) + len("false") + 4
	if p.ClientID != "" {
		size += len(k.clientID) + len(p.ClientID) + 2
	}
	if second != "" {
		size += len(k.secondTopic) + len(second) + 2
	}
	if size > maxPropertiesLen {
		return "", newError(op, p.Topic, "topic and client ID pass RocketMQ's 32767-byte limit on properties", ErrInvalidProperty)
	}

	dst.WithProperty(k.qos, p.QoS.String())
	dst.WithProperty(k.cleanSession, boolText(p.CleanSession))
	if p.ClientID != "" {
		dst.WithProperty(k.clientID, p.ClientID)
	}
	if second != "" {
		dst.WithProperty(k.secondTopic, second)
	}
	if p.Retain {
		dst.WithProperty(k.retain, "true")
	}
	return parent, nil
}

// FromRocketMQ maps a RocketMQ message onto what MQTT clients are delivered:
// the topic is mqttRealTopic when set, else topic + mqttSecondTopic; QoS,
// clean session, retain and the sender's client ID come from their properties
// (absent QoS is 1, absent clean session is true); the payload is passed
// through, not copied.
//
// It refuses, with an error wrapping
//   - ErrInvalidTopic, a topic that ValidateParentTopic refuses;
//   - ErrInvalidProperty, a nil src, an mqttSecondTopic that does not start
//     with '/', an mqttRealTopic or joined topic that ValidateTopicName
//     refuses, a QoS, clean-session or retain value it cannot read, and a
//     clientId holding a control character or invalid UTF-8.
//
// For a P2P message the delivered topic may be mqttRealTopic; P2PTargetOf
// tells whom it is addressed to.
func FromRocketMQ(topic string, src Properties, payload []byte) (Publish, error) {
	return hosted.fromRocketMQ(topic, src, payload)
}

func (k *keys) fromRocketMQ(topic string, src Properties, payload []byte) (Publish, error) {
	const op = "FromRocketMQ"
	if src == nil {
		return Publish{}, errNilMessage(op)
	}
	if f := checkParent(topic); !f.ok() {
		return Publish{}, f.err(op, topic, ErrInvalidTopic)
	}
	second := src.GetProperty(k.secondTopic)
	if second != "" {
		if f := checkSecondChars(second); !f.ok() {
			return Publish{}, f.errKey(op, k.secondTopic, second)
		}
	}
	p := Publish{Payload: payload}
	if real := src.GetProperty(k.realTopic); real != "" {
		if f := checkName(real); !f.ok() {
			return Publish{}, f.errKey(op, k.realTopic, real)
		}
		p.Topic = real
	} else {
		p.Topic = topic + second
		if f := checkName(p.Topic); !f.ok() {
			return Publish{}, f.errKey(op, k.secondTopic, second)
		}
	}
	var err error
	if p.QoS, err = k.qosOf(op, src); err != nil {
		return Publish{}, err
	}
	if p.CleanSession, err = k.cleanSessionOf(op, src); err != nil {
		return Publish{}, err
	}
	if p.Retain, err = parseBool(op, k.retain, src.GetProperty(k.retain), false); err != nil {
		return Publish{}, err
	}
	if p.ClientID = src.GetProperty(k.clientID); p.ClientID != "" {
		if f := scan(p.ClientID, scanText); !f.ok() {
			return Publish{}, f.errKey(op, k.clientID, p.ClientID)
		}
	}
	return p, nil
}
