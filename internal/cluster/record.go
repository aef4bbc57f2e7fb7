package cluster

import (
	"encoding/json"
	"fmt"

	"github.com/mqttrmq/mqttrmq/internal/broker"
)

// Session is a persistent session as the directory knows it: enough for
// any instance to serve it (its subscriptions; its messages are in its
// session queue) and for every instance to dispatch to it.
type Session struct {
	Client string                     `json:"c"`
	Subs   []broker.SubscriptionState `json:"subs,omitempty"`
	// Owner is the instance serving it, or the one that last did.
	Owner  string `json:"o"`
	Online bool   `json:"on,omitempty"`
	// Version orders the records of one session: the time, in
	// nanoseconds, of the connection that made Owner its owner. A record
	// with a lower version than the one held is stale.
	Version int64 `json:"v"`
	// Expires is when an offline session ends, in Unix nanoseconds; 0
	// while it is online.
	Expires int64 `json:"x,omitempty"`
}

// Record kinds. An instance's records are applied in the order it wrote
// them; a snapshot (snapBegin … snapEnd) replaces all that instance said
// before.
const (
	kindConnect     = "conn"  // Client connected here at At
	kindDisconnect  = "disc"  // Client's connection here ended
	kindSubscribe   = "sub"   // a clean session here subscribed to Filter
	kindUnsubscribe = "unsub" // ... and unsubscribed
	kindSession     = "sess"  // Session's record, whole
	kindSessionGone = "gone"  // Session ended (expired, or a clean start)
	kindSnapBegin   = "snap"  // what follows, until snapEnd, is all this instance holds
	kindSnapEnd     = "end"
	kindLeave       = "bye" // this instance closed: forget it now
)

// record is one entry of the directory.
type record struct {
	Kind     string   `json:"k"`
	Instance string   `json:"i"`
	Client   string   `json:"c,omitempty"`
	Filter   string   `json:"f,omitempty"`
	Count    int      `json:"n,omitempty"` // how many clean sessions here hold Filter, in a snapshot
	At       int64    `json:"t,omitempty"`
	Session  *Session `json:"s,omitempty"`
	// Persistent marks the connect record of a client whose session
	// persists, which its session's record follows.
	Persistent bool `json:"p,omitempty"`
}

func encodeRecords(rs []record) ([]byte, error) { return json.Marshal(rs) }

func decodeRecords(b []byte) ([]record, error) {
	var rs []record
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("cluster: directory message: %w", err)
	}
	return rs, nil
}
