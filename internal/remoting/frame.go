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
	if creds.AccessKey != "" {
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
