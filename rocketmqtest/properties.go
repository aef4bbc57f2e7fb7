package rocketmqtest

import "strings"

// Message property names the server reads or writes, as primitive.Property*
// and Java's MessageConst spell them.
const (
	propTags            = "TAGS"
	propKeys            = "KEYS"
	propWait            = "WAIT"
	propDelay           = "DELAY"
	propRetryTopic      = "RETRY_TOPIC"
	propRealTopic       = "REAL_TOPIC"
	propRealQueueID     = "REAL_QID"
	propTransaction     = "TRAN_MSG"
	propUniqKey         = "UNIQ_KEY"
	propOriginMessageID = "ORIGIN_MESSAGE_ID"
	propCluster         = "CLUSTER"
	propMsgRegion       = "MSG_REGION"
	propTraceSwitch     = "TRACE_ON"

	nameValueSeparator = '\x01'
	propertySeparator  = '\x02'

	// maxPropertiesLength is the serialised-properties limit: the stored
	// format keeps their length in an int16.
	maxPropertiesLength = 32767
)

// properties is an ordered property list. Order is kept so that a stored
// message serialises its properties as the sender wrote them, followed by
// the ones the broker adds.
type properties []field

// parseProperties splits a serialised property string the way Java's
// MessageDecoder.string2messageProperties does: entries are separated by
// \x02, the key ends at the first \x01, and an entry with an empty key or
// an empty value is dropped. A repeated key keeps its first position and
// its last value.
func parseProperties(s string) properties {
	var p properties
	for len(s) > 0 {
		entry := s
		if i := strings.IndexByte(s, propertySeparator); i >= 0 {
			entry, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		kv := strings.IndexByte(entry, nameValueSeparator)
		if kv <= 0 || kv == len(entry)-1 {
			continue
		}
		p.set(entry[:kv], entry[kv+1:])
	}
	return p
}

func (p properties) get(key string) (string, bool) {
	for _, f := range p {
		if f.key == key {
			return f.value, true
		}
	}
	return "", false
}

func (p *properties) set(key, value string) {
	for i := range *p {
		if (*p)[i].key == key {
			(*p)[i].value = value
			return
		}
	}
	*p = append(*p, field{key, value})
}

func (p *properties) del(key string) {
	for i := range *p {
		if (*p)[i].key == key {
			*p = append((*p)[:i], (*p)[i+1:]...)
			return
		}
	}
}

// String serialises p as key\x01value\x02 entries.
func (p properties) String() string {
	n := 0
	for _, f := range p {
		n += len(f.key) + len(f.value) + 2
	}
	var b strings.Builder
	b.Grow(n)
	for _, f := range p {
		b.WriteString(f.key)
		b.WriteByte(nameValueSeparator)
		b.WriteString(f.value)
		b.WriteByte(propertySeparator)
	}
	return b.String()
}

// propertyValue finds key in a serialised property string without building
// a list; the hot paths only need the tag.
func propertyValue(s, key string) string {
	var v string
	for len(s) > 0 {
		entry := s
		if i := strings.IndexByte(s, propertySeparator); i >= 0 {
			entry, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		kv := strings.IndexByte(entry, nameValueSeparator)
		if kv <= 0 || kv == len(entry)-1 {
			continue
		}
		if entry[:kv] == key {
			v = entry[kv+1:] // the last one wins, as in parseProperties
		}
	}
	return v
}

// canonical reports whether s is already in the form parseProperties then
// String would give it: every entry has a key and a value and ends with
// \x02, and no key repeats. It also reports whether the UNIQ_KEY and CLUSTER
// properties are present. For such strings the broker can add a property
// by appending it, without parsing.
func canonical(s string) (ok, hasUniq, hasCluster bool) {
	if s != "" && s[len(s)-1] != propertySeparator {
		return false, false, false
	}
	var keys [24]string
	seen := keys[:0]
	for rest := s; rest != ""; {
		i := strings.IndexByte(rest, propertySeparator)
		entry := rest[:i]
		rest = rest[i+1:]
		kv := strings.IndexByte(entry, nameValueSeparator)
		if kv <= 0 || kv == len(entry)-1 {
			return false, false, false
		}
		key := entry[:kv]
		for _, k := range seen {
			if k == key {
				return false, false, false
			}
		}
		if len(seen) == cap(seen) {
			return false, false, false // many properties: take the slow path
		}
		seen = append(seen, key)
		hasUniq = hasUniq || key == propUniqKey
		hasCluster = hasCluster || key == propCluster
	}
	return true, hasUniq, hasCluster
}
