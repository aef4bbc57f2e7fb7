package broker

import "fmt"

// ReasonCode is an MQTT 5 reason code [MQTT-2.4]. The broker speaks MQTT 5's
// codes throughout and turns them into MQTT 3.1.1's return codes where a
// 3.1.1 packet has one (CONNACK, SUBACK); see v3ConnackCode.
type ReasonCode byte

// The reason codes the broker sends or a hook returns.
const (
	Success                     ReasonCode = 0x00 // also Normal disconnection, Granted QoS 0
	GrantedQoS1                 ReasonCode = 0x01
	GrantedQoS2                 ReasonCode = 0x02
	DisconnectWithWill          ReasonCode = 0x04
	NoMatchingSubscribers       ReasonCode = 0x10
	NoSubscriptionExisted       ReasonCode = 0x11
	UnspecifiedError            ReasonCode = 0x80
	MalformedPacket             ReasonCode = 0x81
	ProtocolError               ReasonCode = 0x82
	ImplementationSpecificError ReasonCode = 0x83
	UnsupportedProtocolVersion  ReasonCode = 0x84
	ClientIdentifierNotValid    ReasonCode = 0x85
	BadUsernameOrPassword       ReasonCode = 0x86
	NotAuthorized               ReasonCode = 0x87
	ServerUnavailable           ReasonCode = 0x88
	ServerBusy                  ReasonCode = 0x89
	Banned                      ReasonCode = 0x8A
	ServerShuttingDown          ReasonCode = 0x8B
	BadAuthenticationMethod     ReasonCode = 0x8C
	KeepAliveTimeout            ReasonCode = 0x8D
	SessionTakenOver            ReasonCode = 0x8E
	TopicFilterInvalid          ReasonCode = 0x8F
	TopicNameInvalid            ReasonCode = 0x90
	PacketIdentifierInUse       ReasonCode = 0x91
	PacketIdentifierNotFound    ReasonCode = 0x92
	ReceiveMaximumExceeded      ReasonCode = 0x93
	TopicAliasInvalid           ReasonCode = 0x94
	PacketTooLarge              ReasonCode = 0x95
	MessageRateTooHigh          ReasonCode = 0x96
	QuotaExceeded               ReasonCode = 0x97
	AdministrativeAction        ReasonCode = 0x98
	PayloadFormatInvalid        ReasonCode = 0x99
	RetainNotSupported          ReasonCode = 0x9A
	QoSNotSupported             ReasonCode = 0x9B
	UseAnotherServer            ReasonCode = 0x9C
	ServerMoved                 ReasonCode = 0x9D
	SharedSubsNotSupported      ReasonCode = 0x9E
	ConnectionRateExceeded      ReasonCode = 0x9F
	MaximumConnectTime          ReasonCode = 0xA0
	SubIDsNotSupported          ReasonCode = 0xA1
	WildcardSubsNotSupported    ReasonCode = 0xA2
)

// Failed reports whether the code is a refusal (0x80 and above).
func (c ReasonCode) Failed() bool { return c >= 0x80 }

var reasonNames = map[ReasonCode]string{
	Success: "success", GrantedQoS1: "granted QoS 1", GrantedQoS2: "granted QoS 2",
	DisconnectWithWill: "disconnect with will message", NoMatchingSubscribers: "no matching subscribers",
	NoSubscriptionExisted: "no subscription existed", UnspecifiedError: "unspecified error",
	MalformedPacket: "malformed packet", ProtocolError: "protocol error",
	ImplementationSpecificError: "implementation specific error", UnsupportedProtocolVersion: "unsupported protocol version",
	ClientIdentifierNotValid: "client identifier not valid", BadUsernameOrPassword: "bad user name or password",
	NotAuthorized: "not authorized", ServerUnavailable: "server unavailable", ServerBusy: "server busy",
	Banned: "banned", ServerShuttingDown: "server shutting down", BadAuthenticationMethod: "bad authentication method",
	KeepAliveTimeout: "keep alive timeout", SessionTakenOver: "session taken over",
	TopicFilterInvalid: "topic filter invalid", TopicNameInvalid: "topic name invalid",
	PacketIdentifierInUse: "packet identifier in use", PacketIdentifierNotFound: "packet identifier not found",
	ReceiveMaximumExceeded: "receive maximum exceeded", TopicAliasInvalid: "topic alias invalid",
	PacketTooLarge: "packet too large", MessageRateTooHigh: "message rate too high", QuotaExceeded: "quota exceeded",
	AdministrativeAction: "administrative action", PayloadFormatInvalid: "payload format invalid",
	RetainNotSupported: "retain not supported", QoSNotSupported: "QoS not supported",
	UseAnotherServer: "use another server", ServerMoved: "server moved",
	SharedSubsNotSupported: "shared subscriptions not supported", ConnectionRateExceeded: "connection rate exceeded",
	MaximumConnectTime: "maximum connect time", SubIDsNotSupported: "subscription identifiers not supported",
	WildcardSubsNotSupported: "wildcard subscriptions not supported",
}

func (c ReasonCode) String() string {
	if n, ok := reasonNames[c]; ok {
		return fmt.Sprintf("%s (0x%02X)", n, byte(c))
	}
	return fmt.Sprintf("reason code 0x%02X", byte(c))
}

// MQTT 3.1.1's CONNACK return codes [MQTT-3.2.2.3].
const (
	v3Accepted             = 0x00
	v3BadProtocolVersion   = 0x01
	v3IdentifierRejected   = 0x02
	v3ServerUnavailable    = 0x03
	v3BadUsernameOrPassord = 0x04
	v3NotAuthorized        = 0x05
)

// v3ConnackCode is the MQTT 3.1.1 return code closest to an MQTT 5 refusal.
func v3ConnackCode(c ReasonCode) byte {
	switch c {
	case Success:
		return v3Accepted
	case UnsupportedProtocolVersion:
		return v3BadProtocolVersion
	case ClientIdentifierNotValid:
		return v3IdentifierRejected
	case BadUsernameOrPassword, BadAuthenticationMethod:
		return v3BadUsernameOrPassord
	case NotAuthorized, Banned:
		return v3NotAuthorized
	default:
		return v3ServerUnavailable
	}
}

// v3SubackFailure is MQTT 3.1.1's only SUBACK refusal [MQTT-3.9.3-2].
const v3SubackFailure = 0x80
