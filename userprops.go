package mqttrmq

// UserProperty is one MQTT 5 user property [MQTT-3.3.2.3.7]: a name and a
// value, both UTF-8 strings. A publish carries them in order, and may carry one
// key more than once. An empty Value is still a value: it is carried, and
// differs from a property that is not there.
//
// The JSON form is the hosted service's, {"key":"k","value":"v"}.
type UserProperty struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// maxUserPropertiesLen is the hosted service's limit on the JSON of
// mqtt5UserProperty.
const maxUserPropertiesLen = 8 << 10

// maxUserTextLen is MQTT's limit on one UTF-8 string: a two-byte length.
const maxUserTextLen = 65535

// ValidateUserProperties reports whether props can travel with a message. It
// refuses, with an error wrapping ErrInvalidProperty:
//   - a key or value that is not UTF-8 [MQTT-1.5.4-1], holds U+0000
//     [MQTT-1.5.4-2] or a control character (which MQTT discourages and which
//     would corrupt RocketMQ's property encoding), or passes 65535 bytes;
//   - a key that RocketMQ reserves (KEYS, TAGS, UNIQ_KEY, ... every
//     primitive.Property* of rocketmq-client-go and every MessageConst of the
//     Java client) or that either dialect of the mapping uses (qoslevel,
//     qosLevel, clientId, mqttSecondTopic, originMqttTopic, extData, ...);
//   - a list whose JSON form, the hosted service's mqtt5UserProperty, passes
//     8 KB.
//
// Empty keys and values are allowed, as in MQTT. The Apache dialect also
// refuses a key given twice: its extData is a JSON object, one value per key.
func ValidateUserProperties(props []UserProperty) error {
	return checkUserProperties("ValidateUserProperties", props, false)
}

// checkUserProperties checks props for writing; unique also refuses a key
// given twice.
func checkUserProperties(op string, props []UserProperty, unique bool) error {
	var seen keySet
	for _, p := range props {
		if f := checkUserText(p.Key); !f.ok() {
			return f.errKey(op, "user property key", p.Key)
		}
		if isReservedKey(p.Key) {
			return newError(op, p.Key, "user property key reserved by RocketMQ or by the mapping", ErrInvalidProperty)
		}
		if f := checkUserText(p.Value); !f.ok() {
			return f.errKey(op, "user property "+p.Key, p.Value)
		}
		if unique && seen.add(p.Key) {
			return newError(op, p.Key, "user property key given twice: extData is a JSON object, one value per key", ErrInvalidProperty)
		}
	}
	if !unique && userPropertiesJSONLen(props) > maxUserPropertiesLen {
		return newError(op, "", "user properties pass 8 KB of JSON", ErrInvalidProperty)
	}
	return nil
}

// checkUserText checks a user property key or value: UTF-8 without
// control characters; empty is fine.
func checkUserText(s string) finding {
	if s == "" {
		return fine
	}
	if len(s) > maxUserTextLen {
		return finding{probTooLong, maxUserTextLen}
	}
	return scan(s, scanText)
}

// reservedKeys lists the property keys a user property may not take: RocketMQ
// reserves them (rocketmq-client-go's primitive.Property* constants and the
// Java client's MessageConst), or the mapping writes them.
var reservedKeys = func() map[string]bool {
	m := make(map[string]bool)
	for _, k := range []string{
		// rocketmq-client-go v2, primitive.Property*.
		"KEYS", "TAGS", "WAIT", "DELAY", "RETRY_TOPIC", "TIMER_DELIVER_MS",
		"REAL_TOPIC", "REAL_QID", "TRAN_MSG", "PGROUP", "MIN_OFFSET",
		"MAX_OFFSET", "BUYER_ID", "ORIGIN_MESSAGE_ID", "TRANSFER_FLAG",
		"CORRECTION_FLAG", "MQ2_FLAG", "RECONSUME_TIME", "MSG_REGION",
		"TRACE_ON", "UNIQ_KEY", "MAX_RECONSUME_TIMES", "CONSUME_START_TIME",
		"TRAN_PREPARED_QUEUE_OFFSET", "TRANSACTION_CHECK_TIMES",
		"CHECK_IMMUNITY_TIME_IN_SECONDS", "SHARDING_KEY", "__transactionId__",
		"CORRELATION_ID", "REPLY_TO_CLIENT", "TTL", "ARRIVE_TIME", "MSG_TYPE",
		"CLUSTER",
		// The Java client's MessageConst, beyond those.
		"EXTEND_UNIQ_INFO", "INNER_NUM", "INNER_BASE", "DUP_INFO", "INSTANCE_ID",
		"PUSH_REPLY_TIME", "POP_CK", "POP_CK_OFFSET", "1ST_POP_TIME",
		"__SHARDINGKEY", "PROPERTY_FORWARD_QUEUE_ID", "REDIRECT",
		"INNER_MULTI_DISPATCH", "INNER_MULTI_QUEUE_OFFSET", "TRACE_CONTEXT",
		"TIMER_DELAY_SEC", "__BORNHOST", "BORN_TIMESTAMP", "TIMER_ENQUEUE_MS",
		"TIMER_DEQUEUE_MS", "TIMER_ROLL_TIMES", "TIMER_OUT_MS",
		"TIMER_DEL_UNIQKEY", "TIMER_DELAY_LEVEL",
		// The hosted service's keys, documented and not (SPEC §3).
		PropQoS, PropCleanSession, PropSecondTopic, PropRealTopic, PropClientID,
		PropRetain, PropUserProperties, "topic", PropMessageExpiry,
		PropContentType, "mqttMessageId", "mqttPublishDubFlag",
		// The mapping's own, for the rest of MQTT 5's message properties.
		PropPayloadFormat, PropResponseTopic, PropCorrelationData,
		// Apache RocketMQ-MQTT's.
		apacheQoS, apacheCleanSession, PropOriginTopic, PropExtData,
		PropDispatch, apacheEmpty, apacheRetryTimes, apacheNamespace,
	} {
		m[k] = true
	}
	return m
}()

// transientPrefix starts the keys RocketMQ keeps off the disk
// (MessageConst.PROPERTY_TRANSIENT_PREFIX).
const transientPrefix = "__RMQ.TRANSIENT."

func isReservedKey(k string) bool {
	return reservedKeys[k] || len(k) >= len(transientPrefix) && k[:len(transientPrefix)] == transientPrefix
}

// UserPropertiesOf reads the MQTT 5 user properties of a message: the JSON
// array of mqtt5UserProperty (hosted) or the members of extData that are not
// the mapping's own, qosLevel, mqttRealTopic, cleanSessionFlag, clientId and
// namespace (Apache). It returns nil when there are none. It refuses, with an
// error wrapping ErrInvalidProperty, a nil m, JSON it cannot read (not the
// expected shape, a value that is not a string, invalid UTF-8, a key given
// twice in extData), a key or value ValidateUserProperties refuses for its
// characters, and a message whose two spellings both hold user properties,
// different ones.
func UserPropertiesOf(m Properties) ([]UserProperty, error) {
	const op = "UserPropertiesOf"
	if isNil(m) {
		return nil, errNilMessage(op)
	}
	ext, err := parseExtData(op, m.GetProperty(PropExtData))
	if err != nil {
		return nil, err
	}
	return userPropertiesOf(op, m, ext)
}

// UserPropertiesOf reads the MQTT 5 user properties of a message, as the
// package-level UserPropertiesOf does: both dialects read alike.
func (d *Dialect) UserPropertiesOf(m Properties) ([]UserProperty, error) {
	return UserPropertiesOf(m)
}

// appendUserPropertiesArray appends the hosted service's JSON of props,
// [{"key":"k","value":"v"},...], checked beforehand.
func appendUserPropertiesArray(dst []byte, props []UserProperty) []byte {
	dst = append(dst, '[')
	for i, p := range props {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"key":`...)
		dst = appendJSONString(dst, p.Key)
		dst = append(dst, `,"value":`...)
		dst = appendJSONString(dst, p.Value)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// userPropertiesJSONLen is the length appendUserPropertiesArray writes.
func userPropertiesJSONLen(props []UserProperty) int {
	n := 2 + max(len(props)-1, 0)
	for _, p := range props {
		n += len(`{"key":,"value":}`) + jsonStringLen(p.Key) + jsonStringLen(p.Value)
	}
	return n
}

// appendExtData appends the extData RocketMQ-MQTT writes for a publish, a
// JSON object of strings: its qosLevel, then the MQTT 5 message properties
// that are there (mqtt5 holds their wire values, "" for absent), then the
// user properties, checked beforehand, in order.
func appendExtData(dst []byte, q QoS, mqtt5 *[numMQTT5]string, props []UserProperty) []byte {
	dst = append(dst, `{"qosLevel":"`...)
	dst = append(dst, q.String()...)
	dst = append(dst, '"')
	for i, v := range mqtt5 {
		if v != "" {
			dst = append(dst, ',')
			dst = appendJSONString(dst, mqtt5Keys[i])
			dst = append(dst, ':')
			dst = appendJSONString(dst, v)
		}
	}
	for _, p := range props {
		dst = append(dst, ',')
		dst = appendJSONString(dst, p.Key)
		dst = append(dst, ':')
		dst = appendJSONString(dst, p.Value)
	}
	return append(dst, '}')
}

// appendJSONString appends s as a JSON string. s holds no control
// characters (they are refused before), so only '"' and '\' need escaping;
// everything else is written as UTF-8, as RocketMQ-MQTT's JSON library does.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}

func jsonStringLen(s string) int {
	n := len(s) + 2
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			n++
		}
	}
	return n
}

// extData is what the Apache dialect reads from the extData property.
type extData struct {
	qos, realTopic string // "" when absent
	user           []UserProperty
	mqtt5          [numMQTT5]string // the MQTT 5 message properties, as mqtt5Keys orders them

	// members are all of them, the mapping's included, in order: read
	// only for a setter, which rewrites extData.
	members []UserProperty
}

// isExtDataKey reports whether k is a member of extData that is the
// mapping's, not a user property: RocketMQ-MQTT's Message.extProperty*
// names, and the keys of the MQTT 5 message properties.
func isExtDataKey(k string) bool {
	switch k {
	case apacheQoS, PropRealTopic, apacheCleanSession, PropClientID, apacheNamespace:
		return true
	}
	return mqtt5Index(k) >= 0 // the mapping's, for MQTT 5's message properties
}

// parseExtData reads extData, a JSON object of strings ("" is absent).
func parseExtData(op, s string) (extData, error) { return readExtData(op, s, false) }

// readExtData reads extData and, for keep, all its members too.
func readExtData(op, s string, keep bool) (extData, error) {
	var ext extData
	if s == "" {
		return ext, nil
	}
	fail := func(reason string) (extData, error) {
		return extData{}, newError(op, s, PropExtData+": "+reason, ErrInvalidProperty)
	}
	r := jsonReader{s: s}
	if !r.consume('{') {
		return fail("not a JSON object")
	}
	var seen keySet // to refuse a key given twice, mapping keys included
	if !r.consume('}') {
		for {
			k, ok := r.str()
			if !ok || !r.consume(':') {
				return fail("member name expected at byte " + itoa(r.i))
			}
			v, ok := r.str()
			if !ok {
				return fail("value of " + k + " is not a JSON string")
			}
			if seen.add(k) {
				return fail("key " + k + " given twice")
			}
			if f := checkUserText(k); !f.ok() {
				return extData{}, f.errKey(op, PropExtData+" key", k)
			}
			if f := checkUserText(v); !f.ok() {
				return extData{}, f.errKey(op, PropExtData+" "+k, v)
			}
			if keep {
				ext.members = append(ext.members, UserProperty{k, v})
			}
			switch i := mqtt5Index(k); {
			case k == apacheQoS:
				ext.qos = v
			case k == PropRealTopic:
				ext.realTopic = v
			case i >= 0:
				ext.mqtt5[i] = v
			case !isExtDataKey(k):
				ext.user = append(ext.user, UserProperty{k, v})
			}
			if r.consume(',') {
				continue
			}
			if r.consume('}') {
				break
			}
			return fail("',' or '}' expected at byte " + itoa(r.i))
		}
	}
	if !r.end() {
		return fail("data after the object at byte " + itoa(r.i))
	}
	return ext, nil
}

// parseUserPropertiesArray reads mqtt5UserProperty ("" is absent; so is an
// empty array).
func parseUserPropertiesArray(op, s string) ([]UserProperty, error) {
	if s == "" {
		return nil, nil
	}
	fail := func(reason string) ([]UserProperty, error) {
		return nil, newError(op, s, PropUserProperties+": "+reason, ErrInvalidProperty)
	}
	if len(s) > maxUserPropertiesLen {
		return fail("longer than 8 KB")
	}
	r := jsonReader{s: s}
	if !r.consume('[') {
		return fail("not a JSON array")
	}
	var props []UserProperty
	if r.consume(']') {
		if !r.end() {
			return fail("data after the array at byte " + itoa(r.i))
		}
		return nil, nil
	}
	for {
		if !r.consume('{') {
			return fail("element " + itoa(len(props)) + " is not an object")
		}
		var p UserProperty
		var hasKey, hasValue bool
		if !r.consume('}') {
			for {
				name, ok := r.str()
				if !ok || !r.consume(':') {
					return fail("member name expected at byte " + itoa(r.i))
				}
				var dup bool
				switch name {
				case "key":
					dup, hasKey = hasKey, true
					p.Key, ok = r.str()
				case "value":
					dup, hasValue = hasValue, true
					p.Value, ok = r.str()
				default:
					ok = r.skipValue(0) // a member added later is no error
				}
				if dup {
					return fail(name + " given twice in element " + itoa(len(props)))
				}
				if !ok {
					return fail("bad value of " + name + " in element " + itoa(len(props)))
				}
				if r.consume(',') {
					continue
				}
				if r.consume('}') {
					break
				}
				return fail("',' or '}' expected at byte " + itoa(r.i))
			}
		}
		if !hasKey || !hasValue {
			return fail("element " + itoa(len(props)) + ` lacks "key" or "value"`)
		}
		if f := checkUserText(p.Key); !f.ok() {
			return nil, f.errKey(op, "user property key", p.Key)
		}
		if f := checkUserText(p.Value); !f.ok() {
			return nil, f.errKey(op, "user property "+p.Key, p.Value)
		}
		props = append(props, p)
		if r.consume(',') {
			continue
		}
		if r.consume(']') {
			break
		}
		return fail("',' or ']' expected at byte " + itoa(r.i))
	}
	if !r.end() {
		return fail("data after the array at byte " + itoa(r.i))
	}
	return props, nil
}

// keySet finds a key given twice: by a scan while the keys are few, by a map
// when they are many.
type keySet struct {
	few  [8]string
	n    int
	many map[string]bool
}

// add records k and reports whether it was there already.
func (s *keySet) add(k string) (dup bool) {
	if s.many != nil {
		dup = s.many[k]
		s.many[k] = true
		return dup
	}
	for _, seen := range s.few[:s.n] {
		if seen == k {
			return true
		}
	}
	if s.n < len(s.few) {
		s.few[s.n] = k
		s.n++
		return false
	}
	s.many = make(map[string]bool, 2*len(s.few))
	for _, seen := range s.few {
		s.many[seen] = true
	}
	s.many[k] = true
	return false
}
