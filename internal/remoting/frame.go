package remoting

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/rocketmq-client-go/v2/primitive"
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
			dst = appendJSONString(dst, f.key)
			dst = append(dst, ':')
			dst = appendJSONString(dst, f.value)
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

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters (the \x01 and \x02 of a properties string) escaped,
// invalid UTF-8 written as U+FFFD, as encoding/json writes it.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b >= 0x20 && b != '"' && b != '\\' && b < utf8.RuneSelf {
			i++
			continue
		}
		if b < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
