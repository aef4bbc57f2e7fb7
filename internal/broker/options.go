package broker

import (
	"log/slog"
	"time"

	"github.com/mqttrmq/mqttrmq/internal/packet"
)

// Options sets the broker's limits. The zero value of a field takes the
// default named beside it.
type Options struct {
	// ReceiveMaximum is how many QoS 1 and 2 publishes a client may have
	// unacknowledged towards the broker [MQTT-3.2.2.3.3]. An MQTT 5 client
	// over it is disconnected (0x93); an MQTT 3.1.1 client, which cannot
	// be told, is read no further until an acknowledgement frees a slot.
	// Default 64.
	ReceiveMaximum uint16

	// MaxInflight is how many QoS 1 and 2 messages the broker has
	// unacknowledged towards one client; an MQTT 5 client's own Receive
	// Maximum lowers it. Default 32.
	MaxInflight uint16

	// MaxQueuedMessages bounds the QoS 1 and 2 messages waiting for one
	// client beyond its in-flight window. A connected client over it is a
	// slow consumer: disconnected and counted, its persistent session
	// keeping what was queued; a session that is offline drops its oldest
	// message instead, counted. Default 1000.
	MaxQueuedMessages int

	// MaxPacketSize is the largest packet the broker takes, in bytes
	// [MQTT-3.2.2.3.6]; larger ones close the connection (0x95). Default
	// 1 MiB.
	MaxPacketSize uint32

	// TopicAliasMaximum is how many topic aliases an MQTT 5 client may set
	// towards the broker [MQTT-3.2.2.3.8]. Default 32; the broker sets up
	// to the client's own maximum towards it.
	TopicAliasMaximum uint16

	// ServerKeepAlive, when set, is the longest keep-alive an MQTT 5
	// client may have: one asking for more, or for none, is told to use
	// this instead [MQTT-3.2.2.3.14]. MQTT 3.1.1 clients, which cannot be
	// told, keep their own.
	ServerKeepAlive uint16

	// MaxSessionExpiry caps how long a persistent session outlives its
	// connection: an MQTT 3.1.1 persistent session (clean session 0),
	// which MQTT lets live for ever, gets exactly this; an MQTT 5
	// session's expiry interval is lowered to it. Default 72 hours.
	MaxSessionExpiry time.Duration

	// ConnectTimeout is how long a new connection has to send CONNECT.
	// Default 10 s.
	ConnectTimeout time.Duration

	// MaxPausedBytes bounds what the broker keeps unread from an MQTT
	// 3.1.1 client that is over ReceiveMaximum; over it the client is
	// disconnected, and resends its unacknowledged publishes when it
	// reconnects. Default 256 KiB plus MaxPacketSize.
	MaxPausedBytes int

	// MaxSubscriptions bounds the subscriptions of one session; a new
	// filter past it is refused (0x97). 0 for no limit.
	MaxSubscriptions int

	// MaxRetained bounds the retained messages kept; a new topic over it
	// is not retained (counted). Default 100,000.
	MaxRetained int

	// Delegated hands persistent sessions' messages to the program:
	// while a persistent session is offline the broker keeps its
	// subscriptions but no message for it (the program keeps them, and
	// delivers them again with DeliverTo when the client is back); what
	// it had in flight or queued when its connection ended stays, to be
	// resent if it comes back here [MQTT-4.4.0-1]. A hooks
	// value that is also a SessionKeeper restores, on CONNECT, sessions
	// the broker does not hold.
	Delegated bool

	// Logger receives one line per connection event (connected,
	// disconnected) and per refusal the broker decides itself, at
	// EventLevel, with the client ID, the remote address and the reason
	// code; refusals a hook decides are the hook's to log, since it knows
	// why. Default slog.Default().
	Logger *slog.Logger

	// EventLevel is the level of those lines. Default (the zero value)
	// slog.LevelInfo.
	EventLevel slog.Level

	// Observer hears what the broker measures: CONNECT handling times and
	// the moment messages are written to clients. Default none.
	Observer Observer
}

// Defaults.
const (
	DefaultReceiveMaximum    = 64
	DefaultMaxInflight       = 32
	DefaultMaxQueuedMessages = 1000
	DefaultMaxPacketSize     = 1 << 20
	DefaultTopicAliasMaximum = 32
	DefaultMaxSessionExpiry  = 72 * time.Hour
	DefaultConnectTimeout    = 10 * time.Second
	DefaultMaxRetained       = 100_000
)

func (o Options) withDefaults() Options {
	if o.ReceiveMaximum == 0 {
		o.ReceiveMaximum = DefaultReceiveMaximum
	}
	if o.MaxInflight == 0 {
		o.MaxInflight = DefaultMaxInflight
	}
	if o.MaxQueuedMessages <= 0 {
		o.MaxQueuedMessages = DefaultMaxQueuedMessages
	}
	if o.MaxPacketSize == 0 {
		o.MaxPacketSize = DefaultMaxPacketSize
	}
	if o.MaxPacketSize > packet.MaxRemainingLength+5 {
		o.MaxPacketSize = packet.MaxRemainingLength + 5
	}
	if o.TopicAliasMaximum == 0 {
		o.TopicAliasMaximum = DefaultTopicAliasMaximum
	}
	if o.MaxSessionExpiry <= 0 {
		o.MaxSessionExpiry = DefaultMaxSessionExpiry
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.MaxPausedBytes <= 0 {
		o.MaxPausedBytes = 256<<10 + int(o.MaxPacketSize)
	}
	if o.MaxRetained <= 0 {
		o.MaxRetained = DefaultMaxRetained
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	return o
}
