package broker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqttrmq/mqttrmq/internal/packet"
	"github.com/mqttrmq/mqttrmq/internal/transport"
)

// Server is the broker: it holds every client's connection and session,
// and delivers the messages it is given to the subscribers and clients
// they are for. It implements transport.Handler.
type Server struct {
	opts  Options
	hooks Hooks
	log   *slog.Logger

	shards    [numShards]shard // sessions by client ID
	seed      maphash.Seed
	index     index         // every session's subscriptions
	retained  retainStore   // retained messages by topic
	stats     counters      // what Stats reports
	serial    atomic.Uint64 // numbers connections and sessions
	closing   atomic.Bool   // CONNECTs are refused
	shut      atomic.Bool   // Close ran: connections are closed at once
	deadlines deadlines     // connect timeouts and keep-alives

	// Set by Drain with a server reference, for the CONNECTs that still
	// arrive: MQTT 5 clients are sent there.
	drainRef  atomic.Pointer[string]
	drainCode ReasonCode
}

// numShards spreads the sessions over locks, so that connecting clients
// only contend on the same client ID, and rarely on a neighbour's, for the
// moment of a map operation.
const numShards = 256

type shard struct {
	mu sync.Mutex
	m  map[string]*session
	// ending counts, by client ID, sessions taken out of m whose end the
	// hooks have not heard yet: a CONNECT meanwhile must not resume what
	// a SessionKeeper still says of them.
	ending map[string]int
}

// New makes a broker with the given options, serving the given hooks.
func New(opts Options, hooks Hooks) *Server {
	if hooks == nil {
		hooks = NopHooks{}
	}
	opts = opts.withDefaults()
	s := &Server{opts: opts, hooks: hooks, log: opts.Logger, seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].m = map[string]*session{}
	}
	s.index.init()
	s.retained.init(opts.MaxRetained)
	return s
}

func (s *Server) shard(id string) *shard {
	return &s.shards[maphash.String(s.seed, id)%numShards]
}

// Open starts serving a new connection (transport.Handler): the client has
// Options.ConnectTimeout to send CONNECT.
func (s *Server) Open(tc transport.Conn, kind transport.Kind) transport.Session {
	now := time.Now().UnixNano()
	c := &Client{srv: s, tc: tc, kind: kind, serial: s.serial.Add(1), opened: now}
	c.lastRead.Store(now)
	if s.shut.Load() {
		tc.Close()
		return c
	}
	s.deadlines.watch(c, s.opts.ConnectTimeout)
	return c
}

// assignClientID makes a client ID for a client that sent none
// [MQTT-3.1.3-6]: unique, and of characters every server allows
// [MQTT-3.1.3-5].
func (s *Server) assignClientID() string {
	var b [12]byte
	rand.Read(b[:])
	return "auto-" + hex.EncodeToString(b[:])
}

// session returns the session of a client ID, or nil.
func (s *Server) session(id string) *session {
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.m[id]
}

// Disconnect closes a client's connection with a reason code (sent to an
// MQTT 5 client in a DISCONNECT), as a takeover elsewhere or a revoked
// credential needs. It reports whether the client was connected.
func (s *Server) Disconnect(clientID string, code ReasonCode, reason string) bool {
	sess := s.session(clientID)
	if sess == nil {
		return false
	}
	sess.mu.Lock()
	c := sess.client
	sess.mu.Unlock()
	if c == nil {
		return false
	}
	c.disconnect(code, reason)
	return true
}

// Shutdown tells every connected MQTT 5 client why it is being
// disconnected (code, and serverReference when set, for 0x9C and 0x9D)
// and closes every connection; sessions stay, to be saved. New
// connections are refused from here on.
func (s *Server) Shutdown(code ReasonCode, serverReference string) {
	for _, c := range s.Drain(code, serverReference) {
		c.disconnect(code, "")
	}
}

// Drain refuses new CONNECTs from here on, tells every connected MQTT 5
// client why it is being disconnected (code, and serverReference when
// set, for 0x9C and 0x9D) and closes it, and returns the MQTT 3.1.1
// clients still connected: they cannot be told, and the caller closes
// them when it sees fit (Client.Disconnect), after a grace period of its
// own. Sessions stay, to be saved. With a server reference and code 0x9C
// or 0x9D, an MQTT 5 CONNECT that still arrives is refused with the same
// code and reference; any other is refused with 0x88 (server
// unavailable).
func (s *Server) Drain(code ReasonCode, serverReference string) []*Client {
	if serverReference != "" && (code == UseAnotherServer || code == ServerMoved) && s.drainRef.Load() == nil {
		s.drainCode = code
		s.drainRef.Store(&serverReference)
	}
	s.closing.Store(true)
	var rest []*Client
	for _, c := range s.connected() {
		if c.version == packet.V5 {
			c.disconnectTo(code, "the server is shutting down", serverReference)
		} else {
			rest = append(rest, c)
		}
	}
	return rest
}

// Close ends the broker: every connection is closed and every timer
// stopped. Persistent sessions stay readable through Sessions.
func (s *Server) Close() {
	s.shut.Store(true)
	s.closing.Store(true)
	s.deadlines.close()
	for _, c := range s.connected() {
		c.setCause(ServerShuttingDown, "the server closed")
		c.close(nil)
	}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for _, sess := range sh.m {
			sess.mu.Lock()
			sess.stopTimers()
			sess.mu.Unlock()
		}
		sh.mu.Unlock()
	}
}

// connected lists the clients connected now.
func (s *Server) connected() []*Client {
	var out []*Client
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for _, sess := range sh.m {
			sess.mu.Lock()
			if sess.client != nil {
				out = append(out, sess.client)
			}
			sess.mu.Unlock()
		}
		sh.mu.Unlock()
	}
	return out
}

// event logs one connection event or refusal at Options.EventLevel.
func (s *Server) event(msg string, args ...any) {
	s.log.Log(context.Background(), s.opts.EventLevel, msg, args...)
}

// Connected returns the number of clients connected now.
func (s *Server) Connected() int64 { return s.stats.connected.Load() }

// Session counts.
func (s *Server) sessionCount() (all, persistent int64) {
	return s.stats.sessions.Load(), s.stats.persistent.Load()
}

// ackPacket is how a broker answers an inbound QoS 1 or 2 publish.
func ackPacket(qos byte) packet.Type {
	if qos == 2 {
		return packet.PUBREC
	}
	return packet.PUBACK
}
