package mqttrmq

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// The five MQTT 5 message properties beside the user properties: Payload
// Format Indicator, Message Expiry Interval, Content Type, Response Topic
// and Correlation Data. Each travels under its key (PropPayloadFormat and
// the others): as a message property in the hosted dialect, as a member of
// extData in the Apache one, and every reader reads both places.

// maxBinaryLen is MQTT's limit on Binary Data, a two-byte length
// [MQTT-1.5.6].
const maxBinaryLen = 65535

// The positions of the five in mqtt5Keys, and of their values.
const (
	idxPayloadFormat = iota
	idxMessageExpiry
	idxContentType
	idxResponseTopic
	idxCorrelationData
	numMQTT5
)

// mqtt5Keys are the keys of the five, in the order the mapping writes them.
var mqtt5Keys = [numMQTT5]string{PropPayloadFormat, PropMessageExpiry, PropContentType, PropResponseTopic, PropCorrelationData}

// mqtt5Index returns the position of key in mqtt5Keys, or -1.
func mqtt5Index(key string) int {
	for i, k := range mqtt5Keys {
		if k == key {
			return i
		}
	}
	return -1
}

// payloadUTF8Text is the Payload Format Indicator of a payload declared
// UTF-8; payloadBytesText, unspecified bytes, is read but never written.
const (
	payloadUTF8Text  = "1"
	payloadBytesText = "0"
)

// hasMQTT5 reports whether p carries any of the five.
func hasMQTT5(p *Publish) bool {
	return p.PayloadUTF8 || p.MessageExpiry.set || p.ContentType != "" || p.ResponseTopic != "" || len(p.CorrelationData) > 0
}

// checkMQTT5 validates the five of a publish for writing: a payload
// declared UTF-8 must be [MQTT-3.3.2-4], a content type is UTF-8 text a
// property can carry, a response topic a topic name [MQTT-3.3.2-14], and
// correlation data no longer than MQTT's Binary Data. Every interval is
// valid.
func checkMQTT5(op string, p *Publish) error {
	if p.PayloadUTF8 && !utf8.Valid(p.Payload) {
		return newError(op, p.Topic, "the payload is declared UTF-8 (Payload Format Indicator 1) and is not [MQTT-3.3.2-4]", ErrInvalidProperty)
	}
	if p.ContentType != "" {
		if f := checkUserText(p.ContentType); !f.ok() {
			return f.errKey(op, "Content Type", p.ContentType)
		}
	}
	if p.ResponseTopic != "" {
		if f := checkName(p.ResponseTopic); !f.ok() {
			return f.errKey(op, "Response Topic", p.ResponseTopic)
		}
	}
	if len(p.CorrelationData) > maxBinaryLen {
		return newError(op, p.Topic, "Correlation Data of "+itoa(len(p.CorrelationData))+" bytes; MQTT carries at most 65535", ErrInvalidProperty)
	}
	return nil
}

// mqtt5Values returns the wire values of the five of a checked publish, ""
// for absent. The interval's digits and the correlation data's Base64 share
// one allocation.
func mqtt5Values(p *Publish) (v [numMQTT5]string) {
	if p.PayloadUTF8 {
		v[idxPayloadFormat] = payloadUTF8Text
	}
	v[idxContentType] = p.ContentType
	v[idxResponseTopic] = p.ResponseTopic
	if !p.MessageExpiry.set && len(p.CorrelationData) == 0 {
		return v
	}
	var small [64]byte
	buf := small[:0]
	if n := 10 + base64.StdEncoding.EncodedLen(len(p.CorrelationData)); n > len(small) {
		buf = make([]byte, 0, n)
	}
	if p.MessageExpiry.set {
		buf = appendExpiry(buf, p.MessageExpiry)
	}
	digits := len(buf)
	buf = base64.StdEncoding.AppendEncode(buf, p.CorrelationData)
	s := string(buf)
	v[idxMessageExpiry], v[idxCorrelationData] = s[:digits], s[digits:]
	return v
}

// mqtt5Len is what the values take as message properties.
func mqtt5Len(v *[numMQTT5]string) int {
	n := 0
	for i, val := range v {
		if val != "" {
			n += propLen(mqtt5Keys[i], len(val))
		}
	}
	return n
}

// readMQTT5 reads the five of a message into p, whose Payload is what is
// delivered: each from its property and from its member of ext, which
// must agree where both are there, and each valid.
func readMQTT5(op string, src Properties, ext *extData, p *Publish) error {
	var raw [numMQTT5]string
	for i, key := range mqtt5Keys {
		v, err := mqtt5Raw(op, src, ext, i)
		if err != nil {
			return err
		}
		raw[i] = v
		if v == "" {
			continue
		}
		if err := readMQTT5Value(op, key, v, p); err != nil {
			return err
		}
	}
	if p.PayloadUTF8 && !utf8.Valid(p.Payload) {
		return newError(op, raw[idxPayloadFormat], PropPayloadFormat+": the payload is declared UTF-8 and is not [MQTT-3.3.2-4]", ErrInvalidProperty)
	}
	return nil
}

// mqtt5Raw returns the wire value of the i-th of the five: the property,
// or the member of extData, which must say the same when both are there
// (the values are canonical: a value has one spelling).
func mqtt5Raw(op string, src Properties, ext *extData, i int) (string, error) {
	key := mqtt5Keys[i]
	v, member := src.GetProperty(key), ext.mqtt5[i]
	switch {
	case v == "":
		return member, nil
	case member != "" && member != v:
		return "", errConflict(op, key, PropExtData+"."+key, member)
	}
	return v, nil
}

// readMQTT5Value reads the wire value v of key into p.
func readMQTT5Value(op, key, v string, p *Publish) error {
	switch key {
	case PropPayloadFormat:
		switch v {
		case payloadUTF8Text:
			p.PayloadUTF8 = true
		case payloadBytesText:
		default:
			return newError(op, v, key+` must be "1" (UTF-8) or "0" (bytes)`, ErrInvalidProperty)
		}
	case PropMessageExpiry:
		e, ok := parseExpiry(v)
		if !ok {
			return newError(op, v, key+": want seconds, decimal digits from 0 to 4294967295 without leading zeros", ErrInvalidProperty)
		}
		p.MessageExpiry = e
	case PropContentType:
		if f := checkUserText(v); !f.ok() {
			return f.errKey(op, key, v)
		}
		p.ContentType = v
	case PropResponseTopic:
		if f := checkName(v); !f.ok() {
			return f.errKey(op, key, v)
		}
		p.ResponseTopic = v
	case PropCorrelationData:
		data, err := decodeCorrelation(v)
		if err != nil {
			return newError(op, v, key+": "+err.Error(), ErrInvalidProperty)
		}
		p.CorrelationData = data
	}
	return nil
}

// errCorrelation is why a Correlation Data value cannot be read.
type errCorrelation string

func (e errCorrelation) Error() string { return string(e) }

// decodeCorrelation reads standard padded Base64 strictly: one spelling per
// value (no line breaks, no stray padding bits), and no more than MQTT's
// Binary Data holds.
func decodeCorrelation(v string) ([]byte, error) {
	if base64.StdEncoding.DecodedLen(len(v)) > maxBinaryLen+2 {
		return nil, errCorrelation("longer than MQTT's 65535 bytes of Binary Data")
	}
	data, err := base64.StdEncoding.Strict().DecodeString(v)
	if err != nil || strings.ContainsAny(v, "\r\n") {
		return nil, errCorrelation("not standard padded Base64")
	}
	if len(data) > maxBinaryLen {
		return nil, errCorrelation("longer than MQTT's 65535 bytes of Binary Data")
	}
	return data, nil
}
