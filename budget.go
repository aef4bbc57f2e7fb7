package mqttrmq

// RocketMQ carries at most 32767 bytes of a message's serialised properties,
// key\x01value\x02 each: the stored format keeps their length in an int16,
// and the broker refuses a message over it (CODE 13, MESSAGE_ILLEGAL). The
// mapping's properties are not the only ones on a message, so the mapping
// keeps its own to what leaves room for the others.
const (
	// maxPropertiesLen is RocketMQ's limit.
	maxPropertiesLen = 32767

	// propertiesReserve is the room left, out of maxPropertiesLen, for
	// the properties that travel with every message but that the mapping
	// does not write:
	//   - UNIQ_KEY, which the producer adds: 42 bytes (32 hex digits);
	//   - WAIT, which the Java producer adds: 10 bytes;
	//   - CLUSTER, which the broker adds with its cluster's name: 23 bytes
	//     for DefaultCluster;
	//   - when a consumer gives a message back for a retry, RETRY_TOPIC,
	//     REAL_TOPIC, REAL_QID, ORIGIN_MESSAGE_ID, DELAY,
	//     MAX_RECONSUME_TIMES and RECONSUME_TIME, which the broker adds: up
	//     to about 560 bytes, with a 255-byte retry topic;
	//   - the tag (TAGS) and keys (KEYS) the caller sets: MQ2MQTT or
	//     MQTT2MQ take 13 bytes, and the rest of the reserve, about 370
	//     bytes, is theirs.
	propertiesReserve = 1024

	// maxMappedLen is what the properties the mapping writes, with those
	// already on a message, may take.
	maxMappedLen = maxPropertiesLen - propertiesReserve

	// maxOffsetLen is the longest decimal queue offset, a Java long: the
	// broker writes one per queue of INNER_MULTI_DISPATCH into
	// INNER_MULTI_QUEUE_OFFSET when it stores the message.
	maxOffsetLen = 19

	// propQueueOffsets is the broker's key for those offsets.
	propQueueOffsets = "INNER_MULTI_QUEUE_OFFSET"
)

// propLen is what one property costs on the wire: key, value and two
// separators.
func propLen(key string, valueLen int) int { return len(key) + valueLen + 2 }

// queueOffsetsLen is the most the broker's INNER_MULTI_QUEUE_OFFSET takes
// for a dispatch list of n queues: one offset per queue, comma-separated.
func queueOffsetsLen(n int) int {
	if n == 0 {
		return 0
	}
	return propLen(propQueueOffsets, n*(maxOffsetLen+1)-1)
}

// countQueues returns how many queues a dispatch list names.
func countQueues[S ~string | ~[]byte](list S) int {
	if len(list) == 0 {
		return 0
	}
	n := 1
	for i := 0; i < len(list); i++ {
		if list[i] == dispatchSeparator {
			n++
		}
	}
	return n
}

// write is one property a setter writes; an empty value removes it.
type write struct{ key, value string }

// lister is what a message offers to read its properties whole:
// *primitive.Message and *primitive.MessageExt have it.
type lister interface {
	GetProperties() map[string]string
}

// remover is what a message offers to remove a property:
// *primitive.Message and *primitive.MessageExt have it.
type remover interface {
	RemoveProperty(key string) string
}

// apply checks the writes of a setter and makes them. The message's
// properties, as they will be, must fit maxMappedLen, less the room the
// broker's INNER_MULTI_QUEUE_OFFSET takes for the dispatch list it will
// carry: all of them are counted when m can list them (GetProperties), else
// those written. A removal needs m to offer RemoveProperty unless the
// property is absent. On a refusal nothing is written.
func apply(op string, m Properties, writes ...write) error {
	var size int
	dispatch := m.GetProperty(PropDispatch)
	if l, ok := m.(lister); ok {
		props := l.GetProperties()
		for _, w := range writes {
			delete(props, w.key)
		}
		for k, v := range props {
			size += propLen(k, len(v))
		}
	}
	for _, w := range writes {
		if w.value != "" {
			size += propLen(w.key, len(w.value))
		}
		if w.key == PropDispatch {
			dispatch = w.value
		}
		if w.value == "" && m.GetProperty(w.key) != "" {
			if _, ok := m.(remover); !ok {
				return newError(op, w.key, "the message has "+w.key+", which its type cannot remove", ErrInvalidProperty)
			}
		}
	}
	if size += queueOffsetsLen(countQueues(dispatch)); size > maxMappedLen {
		return errTooLarge(op, "", size)
	}
	for _, w := range writes {
		if w.value != "" {
			m.WithProperty(w.key, w.value)
		} else if m.GetProperty(w.key) != "" {
			m.(remover).RemoveProperty(w.key)
		}
	}
	return nil
}

// errTooLarge refuses properties that would take size bytes.
func errTooLarge(op, input string, size int) error {
	return newError(op, input, "the properties would take "+itoa(size)+" bytes of the "+itoa(maxMappedLen)+
		" the mapping may: RocketMQ carries 32767, and leaves the rest for the producer's, the broker's, the tag and the keys",
		ErrInvalidProperty)
}
