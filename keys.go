package mqttrmq

// The message properties of the mapping, as the hosted service (Alibaba
// Cloud's MQTT service) names them. Keys are case-sensitive; values are strings.
const (
	// PropQoS holds the MQTT QoS, "0", "1" or "2". On a message a backend
	// sends, absent means QoS 1.
	PropQoS = "qoslevel"
	// PropCleanSession holds the clean-session flag, "true" or "false". On a
	// message a backend sends it matters for P2P only; absent means "true".
	PropCleanSession = "cleansessionflag"
	// PropSecondTopic holds every level of the MQTT topic after the first,
	// with its leading '/': "/live/100" for "ACE/live/100". Absent means the
	// parent topic itself.
	PropSecondTopic = "mqttSecondTopic"
	// PropRealTopic holds the whole MQTT topic name the receiving clients are
	// shown instead of the default, mostly for P2P messages.
	PropRealTopic = "mqttRealTopic"
	// PropClientID holds the client ID of the device that sent a message. A
	// backend cannot set it: the gateway writes it from the connection.
	PropClientID = "clientId"
	// PropRetain is "true" on a message published with MQTT's retain flag;
	// absent means false. The hosted service's SDK names it but does not
	// document it.
	PropRetain = "mqttRetain"
	// PropUserProperties holds the MQTT 5 user properties of a message on the
	// hosted service: a JSON array [{"key":"k","value":"v"}] of at most 8 KB,
	// in order, duplicate keys kept.
	PropUserProperties = "mqtt5UserProperty"
)

// The MQTT 5 message properties a PUBLISH carries to its receivers
// [MQTT-3.3.2.3], as the hosted service names them where it documents them
// (the first two) and as the mapping names the rest, in the same style. The
// hosted dialect writes them as message properties; the Apache one as members
// of extData (see ApacheRocketMQMQTT). Absent stays absent: none is written
// for a publish that does not carry it. No user property may take these keys.
const (
	// PropMessageExpiry holds the Message Expiry Interval [MQTT-3.3.2.3.3]
	// in seconds, decimal, 0 to 4294967295: a message waits for delivery no
	// longer than that after it was sent (see Expiry). Absent means it never
	// expires; "0" is an interval, not its absence. The hosted service takes
	// at most 65535, a quota (see HostedService).
	PropMessageExpiry = "mqtt5MsgExpireInterval"
	// PropContentType holds the Content Type [MQTT-3.3.2.3.9], a UTF-8
	// string such as a MIME type.
	PropContentType = "mqtt5ContentType"
	// PropPayloadFormat holds the Payload Format Indicator [MQTT-3.3.2.3.2]:
	// "1" when the payload is declared UTF-8. Absent, or "0", means
	// unspecified bytes; the mapping writes only "1".
	PropPayloadFormat = "mqtt5PayloadFormatIndicator"
	// PropResponseTopic holds the Response Topic [MQTT-3.3.2.3.5]: the topic
	// name a request wants its answer on.
	PropResponseTopic = "mqtt5ResponseTopic"
	// PropCorrelationData holds the Correlation Data [MQTT-3.3.2.3.6], which
	// ties an answer to its request: any bytes, in standard padded Base64
	// (RFC 4648 §4), since property values are strings.
	PropCorrelationData = "mqtt5CorrelationData"
)

// TagToMQTT is the RocketMQ tag a backend message meant for MQTT clients
// must carry on the hosted service: the gateway delivers nothing without it.
const TagToMQTT = "MQ2MQTT"

// The message properties Apache RocketMQ-MQTT adds to those above; it spells
// the QoS and clean-session keys qosLevel and cleanSessionFlag (see
// ApacheRocketMQMQTT).
const (
	// PropOriginTopic holds the whole MQTT topic name a message was published
	// to.
	PropOriginTopic = "originMqttTopic"
	// PropExtData holds a JSON object of string values: the QoS (qosLevel),
	// optionally mqttRealTopic, and the MQTT 5 user properties.
	PropExtData = "extData"
	// PropDispatch lists, comma-separated, the Light Message Queues the
	// broker dispatches a message to (RocketMQ's INNER_MULTI_DISPATCH): one
	// for the MQTT topic and one per matching wildcard filter; see LMQQueue.
	PropDispatch = "INNER_MULTI_DISPATCH"
)

// TagMQTTCommon is the tag Apache RocketMQ-MQTT puts on every message it
// writes; RocketMQ consumers of MQTT messages subscribe with it. Delivery to
// MQTT clients goes by PropDispatch, not by tag.
const TagMQTTCommon = "MQTT_COMMON"

// Keys of Apache RocketMQ-MQTT that have no exported name: the spellings of
// its Constants and Message classes.
const (
	apacheQoS          = "qosLevel"
	apacheCleanSession = "cleanSessionFlag"
	apacheEmpty        = "IS_EMPTY_MSG" // "true" when the MQTT payload was empty
	apacheRetryTimes   = "retryTimes"   // "0" on a message published by a client
	apacheNamespace    = "namespace"    // a key of extData, never a user property
)
