package gateway

import (
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// A message reaches the instances and sessions that want it through
// routed copies: messages on the cluster's route topic whose body is the
// original, properties and body, and whose INNER_MULTI_DISPATCH lists
// the Light Message Queues of those receivers (as many as fit; more
// copies list the rest), to which the broker appends the copy. The
// original, on its parent topic, stays as the mapping wrote it.

// Properties the gateway sets on a routed copy, which only gateways read.
const (
	propRoutedTopic = "mqttrmqTopic" // the original's topic, without the namespace
	propRoutedBorn  = "mqttrmqBorn"  // the original's born time, Unix ms
	propRoutedID    = "mqttrmqMsgId" // the original's message ID
	propDispatch    = "INNER_MULTI_DISPATCH"
	propQueueOffset = "INNER_MULTI_QUEUE_OFFSET"
)

// Property budgets, in bytes of RocketMQ's property encoding, which holds
// 32767 bytes: maxProperties is what the mapping lets a message fill
// (see mqttrmq.ToRocketMQ), and a queue listed costs its name, a comma,
// and the offset of up to 20 digits and a comma the broker writes for it
// into INNER_MULTI_QUEUE_OFFSET.
const (
	maxProperties  = 31743
	queueOverhead  = 1 + 21
	routedCopyRoom = maxProperties - 512 // the copy's few other properties
)

// dispatchCost is what listing queues costs.
func dispatchCost(queues []string) int {
	n := 0
	for _, q := range queues {
		n += len(q) + queueOverhead
	}
	return n
}

// routedCopies makes the copies that dispatch a message to queues, each
// listing as many as fit. topic is the route topic as RocketMQ knows it;
// origTopic, id and born are the original's, origTopic without the
// namespace.
func routedCopies(topic, origTopic, id string, born time.Time, props string, body []byte, queues []string) []*primitive.Message {
	env := envelope(props, body)
	var out []*primitive.Message
	for len(queues) > 0 {
		n, cost := 0, 0
		for n < len(queues) && (n == 0 || cost+len(queues[n])+queueOverhead <= routedCopyRoom) {
			cost += len(queues[n]) + queueOverhead
			n++
		}
		m := primitive.NewMessage(topic, env)
		m.WithProperty(propRoutedTopic, origTopic)
		m.WithProperty(propRoutedID, id)
		m.WithProperty(propRoutedBorn, strconv.FormatInt(born.UnixMilli(), 10))
		m.WithProperty(propDispatch, strings.Join(queues[:n], ","))
		out = append(out, m)
		queues = queues[n:]
	}
	return out
}

// envelope is a routed copy's body: the original's encoded properties,
// after their length, and its body.
func envelope(props string, body []byte) []byte {
	b := binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen64+len(props)+len(body)), uint64(len(props)))
	b = append(b, props...)
	return append(b, body...)
}

var errEnvelope = errors.New("gateway: routed copy: malformed body")

// openEnvelope reads a routed copy's body back into the original's
// properties and body; the body aliases b.
func openEnvelope(b []byte) (*primitive.Message, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, errEnvelope
	}
	m := &primitive.Message{Body: b[k+int(n):]}
	m.UnmarshalProperties(b[k : k+int(n)])
	return m, nil
}

// isRouted reports whether a message is a routed copy.
func isRouted(m *primitive.MessageExt) bool { return m.GetProperty(propRoutedTopic) != "" }
