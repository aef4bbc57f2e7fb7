package broker

// Hooks is what the broker asks of the program it serves: who may connect,
// what may be subscribed, and where published messages go. The broker
// never routes a client's publish to subscribers itself: it hands it to
// Publish, and delivers only what Server.Publish and Server.PublishTo give
// it. Every method runs on a connection's event loop or a delivery path
// and must return without blocking on I/O.
type Hooks interface {
	// Authenticate decides a CONNECT: Success lets the client in; a
	// refusal is sent in the CONNACK (as MQTT 3.1.1's nearest return code
	// for a 3.1.1 client) and the connection closed.
	Authenticate(c *Client, username string, password []byte) ReasonCode

	// AuthorizeSubscribe decides one filter of a SUBSCRIBE, already valid
	// MQTT: Success grants it; a refusal is its SUBACK code (0x80 for an
	// MQTT 3.1.1 client).
	AuthorizeSubscribe(c *Client, filter string, qos byte) ReasonCode

	// Publish takes an application message the client published, or its
	// will. For QoS 1 and 2, ack is called exactly once, from any
	// goroutine: Success once the message is safely stored, a refusal
	// code to acknowledge it with (MQTT 3.1.1, which has no refusal,
	// acknowledges and drops it), or Unacknowledged to disconnect the
	// client without an acknowledgement, so that it resends the message.
	// ack is nil for QoS 0 and for wills. m and its payload belong to the
	// hook from here on.
	Publish(c *Client, m *Message, ack func(ReasonCode))

	// Subscribed and Unsubscribed report a session's filters as they come
	// and go (an ended session unsubscribes from all of them), so that
	// interest can be shared beyond the broker.
	Subscribed(clientID, filter string)
	Unsubscribed(clientID, filter string)

	// Resubscribed reports a subscription a SUBSCRIBE replaced: the filter
	// was held already, and the new subscription's options (its QoS, no
	// local, retain as published, retain handling, identifier) replace the
	// old ones [MQTT-3.8.4-3]. The filter is held as before; Subscribed is
	// not called for it again.
	Resubscribed(clientID, filter string)

	// Connected is called once a client's CONNACK is written, and
	// Disconnected once its connection has ended; err is nil for a
	// DISCONNECT from the client.
	Connected(c *Client)
	Disconnected(c *Client, err error)
}

// Unacknowledged is what a Publish hook passes to ack when the message
// could not be stored: the broker disconnects the client without an
// acknowledgement. It is no MQTT reason code and never goes on the wire.
const Unacknowledged ReasonCode = 0xFF

// NopHooks lets every client in, grants every subscription, and drops
// every publish. Embed it to override only some hooks.
type NopHooks struct{}

// Authenticate lets everyone in.
func (NopHooks) Authenticate(*Client, string, []byte) ReasonCode { return Success }

// AuthorizeSubscribe grants every filter.
func (NopHooks) AuthorizeSubscribe(*Client, string, byte) ReasonCode { return Success }

// Publish acknowledges and drops every message.
func (NopHooks) Publish(_ *Client, _ *Message, ack func(ReasonCode)) {
	if ack != nil {
		ack(Success)
	}
}

// Subscribed does nothing.
func (NopHooks) Subscribed(string, string) {}

// Unsubscribed does nothing.
func (NopHooks) Unsubscribed(string, string) {}

// Resubscribed does nothing.
func (NopHooks) Resubscribed(string, string) {}

// Connected does nothing.
func (NopHooks) Connected(*Client) {}

// Disconnected does nothing.
func (NopHooks) Disconnected(*Client, error) {}

// SessionKeeper is what Hooks may also be, to keep persistent sessions
// beyond the broker (see Options.Delegated).
type SessionKeeper interface {
	// LoadSession returns the saved state of a client's persistent
	// session, or nil for none, when the client connects without a clean
	// start and the broker holds no session for it. Its subscriptions
	// are restored and the CONNACK says the session is present; its
	// messages are the keeper's to deliver.
	LoadSession(clientID string) *SessionState

	// Drained is called when a connected session has nothing left in
	// flight or queued, after an acknowledgement emptied it.
	Drained(clientID string)

	// SessionEnded is called when a persistent session ends here: it
	// expired, or its client started clean.
	SessionEnded(clientID string)
}
