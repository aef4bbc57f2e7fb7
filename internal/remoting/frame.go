package remoting

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq/internal/jsonwire"
)

// field is one of a request's ext fields. A request's fields are a slice,
// not a map, so that a frame is written without hashing or sorting
// anything (unless it is signed).
type field struct{ key, value string }

// ACL ext fields [org.apache.rocketmq.acl.common.SessionCredentials].
const (
	fieldAccessKey     = "AccessKey"
	fieldSignature     = "Signature"
	fieldSecurityToken = "SecurityToken"
)

// appendFrame appends one request frame to dst: the total length, the
// header length (its top byte 0: a JSON header), the JSON header, the
// body. With credentials, the fields are signed as an ACL-enabled broker
// checks them.
func appendFrame(dst []byte, code int, opaque int32, fields []field, body []byte, creds primitive.Credentials) []byte {
	return appendSendFrame(dst, code, opaque, fields, nil, body, creds)
}

// appendSendFrame is appendFrame for a send: props, unless nil, is one
// more field, sendPropsField, a message's properties, written from its
// map as MarshallProperties would write them and escaped in the same
// pass, without the string MarshallProperties builds (on the sender's
// path that string, grown a few times, and escaping it afterwards were
// most of the cost of framing a device's message).
func appendSendFrame(dst []byte, code int, opaque int32, fields []field, props map[string]string, body []byte, creds primitive.Credentials) []byte {
	if creds.AccessKey != "" {
		if props != nil {
			fields = append(slices.Clip(fields), field{sendPropsField, string(appendProperties(nil, props))})
			props = nil
		}
		fields = sign(fields, body, creds)
	}
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0)
	dst = append(dst, `{"code":`...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, `,"language":"GO","version":317,"opaque":`...)
	dst = strconv.AppendInt(dst, int64(opaque), 10)
	dst = append(dst, `,"flag":0`...)
	if len(fields) > 0 {
		dst = append(dst, `,"extFields":{`...)
		for i, f := range fields {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonwire.AppendString(dst, f.key)
			dst = append(dst, ':')
			dst = jsonwire.AppendString(dst, f.value)
		}
	}
	if props != nil {
		if len(fields) > 0 {
			dst = append(dst, ',')
		} else {
			dst = append(dst, `,"extFields":{`...)
		}
		dst = append(dst, `"`+sendPropsField+`":"`...)
		for k, v := range props {
			dst = jsonwire.AppendEscaped(dst, k)
			dst = append(dst, `\u0001`...)
			dst = jsonwire.AppendEscaped(dst, v)
			dst = append(dst, `\u0002`...)
		}
		dst = append(dst, '"')
	}
	if len(fields) > 0 || props != nil {
		dst = append(dst, '}')
	}
	dst = append(dst, '}')
	header := len(dst) - start - 8
	dst = append(dst, body...)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	binary.BigEndian.PutUint32(dst[start+4:], uint32(header))
	return dst
}

// sign returns fields with the ACL fields added: the access key, the
// security token if any, and the signature — HMAC-SHA1 with the secret
// key over the values of every other field in the order of their keys,
// then the body, in Base64 [AclClientRPCHook, AclUtils.combineRequestContent].
func sign(fields []field, body []byte, creds primitive.Credentials) []field {
	signed := make([]field, 0, len(fields)+3)
	signed = append(signed, fields...)
	signed = append(signed, field{fieldAccessKey, creds.AccessKey})
	if creds.SecurityToken != "" {
		signed = append(signed, field{fieldSecurityToken, creds.SecurityToken})
	}
	slices.SortFunc(signed, func(a, b field) int { return strings.Compare(a.key, b.key) })
	mac := hmac.New(sha1.New, []byte(creds.SecretKey))
	for _, f := range signed {
		mac.Write([]byte(f.value))
	}
	mac.Write(body)
	return append(signed, field{fieldSignature, base64.StdEncoding.EncodeToString(mac.Sum(nil))})
}

// sendPropsField is the field of SendMessageRequestHeaderV2 that carries
// the message's properties ("properties", by its short name).
const sendPropsField = "i"

// RocketMQ's separators in a message's properties
// [MessageDecoder.NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR].
const (
	nameValueSeparator = 1
	propertySeparator  = 2
)

// appendProperties appends props as a message's properties travel, each
// name, \x01, value, \x02, as MarshallProperties writes them.
func appendProperties(dst []byte, props map[string]string) []byte {
	for k, v := range props {
		dst = append(dst, k...)
		dst = append(dst, nameValueSeparator)
		dst = append(dst, v...)
		dst = append(dst, propertySeparator)
	}
	return dst
}

// appendBatched appends m as one message of a batch's body, as
// primitive.Message.Marshal writes it: total size, magic code and body
// CRC (both 0), flag, body size, body, properties size (two bytes, which
// Marshal truncates to, as here), properties.
func appendBatched(dst []byte, m *primitive.Message) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, 20)...)
	binary.BigEndian.PutUint32(dst[start+12:], uint32(m.Flag))
	binary.BigEndian.PutUint32(dst[start+16:], uint32(len(m.Body)))
	dst = append(dst, m.Body...)
	at := len(dst)
	dst = appendProperties(append(dst, 0, 0), m.GetProperties())
	binary.BigEndian.PutUint16(dst[at:], uint16(len(dst)-at-2))
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start))
	return dst
}
