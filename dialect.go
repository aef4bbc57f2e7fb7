package mqttrmq

// Dialect holds every property key, tag and rule of one way of writing the
// mapping. Two exist: AlibabaCloud, the hosted service's, which the
// package-level functions use, and ApacheRocketMQMQTT, the open-source proxy's.
// The dialects differ in what they write; they read alike, each accepting
// every spelling the other writes and refusing a message whose spellings
// disagree, so that a message has one reading (see FromRocketMQ).
//
// A Dialect is immutable and safe for concurrent use; WithFilters returns a
// configured copy. A nil *Dialect, and the zero Dialect, are AlibabaCloud.
type Dialect struct {
	name string

	qos, cleanSession, realTopic, clientID string
	// The other dialect's spellings, which setters rewrite where a message
	// holds them.
	qosAlt, cleanSessionAlt string

	secondTopic, retain string // the hosted dialect's; "" in the Apache one
	userProperties      string // where MQTT 5 user properties travel
	tag                 string

	// lmq marks Apache RocketMQ-MQTT's rules: the whole topic in
	// originMqttTopic, Light Message Queue dispatch, QoS and user
	// properties in extData.
	lmq     bool
	filters *FilterSet
}

func newAlibabaCloud() *Dialect {
	return &Dialect{
		name:            "alibaba-cloud",
		qos:             PropQoS,
		cleanSession:    PropCleanSession,
		realTopic:       PropRealTopic,
		clientID:        PropClientID,
		qosAlt:          apacheQoS,
		cleanSessionAlt: apacheCleanSession,
		secondTopic:     PropSecondTopic,
		retain:          PropRetain,
		userProperties:  PropUserProperties,
		tag:             TagToMQTT,
	}
}

func newApacheRocketMQMQTT() *Dialect {
	return &Dialect{
		name:            "apache-rocketmq-mqtt",
		qos:             apacheQoS,
		cleanSession:    apacheCleanSession,
		realTopic:       PropRealTopic,
		clientID:        PropClientID,
		qosAlt:          PropQoS,
		cleanSessionAlt: PropCleanSession,
		userProperties:  PropExtData,
		tag:             TagMQTTCommon,
		lmq:             true,
	}
}

// The dialects ParseDialect returns: the values AlibabaCloud and
// ApacheRocketMQMQTT are first given, so that d == mqttrmq.ApacheRocketMQMQTT
// holds for a parsed d.
var (
	alibabaCloud       = newAlibabaCloud()
	apacheRocketMQMQTT = newApacheRocketMQMQTT()
)

var (
	// AlibabaCloud is the dialect of Alibaba Cloud's MQTT service (SPEC §3):
	// qoslevel, cleansessionflag, clientId, mqttSecondTopic for the levels
	// after the first, mqttRetain, mqtt5UserProperty and the tag MQ2MQTT. It is
	// the default: the package-level functions speak it.
	AlibabaCloud = alibabaCloud

	// ApacheRocketMQMQTT is the dialect of Apache RocketMQ-MQTT, the
	// open-source MQTT proxy of RocketMQ 5: originMqttTopic for the whole
	// topic, qosLevel, cleanSessionFlag, clientId, extData for the QoS, the
	// user properties and MQTT 5's other message properties (which
	// RocketMQ-MQTT itself, an MQTT 3.1.1 server, does not carry; see the
	// package documentation), the tag MQTT_COMMON, and INNER_MULTI_DISPATCH naming
	// the Light Message Queues of the topic and of every matching wildcard
	// filter (see WithFilters). It carries no retain flag: RocketMQ-MQTT keeps
	// retained messages in its own store.
	ApacheRocketMQMQTT = apacheRocketMQMQTT
)

// hosted is the package-level functions' dialect. It is a copy of its own,
// so that reassigning AlibabaCloud, or the value it points to, changes nothing
// here.
var hosted = newAlibabaCloud()

// ParseDialect returns the dialect String names, "alibaba-cloud" or
// "apache-rocketmq-mqtt", for a command-line flag or a configuration file:
// AlibabaCloud or ApacheRocketMQMQTT itself, so that a parsed dialect compares
// equal to the variable (d == mqttrmq.ApacheRocketMQMQTT); a copy WithFilters
// made does not, and Is tells which dialect it is. It refuses any other name
// with an error wrapping ErrInvalidDialect.
func ParseDialect(name string) (*Dialect, error) {
	switch name {
	case alibabaCloud.name:
		return alibabaCloud, nil
	case apacheRocketMQMQTT.name:
		return apacheRocketMQMQTT, nil
	}
	return nil, newError("ParseDialect", name, `want "alibaba-cloud" or "apache-rocketmq-mqtt"`, ErrInvalidDialect)
}

// or returns the dialect d stands for: nil and the zero Dialect are the
// default.
func (d *Dialect) or() *Dialect {
	if d == nil || d.name == "" {
		return hosted
	}
	return d
}

// String returns the dialect's name, which ParseDialect reads.
func (d *Dialect) String() string { return d.or().name }

// Is reports whether d is the dialect other, or a copy of it WithFilters
// made: d.Is(mqttrmq.ApacheRocketMQMQTT) whatever filters d was given. A nil
// or zero Dialect is AlibabaCloud.
func (d *Dialect) Is(other *Dialect) bool { return d.or().name == other.or().name }

// WithFilters returns a copy of d that, in the Apache dialect, dispatches
// every message to the queues of the matching filters of fs as well as to its
// topic's own queue (see FilterSet). fs is shared, not copied: filters added
// to it later take effect at once. A nil fs dispatches to the topic's queue
// alone. The hosted dialect writes no queues: it uses fs only where a setter
// rewrites the INNER_MULTI_DISPATCH a message already has.
func (d *Dialect) WithFilters(fs *FilterSet) *Dialect {
	c := *d.or()
	c.filters = fs
	return &c
}

// Filters returns the filter set WithFilters configured, or nil.
func (d *Dialect) Filters() *FilterSet { return d.or().filters }

// DownlinkTag returns the RocketMQ tag a backend puts on a message for MQTT
// clients in the dialect. In the hosted one it is TagToMQTT, MQ2MQTT, without
// which the service delivers nothing; devices' messages carry another. In
// the Apache one it is TagMQTTCommon, MQTT_COMMON, which RocketMQ-MQTT puts
// on every message it writes, both ways, and which its RocketMQ consumers
// subscribe to: it delivers by INNER_MULTI_DISPATCH, whatever the tag.
func (d *Dialect) DownlinkTag() string { return d.or().tag }

// QoSKey returns the key of the QoS property: qoslevel or qosLevel.
func (d *Dialect) QoSKey() string { return d.or().qos }

// CleanSessionKey returns the key of the clean-session property:
// cleansessionflag or cleanSessionFlag.
func (d *Dialect) CleanSessionKey() string { return d.or().cleanSession }

// ClientIDKey returns the key of the sender's client ID: clientId in both.
func (d *Dialect) ClientIDKey() string { return d.or().clientID }

// TopicKey returns the key that carries the MQTT topic beyond the RocketMQ
// topic: mqttSecondTopic (the levels after the first) or originMqttTopic (the
// whole topic).
func (d *Dialect) TopicKey() string {
	if d := d.or(); d.lmq {
		return PropOriginTopic
	}
	return PropSecondTopic
}

// UserPropertiesKey returns the key that carries MQTT 5 user properties:
// mqtt5UserProperty (a JSON array) or extData (a JSON object).
func (d *Dialect) UserPropertiesKey() string { return d.or().userProperties }

// QoSOf reads the QoS of a message, as the package-level QoSOf does: both
// dialects read alike.
func (d *Dialect) QoSOf(m Properties) (QoS, error) { return readQoS("QoSOf", m) }

// CleanSessionOf reads the clean-session flag of a message, as the
// package-level CleanSessionOf does: both dialects read alike.
func (d *Dialect) CleanSessionOf(m Properties) (bool, error) {
	return readCleanSession("CleanSessionOf", m)
}

// ClientIDOf returns the client ID of the device that sent the message, ""
// when absent. FromRocketMQ checks it; this accessor does not.
func (d *Dialect) ClientIDOf(m Properties) string { return get(m, d.or().clientID) }

// P2PTargetOf returns the client ID a message is addressed to point to
// point, as the package-level P2PTargetOf does: both dialects read alike.
func (d *Dialect) P2PTargetOf(m Properties) (clientID string, ok bool) { return P2PTargetOf(m) }
