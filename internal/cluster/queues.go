package cluster

import (
	"crypto/sha256"
	"encoding/base32"
)

// Names names what a cluster keeps in RocketMQ. Every name starts with
// the cluster's name, so that several clusters (and namespaces) share one
// RocketMQ without meeting.
type Names struct {
	// Namespace is the RocketMQ namespace the cluster lives in, "" for
	// none; topics and groups are prefixed with "{Namespace}%", as the
	// RocketMQ clients do.
	Namespace string
	// Cluster is the cluster's name: letters, digits, '-' and '_'.
	Cluster string
}

// lmqPrefix starts every Light Message Queue's name; the broker appends a
// message to each queue its INNER_MULTI_DISPATCH lists.
const lmqPrefix = "%LMQ%"

// maxQueueName is the longest topic name RocketMQ takes.
const maxQueueName = 127

func (n Names) withNamespace(s string) string {
	if n.Namespace != "" {
		return n.Namespace + "%" + s
	}
	return s
}

// lmq names a Light Message Queue of the cluster.
func (n Names) lmq(kind, rest string) string {
	return lmqPrefix + n.withNamespace(n.Cluster+"-"+kind+"-"+rest)
}

// Group names one of the cluster's consumer groups.
func (n Names) Group(role string) string { return n.withNamespace(n.Cluster + "-" + role) }

// Topic names one of the cluster's topics: "{Cluster}_{role}".
func (n Names) Topic(role string) string { return n.withNamespace(n.Cluster + "_" + role) }

// Inbox names the Light Message Queue an instance reads: every message
// with a receiver on that instance is dispatched to it. Instance IDs are
// letters, digits, '-' and '_', which RocketMQ takes in a queue name.
func (n Names) Inbox(instance string) string { return n.lmq("gw", instance) }

// sessionEncoding writes a client ID in the letters and digits a queue
// name may hold: lowercase base32 without padding, one way back.
var sessionEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Session names the Light Message Queue that keeps a persistent session's
// messages: every message for the session is dispatched to it, and
// whichever instance serves the session reads it from the offset the
// session acknowledged. A client ID too long to write out in a queue name
// is named by its SHA-256 hash instead ("h" and 32 characters).
func (n Names) Session(clientID string) string {
	q := n.lmq("s", sessionEncoding.EncodeToString([]byte(clientID)))
	if len(q) <= maxQueueName {
		return q
	}
	sum := sha256.Sum256([]byte(clientID))
	return n.lmq("s", "h"+sessionEncoding.EncodeToString(sum[:20]))
}

// Check reports whether every name fits in RocketMQ's limits, whatever the
// instance (up to maxInstance characters) and client ID.
func (n Names) Check(maxInstance int) bool {
	longest := max(len(n.lmq("s", "h"))+32, len(n.lmq("gw", ""))+maxInstance, len(n.Topic("directory")), len(n.Group("directory-"))+maxInstance)
	return longest <= maxQueueName
}
