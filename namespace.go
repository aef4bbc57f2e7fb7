package mqttrmq

import "strings"

// RocketMQ namespaces.
//
// A RocketMQ client created with a namespace (producer.WithNamespace,
// consumer.WithNamespace; a hosted RocketMQ instance's ID, on instances that
// have one) names every topic and group {namespace}%{name} on the broker: a
// producer sends a message for "vehicles" to "ns1%vehicles", and a consumer
// hands it over with msg.Topic "ns1%vehicles", namespace and all. The MQTT
// side knows nothing of it: the namespace is not part of any MQTT topic.
//
// So the readers take a namespaced RocketMQ topic as well as a bare one
// (FromRocketMQ("ns1%vehicles", ...) reads the parent topic "vehicles"),
// and the writers return the bare parent topic, for a producer with a
// namespace to add it. rocketmq-client-go's producer prefixes msg.Topic on
// every send, without looking whether it already did: a message sent twice
// by one producer must have its Topic set back to the bare name in between,
// or be sent by a producer without a namespace, to NamespaceTopic(ns, topic).

// namespaceSeparator ends a namespace in a RocketMQ name
// (NamespaceUtil.NAMESPACE_SEPARATOR).
const namespaceSeparator = '%'

// SplitNamespace splits a RocketMQ topic as a namespaced client names it,
// {namespace}%{topic}, into its namespace and the parent topic; a topic
// without a namespace has namespace "". It refuses, with an error wrapping
// ErrInvalidTopic, what ValidateNamespace refuses in a namespace, a topic
// that ValidateParentTopic refuses (a second '%' included), and a whole name
// longer than 127 characters, which RocketMQ refuses. RocketMQ's retry and
// dead-letter topics (%RETRY%{group}, %DLQ%{group}) start with '%', an empty
// namespace, and are refused: a consumer hands a retried message over with
// its topic as it was sent. It does not allocate unless it returns an error.
func SplitNamespace(rocketmqTopic string) (namespace, topic string, err error) {
	namespace, topic, f := splitNamespace(rocketmqTopic)
	if !f.ok() {
		return "", "", f.err("SplitNamespace", rocketmqTopic, ErrInvalidTopic)
	}
	return namespace, topic, nil
}

func splitNamespace(name string) (namespace, topic string, f finding) {
	i := strings.IndexByte(name, namespaceSeparator)
	if i < 0 {
		return "", name, checkParent(name)
	}
	namespace, topic = name[:i], name[i+1:]
	if f = checkNamespace(namespace); !f.ok() {
		return "", "", f
	}
	if f = checkParent(topic); !f.ok() {
		if f.at >= 0 {
			f.at += i + 1
		}
		return "", "", f
	}
	if len(name) > maxParentLen {
		return "", "", finding{probNamespacedTooLong, maxParentLen}
	}
	return namespace, topic, fine
}

// NamespaceTopic returns the name RocketMQ gives topic in namespace,
// namespace + "%" + topic, as a producer created with the namespace would
// send to it: for a producer without one, or for a message that is sent
// more than once (see SplitNamespace). An empty namespace gives topic
// itself. It refuses, with an error wrapping ErrInvalidTopic, what
// ValidateNamespace refuses, a topic that ValidateParentTopic refuses, and a
// name longer than 127 characters.
func NamespaceTopic(namespace, topic string) (string, error) {
	const op = "NamespaceTopic"
	if f := checkParent(topic); !f.ok() {
		return "", f.err(op, topic, ErrInvalidTopic)
	}
	if namespace == "" {
		return topic, nil
	}
	if f := checkNamespace(namespace); !f.ok() {
		return "", f.err(op, namespace, ErrInvalidTopic)
	}
	name := namespace + string(namespaceSeparator) + topic
	if len(name) > maxParentLen {
		return "", finding{probNamespacedTooLong, maxParentLen}.err(op, name, ErrInvalidTopic)
	}
	return name, nil
}

// ValidateNamespace reports whether namespace can name a RocketMQ
// namespace that the mapping reads back: at least one of [a-zA-Z0-9_-], the
// characters of a hosted instance's ID. It refuses, with an error wrapping
// ErrInvalidTopic, an empty namespace and any other character: '%' would
// make {namespace}%{topic} split in two places, '|' is the tag separator,
// and RocketMQ allows nothing else in a name. A namespace of more than 125
// characters leaves no room for a topic in RocketMQ's 127.
func ValidateNamespace(namespace string) error {
	if f := checkNamespace(namespace); !f.ok() {
		return f.err("ValidateNamespace", namespace, ErrInvalidTopic)
	}
	return nil
}

func checkNamespace(ns string) finding {
	if ns == "" {
		return finding{probNamespaceEmpty, 0}
	}
	if i := indexNotIDByte(ns); i >= 0 {
		return finding{probNamespaceChar, i}
	}
	if len(ns) > maxParentLen-2 {
		return finding{probNamespacedTooLong, maxParentLen - 2}
	}
	return fine
}
