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
)

// TagToMQTT is the RocketMQ tag a backend message meant for MQTT clients
// must carry: the gateway delivers nothing without it.
const TagToMQTT = "MQ2MQTT"

// keys names the properties of one dialect of the mapping in one place, so
// that every reader and writer of the package takes its key names from here.
type keys struct {
	qos, cleanSession, secondTopic, realTopic, clientID, retain string
	// Readers also accept these spellings, which Apache RocketMQ-MQTT uses.
	qosAlt, cleanSessionAlt string
}

// hosted is the hosted service's dialect, the default.
var hosted = keys{
	qos:             PropQoS,
	cleanSession:    PropCleanSession,
	secondTopic:     PropSecondTopic,
	realTopic:       PropRealTopic,
	clientID:        PropClientID,
	retain:          PropRetain,
	qosAlt:          "qosLevel",
	cleanSessionAlt: "cleanSessionFlag",
}
