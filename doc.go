// Package mqttrmq maps MQTT onto RocketMQ and back, the way an IoT gateway
// does (Alibaba Cloud's MQTT service, Apache RocketMQ-MQTT).
//
// The first level of an MQTT topic is the RocketMQ topic, the parent topic;
// the rest, with its leading '/', travels as the message property
// mqttSecondTopic:
//
//	ACE/live/100  ⇄  RocketMQ topic "ACE", mqttSecondTopic "/live/100"
//
// The properties qoslevel, cleansessionflag, mqttRealTopic and clientId carry
// the rest of MQTT's meaning, and a message whose mqttSecondTopic is
// /p2p/{clientID} reaches exactly one client (point to point).
//
// # Who uses what
//
// A backend service on rocketmq-client-go v2 reads what devices sent with
// FromRocketMQ (or ClientIDOf, QoSOf, UserPropertiesOf and friends), and
// addresses devices with SetTopic or SetP2P, SetQoS, SetCleanSession,
// SetRealTopic, SetRetain, SetUserProperties and the setters of MQTT 5's
// other message properties (see below), tagging the message with
// TagToMQTT; a Dialect has the same setters and its DownlinkTag, so that a
// backend of Apache RocketMQ-MQTT writes its properties alike. A device program on
// paho.mqtt.golang builds its client ID (ClientID), its credentials for the
// hosted service (SignatureCredentials, TokenCredentials, DeviceCredentials)
// and its P2P topics (P2PTopic), and checks topics and filters
// (ValidateTopicName, ValidateTopicFilter, MatchTopic) before it uses them. A
// gateway maps every PUBLISH with ToRocketMQ and back with FromRocketMQ.
//
// # Dialects
//
// The package-level functions speak the hosted service's dialect,
// AlibabaCloud. Apache RocketMQ-MQTT, the open-source MQTT proxy of RocketMQ 5,
// speaks another, ApacheRocketMQMQTT: the whole topic in originMqttTopic,
// qosLevel and cleanSessionFlag, the MQTT 5 user properties in extData, and
// INNER_MULTI_DISPATCH naming the Light Message Queues the broker indexes the
// message in, one for the topic and one per matching wildcard filter. A
// Dialect's ToRocketMQ and FromRocketMQ map in it; WithFilters gives it a
// FilterSet, which finds the matching filters without allocating, so that a
// message reaches the subscribers of topic/# too. LMQQueue and ParseLMQQueue
// name the queues, refusing the topics whose names would collide.
//
// The dialects differ in what they write, not in what they read. Every
// reader accepts every spelling of both (qoslevel and qosLevel, the topic as
// mqttSecondTopic, originMqttTopic or INNER_MULTI_DISPATCH, the user
// properties as mqtt5UserProperty or extData), and refuses a message whose
// spellings disagree: one message has one reading, so that FromRocketMQ and
// P2PTargetOf never decide delivery and privacy differently, whichever
// dialect asks.
//
// # MQTT 5 message properties
//
// Every property an MQTT 5 PUBLISH carries to its receivers travels through
// RocketMQ both ways, and absent stays absent (Publish: UserProperties,
// MessageExpiry, PayloadUTF8, ContentType, ResponseTopic, CorrelationData).
// The hosted service documents mqtt5UserProperty, mqtt5MsgExpireInterval
// and mqtt5ContentType; mqtt5PayloadFormatIndicator ("1" for a payload
// declared UTF-8), mqtt5ResponseTopic and mqtt5CorrelationData (standard
// padded Base64) are the mapping's own, named in its style. A backend sets
// them with SetMessageExpiry, SetPayloadUTF8, SetContentType,
// SetResponseTopic and SetCorrelationData (a request a device answers on
// the response topic, with the correlation data), and reads them with
// FromRocketMQ or MessageExpiryOf, PayloadUTF8Of, ContentTypeOf,
// ResponseTopicOf and CorrelationDataOf. A message must not be delivered
// once its interval has passed: FromRocketMQ reads when a received
// *primitive.MessageExt was sent (Publish.Born, from its BornTimestamp;
// BornTime), and Publish.ExpiryLeft or Expiry.Remaining say what is left of
// the interval and whether it has expired [MQTT-3.3.2-5] [MQTT-3.3.2-6].
// The keys are refused as user property keys.
//
// Apache RocketMQ-MQTT speaks MQTT 3.1.1 only and has no spelling of its own
// for these: its MessageUtil.toMessage copies none of them from a PUBLISH,
// and its LmqQueueStoreManager.toLmqMessage keeps nothing of a RocketMQ
// message but its own properties (originMqttTopic, IS_EMPTY_MSG,
// retryTimes, INNER_MULTI_DISPATCH, the born timestamp) and extData, the
// JSON object of its Message.userProperties, which it stores and forwards
// with the message. So the Apache dialect writes the five as members of
// extData under the same keys, after qosLevel and before the user
// properties, where they survive RocketMQ-MQTT's own handling of the
// message; it would drop them as properties. Every reader reads both places.
//
// The package imports only the standard library, so a device program does
// not compile the RocketMQ client. It works on messages through Properties,
// which *primitive.Message and *primitive.MessageExt satisfy.
//
// # Namespaces
//
// A RocketMQ client created with a namespace names every topic
// {namespace}%{topic} on the broker, and its consumer hands messages over
// with that name. The readers take it (FromRocketMQ("ns1%vehicles", ...)
// reads the parent topic "vehicles"); the writers return the bare parent
// topic, which a producer with the namespace prefixes as it sends.
// SplitNamespace and NamespaceTopic take such names apart and make them.
//
// # Refusals
//
// Every refusal is an *Error naming the function, the input, the offending
// byte and the reason, and unwraps to ErrInvalidTopic, ErrInvalidFilter,
// ErrInvalidProperty, ErrInvalidClientID, ErrInvalidCredentials or
// ErrInvalidDialect; a Quota's checks unwrap to ErrQuotaExceeded. Control
// characters are refused everywhere a topic or client ID reaches a property:
// RocketMQ serialises properties as key\x01value\x02, so a stray \x01 or \x02
// would drop or inject properties. Nothing panics, whatever the input: a nil
// message, untyped or a nil *primitive.Message, is refused with an error
// wrapping ErrInvalidProperty (see Properties), and a nil *FilterSet is empty
// and refuses to take filters.
package mqttrmq
