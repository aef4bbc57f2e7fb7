package mqttrmq

// The setters and readers of the MQTT 5 message properties beside the user
// properties. A backend sets them on a command as a device would on a
// PUBLISH: a response topic and correlation data for a request the device
// answers, an expiry for a command that is worthless late, a content type
// and payload format for what the payload is. They follow the other
// setters (see SetQoS): the dialect's own place (a property in the hosted
// dialect, a member of extData in the Apache one), rewritten in the other
// place too where the message holds it there, nothing written on a
// refusal, and an empty value removes. The readers read both places alike
// in either dialect, as FromRocketMQ does.

// setMQTT5 writes the wire value v of the i-th MQTT 5 message property, ""
// removing it.
func (d *Dialect) setMQTT5(op string, m Properties, i int, v string) error {
	key := mqtt5Keys[i]
	ext, err := readExtData(op, m.GetProperty(PropExtData), true)
	if err != nil {
		return err
	}
	var writes []write
	if !d.lmq || v == "" || m.GetProperty(key) != "" {
		writes = append(writes, write{key, v})
	}
	if d.lmq && v != "" || ext.mqtt5[i] != "" {
		writes = append(writes, write{PropExtData, string(appendExtMembers(nil, setMember(ext.members, key, v)))})
	}
	return apply(op, m, writes...)
}

// SetMessageExpiry writes the Message Expiry Interval of a message: a
// device that has not got it once e has passed since the message was sent
// never gets it, and one that gets it is told what is left
// [MQTT-3.3.2-5] [MQTT-3.3.2-6]. It is mqtt5MsgExpireInterval, a property
// in the hosted dialect, a member of extData in the Apache one; the zero
// Expiry removes it. Every interval is valid; it refuses what the setters
// refuse (see (*Dialect).SetQoS).
func (d *Dialect) SetMessageExpiry(m Properties, e Expiry) error {
	const op = "SetMessageExpiry"
	d = d.or()
	if isNil(m) {
		return errNilMessage(op)
	}
	var v string
	if e.set {
		v = string(appendExpiry(nil, e))
	}
	return d.setMQTT5(op, m, idxMessageExpiry, v)
}

// SetMessageExpiry writes the mqtt5MsgExpireInterval property. It is
// AlibabaCloud.SetMessageExpiry; see (*Dialect).SetMessageExpiry.
func SetMessageExpiry(m Properties, e Expiry) error { return hosted.SetMessageExpiry(m, e) }

// SetPayloadUTF8 writes the Payload Format Indicator of a message: true
// declares the payload UTF-8 (mqtt5PayloadFormatIndicator "1", a property
// in the hosted dialect, a member of extData in the Apache one), false
// removes it (unspecified bytes, as absent means). The setter does not see
// the body: FromRocketMQ refuses a message declared UTF-8 whose payload is
// not [MQTT-3.3.2-4]. It refuses what the setters refuse.
func (d *Dialect) SetPayloadUTF8(m Properties, utf8 bool) error {
	const op = "SetPayloadUTF8"
	d = d.or()
	if isNil(m) {
		return errNilMessage(op)
	}
	var v string
	if utf8 {
		v = payloadUTF8Text
	}
	return d.setMQTT5(op, m, idxPayloadFormat, v)
}

// SetPayloadUTF8 writes the mqtt5PayloadFormatIndicator property. It is
// AlibabaCloud.SetPayloadUTF8; see (*Dialect).SetPayloadUTF8.
func SetPayloadUTF8(m Properties, utf8 bool) error { return hosted.SetPayloadUTF8(m, utf8) }

// SetContentType writes the Content Type of a message, such as
// "application/json": mqtt5ContentType, a property in the hosted dialect, a
// member of extData in the Apache one; "" removes it. It refuses, with an
// error wrapping ErrInvalidProperty, a content type that is not UTF-8,
// holds a control character or passes 65535 bytes, and what the setters
// refuse.
func (d *Dialect) SetContentType(m Properties, contentType string) error {
	const op = "SetContentType"
	d = d.or()
	if isNil(m) {
		return errNilMessage(op)
	}
	if f := checkUserText(contentType); !f.ok() {
		return f.errKey(op, "Content Type", contentType)
	}
	return d.setMQTT5(op, m, idxContentType, contentType)
}

// SetContentType writes the mqtt5ContentType property. It is
// AlibabaCloud.SetContentType; see (*Dialect).SetContentType.
func SetContentType(m Properties, contentType string) error {
	return hosted.SetContentType(m, contentType)
}

// SetResponseTopic writes the Response Topic of a message: the topic name
// the receiver of a request publishes its answer to, which a backend reads
// from RocketMQ when its first level is a parent topic the gateway serves.
// It is mqtt5ResponseTopic, a property in the hosted dialect, a member of
// extData in the Apache one; "" removes it. It refuses, with an error
// wrapping ErrInvalidTopic, a topic that ValidateTopicName refuses
// (wildcards included [MQTT-3.3.2-14]), and what the setters refuse.
func (d *Dialect) SetResponseTopic(m Properties, topic string) error {
	const op = "SetResponseTopic"
	d = d.or()
	if isNil(m) {
		return errNilMessage(op)
	}
	if topic != "" {
		if f := checkName(topic); !f.ok() {
			return f.err(op, topic, ErrInvalidTopic)
		}
	}
	return d.setMQTT5(op, m, idxResponseTopic, topic)
}

// SetResponseTopic writes the mqtt5ResponseTopic property. It is
// AlibabaCloud.SetResponseTopic; see (*Dialect).SetResponseTopic.
func SetResponseTopic(m Properties, topic string) error { return hosted.SetResponseTopic(m, topic) }

// SetCorrelationData writes the Correlation Data of a message, which the
// answer to a request carries back so that the requester knows which
// request it answers: any bytes, written as mqtt5CorrelationData in
// standard padded Base64, a property in the hosted dialect, a member of
// extData in the Apache one. Empty data removes it (RocketMQ carries no
// empty value). It refuses, with an error wrapping ErrInvalidProperty,
// data over 65535 bytes, MQTT's limit, and what the setters refuse.
func (d *Dialect) SetCorrelationData(m Properties, data []byte) error {
	const op = "SetCorrelationData"
	d = d.or()
	if isNil(m) {
		return errNilMessage(op)
	}
	if len(data) > maxBinaryLen {
		return newError(op, "", "Correlation Data of "+itoa(len(data))+" bytes; MQTT carries at most 65535", ErrInvalidProperty)
	}
	p := Publish{CorrelationData: data}
	return d.setMQTT5(op, m, idxCorrelationData, mqtt5Values(&p)[idxCorrelationData])
}

// SetCorrelationData writes the mqtt5CorrelationData property. It is
// AlibabaCloud.SetCorrelationData; see (*Dialect).SetCorrelationData.
func SetCorrelationData(m Properties, data []byte) error { return hosted.SetCorrelationData(m, data) }

// readMQTT5Of reads the i-th MQTT 5 message property of m into a Publish,
// from both places, as FromRocketMQ does.
func readMQTT5Of(op string, m Properties, i int) (Publish, error) {
	var p Publish
	if isNil(m) {
		return p, errNilMessage(op)
	}
	ext, err := parseExtData(op, m.GetProperty(PropExtData))
	if err != nil {
		return p, err
	}
	v, err := mqtt5Raw(op, m, &ext, i)
	if err != nil || v == "" {
		return p, err
	}
	return p, readMQTT5Value(op, mqtt5Keys[i], v, &p)
}

// MessageExpiryOf reads the Message Expiry Interval of a message,
// mqtt5MsgExpireInterval (a property, or a member of extData), as it was
// sent: the zero Expiry when there is none. Remaining, with the message's
// BornTime, says what is left. It refuses, with an error wrapping
// ErrInvalidProperty, a nil m, a value that is not decimal seconds from 0
// to 4294967295 without sign, spaces or leading zeros, an extData it cannot
// read, and two places that disagree.
func MessageExpiryOf(m Properties) (Expiry, error) {
	p, err := readMQTT5Of("MessageExpiryOf", m, idxMessageExpiry)
	return p.MessageExpiry, err
}

// PayloadUTF8Of reads the Payload Format Indicator of a message,
// mqtt5PayloadFormatIndicator (a property, or a member of extData): true
// for "1", the payload declared UTF-8; false for "0" and absent. It does not
// see the body, which FromRocketMQ checks. It refuses, with an error
// wrapping ErrInvalidProperty, a nil m, any other value, an extData it
// cannot read, and two places that disagree.
func PayloadUTF8Of(m Properties) (bool, error) {
	p, err := readMQTT5Of("PayloadUTF8Of", m, idxPayloadFormat)
	return p.PayloadUTF8, err
}

// ContentTypeOf reads the Content Type of a message, mqtt5ContentType (a
// property, or a member of extData), "" when absent. It refuses, with an
// error wrapping ErrInvalidProperty, a nil m, a value that is not UTF-8,
// holds a control character or passes 65535 bytes, an extData it cannot
// read, and two places that disagree.
func ContentTypeOf(m Properties) (string, error) {
	p, err := readMQTT5Of("ContentTypeOf", m, idxContentType)
	return p.ContentType, err
}

// ResponseTopicOf reads the Response Topic of a message,
// mqtt5ResponseTopic (a property, or a member of extData), "" when absent.
// It refuses, with an error wrapping ErrInvalidProperty, a nil m, a value
// that ValidateTopicName refuses, an extData it cannot read, and two places
// that disagree.
func ResponseTopicOf(m Properties) (string, error) {
	p, err := readMQTT5Of("ResponseTopicOf", m, idxResponseTopic)
	return p.ResponseTopic, err
}

// CorrelationDataOf reads the Correlation Data of a message,
// mqtt5CorrelationData (a property, or a member of extData), decoded from
// its Base64: nil when absent. It refuses, with an error wrapping
// ErrInvalidProperty, a nil m, a value that is not standard padded Base64
// (strictly: one spelling per value) or decodes to more than 65535 bytes,
// an extData it cannot read, and two places that disagree.
func CorrelationDataOf(m Properties) ([]byte, error) {
	p, err := readMQTT5Of("CorrelationDataOf", m, idxCorrelationData)
	return p.CorrelationData, err
}

// MessageExpiryOf reads the Message Expiry Interval of a message, as the
// package-level MessageExpiryOf does: both dialects read alike.
func (d *Dialect) MessageExpiryOf(m Properties) (Expiry, error) { return MessageExpiryOf(m) }

// PayloadUTF8Of reads the Payload Format Indicator of a message, as the
// package-level PayloadUTF8Of does: both dialects read alike.
func (d *Dialect) PayloadUTF8Of(m Properties) (bool, error) { return PayloadUTF8Of(m) }

// ContentTypeOf reads the Content Type of a message, as the package-level
// ContentTypeOf does: both dialects read alike.
func (d *Dialect) ContentTypeOf(m Properties) (string, error) { return ContentTypeOf(m) }

// ResponseTopicOf reads the Response Topic of a message, as the
// package-level ResponseTopicOf does: both dialects read alike.
func (d *Dialect) ResponseTopicOf(m Properties) (string, error) { return ResponseTopicOf(m) }

// CorrelationDataOf reads the Correlation Data of a message, as the
// package-level CorrelationDataOf does: both dialects read alike.
func (d *Dialect) CorrelationDataOf(m Properties) ([]byte, error) { return CorrelationDataOf(m) }
