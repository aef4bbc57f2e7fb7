package gateway

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/internal/broker"
	"github.com/mqttrmq/mqttrmq/internal/cluster"
	"github.com/mqttrmq/mqttrmq/internal/transport"
)

// Config configures a Gateway. Only NameServer and ParentTopics are required.
type Config struct {
	// Listen is the MQTT-over-TCP listener's address. Default
	// "127.0.0.1:1883"; use ":1883" to serve every interface, "127.0.0.1:0"
	// for a free port.
	Listen string

	// ListenTLS, ListenWebSocket and ListenSecureWebSocket are the
	// addresses of the MQTT-over-TLS listener (port 8883 by custom), of
	// MQTT over WebSocket and of MQTT over secure WebSocket, both at
	// WebSocketPath; empty leaves each off. The TLS ones need TLS.
	ListenTLS             string
	ListenWebSocket       string
	ListenSecureWebSocket string

	// WebSocketPath is where MQTT over WebSocket is served. Default
	// "/mqtt".
	WebSocketPath string

	// TLS holds the server's certificate for the TLS listeners: its
	// Certificates, and ClientAuth with ClientCAs for devices with
	// certificates of their own, MinVersion, MaxVersion, CipherSuites and
	// NextProtos are honoured (the event loop's TLS is a fork of
	// crypto/tls, whose callbacks take other types).
	TLS *tls.Config

	// NameServer lists the RocketMQ name servers, "ip:port" each (the
	// RocketMQ client refuses host names such as localhost).
	NameServer []string

	// Credentials sign every request to an ACL-enabled RocketMQ; zero for
	// none.
	Credentials primitive.Credentials

	// ParentTopics are the RocketMQ topics the gateway serves: the first
	// level of every MQTT topic a device may publish or subscribe to.
	ParentTopics []string

	// Namespace is the RocketMQ namespace of the parent topics and of the
	// gateway's consumer group, for a RocketMQ that has namespaces (a
	// hosted instance's ID, on instances that have one); empty for none.
	// RocketMQ names them {Namespace}%{name}; MQTT topics do not change.
	// Letters, digits, '-' and '_' (see mqttrmq.ValidateNamespace).
	Namespace string

	// InstanceID names this gateway among the others sharing one RocketMQ.
	// It must stay the same across restarts: it names the consumer group
	// whose offsets let a restarted instance resume where it stopped.
	// Letters, digits, '-' and '_'. Default: the host name, sanitised.
	InstanceID string

	// UplinkTag is the tag of every message the gateway sends for a device,
	// so that a backend can subscribe to device traffic alone: not MQ2MQTT,
	// and no '|', space, '*' or control character. Default UplinkTag.
	UplinkTag string

	// Dialect is how the mapping is written on RocketMQ messages: nil or
	// mqttrmq.AlibabaCloud for the hosted service's property names,
	// mqttrmq.ApacheRocketMQMQTT for Apache RocketMQ-MQTT's (whose uplink tag
	// is always MQTT_COMMON, so UplinkTag does not apply).
	Dialect *mqttrmq.Dialect

	// Auth decides who may connect. Default AllowAll.
	Auth Authenticator

	// RequireHostedClientID refuses client IDs that are not of the hosted
	// service's GroupID@@@DeviceID form.
	RequireHostedClientID bool

	// MaxPayload is the largest payload accepted from a device, in bytes.
	// Default 64 KB, the hosted service's limit; at most 4 MB less 64 KB,
	// so that a message and its properties fit in RocketMQ's default 4 MB
	// message limit (a larger one would be refused by RocketMQ on every
	// attempt, and its device disconnected each time it resends it).
	MaxPayload int

	// MaxSubscriptionsPerClient refuses subscriptions past this count per
	// client; 0 means no limit (the hosted service allows 30).
	MaxSubscriptionsPerClient int

	// MaxInflight is how many QoS 1 and 2 messages one client may have
	// unacknowledged; an MQTT 5 client's Receive Maximum lowers it.
	// Default 32.
	MaxInflight int

	// MaxQueuedMessages bounds the QoS 1 and 2 messages waiting for one
	// client beyond MaxInflight, and MaxQueuedBytes the bytes written to
	// its connection that it has not taken yet. A connected client over
	// either is a slow consumer: disconnected and counted, so that it
	// never holds up anyone else, its persistent session keeping its QoS
	// 1 and 2 messages for the reconnect. An offline session over
	// MaxQueuedMessages drops its oldest message, counted. Defaults 1000
	// messages and 1 MiB.
	MaxQueuedMessages int
	MaxQueuedBytes    int

	// ReceiveMaximum is how many QoS 1 and 2 publishes one client may
	// have waiting for RocketMQ at once. Default 64.
	ReceiveMaximum int

	// ServerKeepAlive, when set, is the longest keep-alive an MQTT 5
	// client may have: one asking for more, or for none, is told to use
	// this instead. Whole seconds, up to 65535.
	ServerKeepAlive time.Duration

	// MaxSessionExpiry is how long a persistent session outlives its
	// connection at most: MQTT 3.1.1 persistent sessions get exactly
	// this, MQTT 5 sessions asking for longer are cut to it. Default 72
	// hours, the hosted service's three days of offline messages.
	MaxSessionExpiry time.Duration

	// SendTimeout bounds one attempt to send to RocketMQ (the RocketMQ
	// client's own retries included). Default 3 s.
	SendTimeout time.Duration

	// SendRetryFor is how long the gateway keeps retrying a QoS 1 or 2
	// publish RocketMQ did not take before it gives up and disconnects the
	// device unacknowledged (the device resends it when it reconnects). The
	// publish holds its device's read loop meanwhile, and the broker drops a
	// connection silent for 1.5 × keep-alive, so each device's budget is
	// also capped at half its keep-alive. Default 10 s.
	SendRetryFor time.Duration

	// SendLinger is how long a device's message may wait for others
	// before it is sent to RocketMQ, so that the messages of many devices
	// go out in one write and their answers come back in one read: at a
	// fleet's pace (many devices, each sending seldom) most of the
	// gateway's CPU a message goes to a write, a read and a wake-up of
	// its own, and a linger of a few milliseconds shares them among the
	// messages that come meanwhile. It adds up to its length to a
	// publish's acknowledgement, only when the gateway is not already
	// busy sending, and only where it pays: while messages come fast
	// enough for three or more, on average, to come within it, and while
	// lingers do gather them (not for one device whose every publish
	// waits for the one before to be acknowledged); otherwise a message
	// goes at once. Default 5 ms (DefaultSendLinger); negative: none,
	// every message goes at once; at most 1 s. The README's fleet
	// benchmark measures what it saves and what it costs.
	SendLinger time.Duration

	// ConnectTimeout is how long a new connection has to send CONNECT.
	// Default 10 s.
	ConnectTimeout time.Duration

	// Cluster names the system of gateways this instance is part of: the
	// instances with one Cluster on one RocketMQ (and one Namespace) share
	// their clients' interest, their persistent sessions and the routing
	// of backends' messages. It names what the cluster keeps in RocketMQ:
	// the topics {Cluster}_directory (4 queues or more) and
	// {Cluster}_route, which are created on first use where RocketMQ
	// creates topics so and must be created beforehand elsewhere; the
	// consumer group {Cluster}-router; and Light Message Queues
	// %LMQ%{Cluster}-… . Letters, digits, '-' and '_'; at most 40
	// characters with Namespace. Default "mqttrmq".
	Cluster string

	// SnapshotInterval is how often an instance writes all it holds to
	// the directory; an instance silent for three times this is taken
	// for dead. Default 30 s.
	SnapshotInterval time.Duration

	// MaxOfflineMessages caps the messages a persistent session gets of
	// what came while it was away: the newest this many, the older ones
	// dropped and counted. Default 10,000.
	MaxOfflineMessages int

	// StatusTopic, when set, is the RocketMQ topic that receives a
	// presence event (connect, disconnect, tcpclean) for every client, as
	// the hosted service's client status notifications; see
	// PresenceStats. It must exist, and not be a parent topic.
	StatusTopic string

	// StatusBacklog bounds the presence events waiting for RocketMQ;
	// past it new ones are dropped and counted. Default
	// DefaultStatusBacklog.
	StatusBacklog int

	// Tokens, when set, lets clients log in with the hosted service's
	// Token mode and serves its token service (TokenHandler).
	Tokens *Tokens

	// Permissions, when set, decides what each AccessKey and Group ID
	// may publish and subscribe to (ParsePermissions).
	Permissions *Permissions

	// Logger receives the gateway's logs. Default slog.Default().
	Logger *slog.Logger

	// EventLogLevel is the level of the one line logged per connection
	// event (connected, disconnected) and per refusal, each with the
	// client ID, the remote address and the reason code. Default (the
	// zero value) slog.LevelInfo; slog.LevelDebug keeps them out of an
	// info-level log.
	EventLogLevel slog.Level

	// LogRate bounds how many lines of one kind (one message: "connection
	// refused", "publish refused", ...) are logged per second, so that a
	// misbehaving client reconnecting or publishing in a loop cannot
	// flood the log; a burst of ten seconds' worth passes at once, and
	// the next line that passes says how many were dropped. Default 100;
	// negative for no limit.
	LogRate int

	// DrainGrace is how long Drain takes to close the MQTT 3.1.1 clients,
	// which cannot be told to leave: evenly over it, so that they
	// reconnect elsewhere gradually. Default DefaultDrainGrace.
	DrainGrace time.Duration

	// ServerReference, when set, is where Drain sends MQTT 5 clients: their
	// DISCONNECT carries 0x9C (use another server), or 0x9D (server moved)
	// with ServerMoved, and this reference [MQTT-4.11], e.g.
	// "mqtt-2.example.com:1883". Empty: 0x8B (server shutting down).
	ServerReference string
	ServerMoved     bool
}

// UplinkTag is the default tag of the messages the gateway sends for devices.
const UplinkTag = "MQTT2MQ"

// Defaults.
const (
	DefaultListen         = "127.0.0.1:1883"
	DefaultMaxPayload     = 64 * 1024
	DefaultSendTimeout    = 3 * time.Second
	DefaultSendRetryFor   = 10 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultSendLinger     = 5 * time.Millisecond
	DefaultMaxQueuedBytes = 1 << 20

	DefaultCluster            = "mqttrmq"
	DefaultSnapshotInterval   = 30 * time.Second
	DefaultMaxOfflineMessages = 10_000
)

// packetRoom is what the largest PUBLISH the gateway takes may hold beyond
// its payload: Config.MaxPayload plus packetRoom is the Maximum Packet
// Size it tells MQTT 5 clients, and refuses past (0x95).
const packetRoom = 8 << 10

// maxSendLinger bounds SendLinger: a linger is worth a few milliseconds,
// and one near a send's timeout would spend the send's time waiting.
const maxSendLinger = time.Second

// maxPayloadLimit leaves room within RocketMQ's default 4 MB message limit
// for the properties (at most 32767 bytes [SPEC §4]), the topic and the
// message's fixed fields.
const maxPayloadLimit = 4<<20 - 64<<10

// ErrConfig is what every configuration refusal of New unwraps to.
var ErrConfig = errors.New("gateway: invalid configuration")

// withDefaults returns c with every zero field defaulted, or an error
// wrapping ErrConfig naming the first invalid field.
func (c Config) withDefaults() (Config, error) {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if len(c.NameServer) == 0 {
		return c, fmt.Errorf("%w: NameServer is empty", ErrConfig)
	}
	// The client's own check, which it would otherwise make only at Start.
	if err := primitive.NamesrvAddr(c.NameServer).Check(); err != nil {
		return c, fmt.Errorf("%w: NameServer %q: %w", ErrConfig, c.NameServer, err)
	}
	if len(c.ParentTopics) == 0 {
		return c, fmt.Errorf("%w: ParentTopics is empty", ErrConfig)
	}
	seen := map[string]bool{}
	for _, t := range c.ParentTopics {
		if err := mqttrmq.ValidateParentTopic(t); err != nil {
			return c, fmt.Errorf("%w: ParentTopics: %w", ErrConfig, err)
		}
		if seen[t] {
			return c, fmt.Errorf("%w: ParentTopics lists %q twice", ErrConfig, t)
		}
		seen[t] = true
	}
	if c.Namespace != "" {
		for _, t := range c.ParentTopics {
			if _, err := mqttrmq.NamespaceTopic(c.Namespace, t); err != nil {
				return c, fmt.Errorf("%w: Namespace: %w", ErrConfig, err)
			}
		}
	}
	if c.InstanceID == "" {
		host, _ := os.Hostname()
		c.InstanceID = sanitizeID(host)
	}
	if err := mqttrmq.ValidateParentTopic(c.InstanceID); err != nil || len(c.InstanceID) > 64 {
		return c, fmt.Errorf("%w: InstanceID %q must be 1–64 letters, digits, '-' or '_'", ErrConfig, c.InstanceID)
	}
	if c.UplinkTag == "" {
		c.UplinkTag = UplinkTag
	}
	// A tag travels as a message property (TAGS), which a control
	// character would corrupt or extend [SPEC §4]; '|', ' ' and '*' are
	// the syntax of the consumers' tag expressions.
	if c.UplinkTag == mqttrmq.TagToMQTT || strings.ContainsAny(c.UplinkTag, "| *") || strings.ContainsFunc(c.UplinkTag, unicode.IsControl) {
		return c, fmt.Errorf("%w: UplinkTag %q must differ from %s and hold no '|', space, '*' or control character", ErrConfig, c.UplinkTag, mqttrmq.TagToMQTT)
	}
	if c.Dialect == nil {
		c.Dialect = mqttrmq.AlibabaCloud
	}
	if c.Auth == nil {
		c.Auth = AllowAll{}
	}
	if c.MaxPayload == 0 {
		c.MaxPayload = DefaultMaxPayload
	}
	if c.MaxPayload < 0 || c.MaxSubscriptionsPerClient < 0 {
		return c, fmt.Errorf("%w: negative limit", ErrConfig)
	}
	if c.MaxPayload > maxPayloadLimit {
		return c, fmt.Errorf("%w: MaxPayload %d is over %d bytes", ErrConfig, c.MaxPayload, maxPayloadLimit)
	}
	if c.SendTimeout == 0 {
		c.SendTimeout = DefaultSendTimeout
	}
	if c.SendRetryFor == 0 {
		c.SendRetryFor = DefaultSendRetryFor
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.SendTimeout < 0 || c.SendRetryFor < 0 || c.ConnectTimeout < 0 || c.MaxSessionExpiry < 0 {
		return c, fmt.Errorf("%w: negative timeout", ErrConfig)
	}
	switch {
	case c.SendLinger == 0:
		c.SendLinger = DefaultSendLinger
	case c.SendLinger < 0:
		c.SendLinger = 0 // none: the sender's word for it
	case c.SendLinger > maxSendLinger:
		return c, fmt.Errorf("%w: SendLinger %v is over %v", ErrConfig, c.SendLinger, maxSendLinger)
	}
	if c.MaxQueuedBytes == 0 {
		c.MaxQueuedBytes = DefaultMaxQueuedBytes
	}
	if c.Cluster == "" {
		c.Cluster = DefaultCluster
	}
	if err := mqttrmq.ValidateParentTopic(c.Cluster); err != nil || !c.names().Check(64) {
		return c, fmt.Errorf("%w: Cluster %q must be letters, digits, '-' or '_', at most 40 characters with Namespace", ErrConfig, c.Cluster)
	}
	if c.SnapshotInterval == 0 {
		c.SnapshotInterval = DefaultSnapshotInterval
	}
	if c.MaxOfflineMessages == 0 {
		c.MaxOfflineMessages = DefaultMaxOfflineMessages
	}
	if c.SnapshotInterval < 0 || c.MaxOfflineMessages < 0 {
		return c, fmt.Errorf("%w: negative SnapshotInterval or MaxOfflineMessages", ErrConfig)
	}
	if c.MaxInflight < 0 || c.MaxInflight > 65535 || c.MaxQueuedMessages < 0 || c.MaxQueuedBytes < 0 || c.ReceiveMaximum < 0 || c.ReceiveMaximum > 65535 {
		return c, fmt.Errorf("%w: MaxInflight and ReceiveMaximum must be 0-65535, MaxQueuedMessages and MaxQueuedBytes 0 or more", ErrConfig)
	}
	if c.ServerKeepAlive < 0 || c.ServerKeepAlive > 65535*time.Second || c.ServerKeepAlive%time.Second != 0 {
		return c, fmt.Errorf("%w: ServerKeepAlive %v must be whole seconds up to 65535", ErrConfig, c.ServerKeepAlive)
	}
	if (c.ListenTLS != "" || c.ListenSecureWebSocket != "") && (c.TLS == nil || len(c.TLS.Certificates) == 0) {
		return c, fmt.Errorf("%w: a TLS listener needs TLS with a certificate", ErrConfig)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.LogRate == 0 {
		c.LogRate = DefaultLogRate
	}
	if c.DrainGrace == 0 {
		c.DrainGrace = DefaultDrainGrace
	}
	if c.DrainGrace < 0 {
		return c, fmt.Errorf("%w: negative DrainGrace", ErrConfig)
	}
	if c.ServerMoved && c.ServerReference == "" {
		return c, fmt.Errorf("%w: ServerMoved needs a ServerReference", ErrConfig)
	}
	if err := c.checkPresence(); err != nil {
		return c, err
	}
	if err := c.checkTokens(); err != nil {
		return c, err
	}
	return c, nil
}

// sanitizeID keeps the letters, digits, '-' and '_' of s, at most 64.
func sanitizeID(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 128 && (r == '-' || r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') && b.Len() < 64 {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "gateway"
	}
	return b.String()
}

// apache reports whether the configuration speaks Apache RocketMQ-MQTT's dialect.
func (c Config) apache() bool { return c.Dialect.Is(mqttrmq.ApacheRocketMQMQTT) }

// brokerOptions are the MQTT core's limits.
func (c Config) brokerOptions(log *slog.Logger) broker.Options {
	return broker.Options{
		ReceiveMaximum:    uint16(c.ReceiveMaximum),
		MaxInflight:       uint16(c.MaxInflight),
		MaxQueuedMessages: c.MaxQueuedMessages,
		// Room for a topic and properties around the largest payload, as
		// much as RocketMQ's 32 KB of properties can carry with some to spare.
		MaxPacketSize:    uint32(c.MaxPayload + packetRoom),
		ServerKeepAlive:  uint16(c.ServerKeepAlive / time.Second),
		MaxSessionExpiry: c.MaxSessionExpiry,
		MaxSubscriptions: c.MaxSubscriptionsPerClient,
		Delegated:        true, // persistent sessions' messages are in RocketMQ
		ConnectTimeout:   c.ConnectTimeout,
		Logger:           log,
		EventLevel:       c.EventLogLevel,
	}
}

// transportConfig says what to listen on.
func (c Config) transportConfig(log *slog.Logger) transport.Config {
	return transport.Config{
		TCP:             c.Listen,
		TLS:             c.ListenTLS,
		WebSocket:       c.ListenWebSocket,
		SecureWebSocket: c.ListenSecureWebSocket,
		WebSocketPath:   c.WebSocketPath,
		TLSConfig:       c.TLS,
		MaxWriteBuffer:  c.MaxQueuedBytes,
		Logger:          log,
	}
}

// names names what the cluster keeps in RocketMQ.
func (c Config) names() cluster.Names {
	return cluster.Names{Namespace: c.Namespace, Cluster: c.Cluster}
}

// directoryPropagation bounds how long a change takes to reach every
// instance through the directory: a write and a long poll's answer, with
// room for a loaded machine.
func (c Config) directoryPropagation() time.Duration { return 2 * time.Second }
