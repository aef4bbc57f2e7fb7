package mqttrmq

import "time"

// Publish is one MQTT PUBLISH as the mapping sees it: what a device sent, or
// what MQTT clients are delivered.
//
// A field's zero value means what an absent property means, so that a
// Publish{Topic: t} that a backend builds is an ordinary message: a clean
// session, no retain flag, no sender, no user properties. The QoS is the
// exception, because MQTT has no absent QoS: every PUBLISH has one, and the
// zero QoS is AtMostOnce (a message without qoslevel reads as AtLeastOnce,
// but ToRocketMQ always writes one).
type Publish struct {
	Topic    string // the MQTT topic name
	QoS      QoS
	Retain   bool
	ClientID string // the sender's client ID; "" when a backend sent it

	// PersistentSession is true when the sender's session is persistent
	// (MQTT's clean session false, cleansessionflag "false"); the zero
	// value is a clean session, as an absent cleansessionflag means.
	PersistentSession bool

	Payload []byte // passed through byte for byte, never copied or re-encoded

	// UserProperties are the MQTT 5 user properties, in order, duplicates
	// kept; nil when there are none (MQTT 3.1.1 has none). An empty list is
	// not written and reads back as nil.
	UserProperties []UserProperty

	// The rest of MQTT 5's message properties [MQTT-3.3.2.3], which reach
	// every receiver as sent (MQTT 3.1.1 has none). Each zero value is
	// absent, and absent stays absent: nothing is written for it.

	// MessageExpiry is the Message Expiry Interval: the zero Expiry is
	// none, and the message never expires; ExpiresAfter(0) is an interval
	// of 0 seconds. See ExpiryLeft for what is left of it on delivery.
	MessageExpiry Expiry
	// PayloadUTF8 is the Payload Format Indicator: true when the payload
	// is declared UTF-8 (1), false for unspecified bytes (0), which is what
	// an absent indicator means too.
	PayloadUTF8 bool
	// ContentType describes the payload, typically a MIME type; "" is
	// absent.
	ContentType string
	// ResponseTopic is the topic name a request wants its answer on; "" is
	// absent.
	ResponseTopic string
	// CorrelationData ties an answer to its request: any bytes, nil when
	// absent. RocketMQ carries no empty property value, so empty
	// Correlation Data, which MQTT allows and no client library sends, is
	// not written, and reads back as nil. (So are an empty Content Type
	// and Response Topic: "" is absent.)
	CorrelationData []byte

	// Born is when the message was sent to RocketMQ, by the sending host's
	// clock, the moment its Message Expiry Interval counts from:
	// FromRocketMQ reads it from a received *primitive.MessageExt (see
	// BornTime) and leaves it zero for a message that does not say, for the
	// caller to set from what does. ToRocketMQ does not write it: the
	// producer stamps every message it sends.
	Born time.Time
}

// ToRocketMQ maps a device's PUBLISH onto a RocketMQ message: it returns the
// RocketMQ topic (the first level of p.Topic) and writes to dst the
// properties the hosted service writes: qoslevel and cleansessionflag always,
// clientId when p.ClientID is set, mqttSecondTopic when p.Topic has more than
// one level, mqttRetain when p.Retain is set, mqtt5UserProperty when
// p.UserProperties has any, and each of the other MQTT 5 message
// properties p carries under its key (PropMessageExpiry, PropContentType,
// PropPayloadFormat, PropResponseTopic, PropCorrelationData; see
// Publish). The payload is the message body, which the
// caller sets. The topic returned is the bare parent topic: a producer
// created with a RocketMQ namespace adds the namespace when it sends (see
// SplitNamespace and NamespaceTopic).
//
// It validates everything before it writes anything, so on error dst is
// untouched. It refuses, with an error wrapping
//   - ErrInvalidTopic, what SplitTopic refuses;
//   - ErrInvalidProperty, a nil dst, a QoS above 2, a client ID holding a
//     control character or invalid UTF-8 (a \x01 or \x02 would inject or
//     drop RocketMQ properties), user properties ValidateUserProperties
//     refuses, a payload declared UTF-8 (p.PayloadUTF8) that is not
//     [MQTT-3.3.2-4], a content type that ValidateUserProperties would
//     refuse as a value (invalid UTF-8, a control character, over 65535
//     bytes), a response topic that ValidateTopicName refuses (wildcards
//     included [MQTT-3.3.2-14]), correlation data over 65535 bytes, and
//     properties that take more than 31743 bytes: RocketMQ
//     carries 32767 bytes of properties, and 1024 are left for those the
//     producer and the broker add (UNIQ_KEY, CLUSTER, and those of a retry)
//     and for the caller's tag and keys. dst is counted as if it were
//     empty, as a new message is.
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
// extData (a JSON object of qosLevel, the MQTT 5 message properties p
// carries under their keys, and the user properties), the tag
// MQTT_COMMON, and INNER_MULTI_DISPATCH listing the queues of
// FilterSet.Queues for the filters configured with WithFilters. It writes no
// retain flag: RocketMQ-MQTT keeps retained messages in its own store, and
// clears the flag on what it sends.
//
// It validates everything before it writes anything, so on error dst is
// untouched. It refuses what the package-level ToRocketMQ refuses and, in
// the Apache dialect, properties that leave no room for the offsets the
// broker writes into INNER_MULTI_QUEUE_OFFSET when it stores the message
// (20 bytes a queue, and 25 more, out of the 31743), with an error wrapping
// ErrInvalidProperty; with an error wrapping ErrInvalidTopic a topic whose
// queue LMQQueue cannot name and a malformed P2P topic (see
// FilterSet.Queues), and with an error wrapping ErrInvalidProperty a user
// property key given twice (extData holds one value per key).
func (d *Dialect) ToRocketMQ(p Publish, dst Properties) (topic string, err error) {
	if d = d.or(); d.lmq {
		return d.toRocketMQLMQ(p, dst)
	}
	return d.toRocketMQ(p, dst)
}

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
	if hasMQTT5(&p) {
		if err := checkMQTT5(op, &p); err != nil {
			return "", "", err
		}
	}
	return parent, second, nil
}

func (d *Dialect) toRocketMQ(p Publish, dst Properties) (string, error) {
	const op = "ToRocketMQ"
	parent, second, err := d.checkPublish(op, p, dst, false)
	if err != nil {
		return "", err
	}
	size := propLen(d.qos, 1) + propLen(d.cleanSession, len(boolText(!p.PersistentSession)))
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
	var mqtt5 [numMQTT5]string
	if hasMQTT5(&p) {
		mqtt5 = mqtt5Values(&p)
		size += mqtt5Len(&mqtt5)
	}
	if size > maxMappedLen {
		return "", errTooLarge(op, p.Topic, size)
	}

	dst.WithProperty(d.qos, p.QoS.String())
	dst.WithProperty(d.cleanSession, boolText(!p.PersistentSession))
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
	for i, v := range mqtt5 {
		if v != "" {
			dst.WithProperty(mqtt5Keys[i], v)
		}
	}
	return parent, nil
}

// FromRocketMQ maps a RocketMQ message onto what MQTT clients are delivered.
// topic is the message's RocketMQ topic, the parent topic, or
// {namespace}%{parent} as a consumer with a namespace hands it over (see
// SplitNamespace): the namespace is no part of the MQTT topic.
//
// The topic delivered is mqttRealTopic when the message has one (a property,
// or a member of extData), else the topic the message is addressed to: topic
// + mqttSecondTopic, or originMqttTopic, or the one topic the queues of
// INNER_MULTI_DISPATCH name (see ParseLMQQueue; a client's P2P queue alone
// names {topic}/p2p/{clientID}), or topic itself. The QoS is qoslevel,
// qosLevel or extData's qosLevel, else 1; clean session is cleansessionflag
// or cleanSessionFlag, else true; retain is mqttRetain, else false; the user
// properties are mqtt5UserProperty or the members of extData that are not
// the mapping's (see UserPropertiesOf); the client ID is clientId; each of
// the other MQTT 5 message properties is its property (PropMessageExpiry
// and the others) or its member of extData, else absent; Born is the born
// time of a received *primitive.MessageExt (see BornTime), else zero. The
// payload is passed through, not copied, but for the placeholder Apache
// RocketMQ-MQTT writes for an empty payload (with IS_EMPTY_MSG "true"),
// which is delivered empty.
//
// Every spelling of both dialects is read, so that a message reads the same
// in either: where a message says one thing twice, as qoslevel and qosLevel,
// or as mqttSecondTopic and originMqttTopic, both must say the same, or the
// message is refused. Beside originMqttTopic, INNER_MULTI_DISPATCH must name
// its queue as RocketMQ-MQTT names it (a/b/ goes to the queue of a/b, and
// originMqttTopic says which it was). P2PTargetOf reads the address the same
// way.
//
// It refuses, with an error wrapping
//   - ErrInvalidTopic, a topic that SplitNamespace refuses;
//   - ErrInvalidProperty, a nil src; an mqttSecondTopic that does not start
//     with '/'; an originMqttTopic or mqttRealTopic that ValidateTopicName
//     refuses, or a joined topic it would; an address whose first level is
//     not topic; an INNER_MULTI_DISPATCH with a queue ParseLMQQueue refuses,
//     with no queue of a topic, or with the queues of two topics, of two
//     clients, or of a client and anything else; a QoS, clean-session or
//     retain value it cannot read; a clientId holding a control character or
//     invalid UTF-8; user properties UserPropertiesOf refuses; an MQTT 5
//     message property its reader refuses (see MessageExpiryOf,
//     PayloadUTF8Of, ContentTypeOf, ResponseTopicOf, CorrelationDataOf), and
//     a payload declared UTF-8 that is not [MQTT-3.3.2-4]; and any two
//     properties that disagree.
func FromRocketMQ(topic string, src Properties, payload []byte) (Publish, error) {
	return readPublish("FromRocketMQ", topic, src, payload)
}

// FromRocketMQ maps a RocketMQ message onto what MQTT clients are delivered,
// as the package-level FromRocketMQ does: both dialects read alike, each
// accepting what the other writes, so that one message has one reading.
func (d *Dialect) FromRocketMQ(topic string, src Properties, payload []byte) (Publish, error) {
	return readPublish("FromRocketMQ", topic, src, payload)
}
