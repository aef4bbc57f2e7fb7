package broker

import "sync/atomic"

// Stats is a snapshot of the broker's counters (totals since New) and
// gauges (now).
type Stats struct {
	Connected          int64 // gauge: clients connected
	Sessions           int64 // gauge: sessions, connected or not
	PersistentSessions int64 // gauge: sessions that outlive their connection
	Inflight           int64 // gauge: QoS 1/2 messages sent and not yet acknowledged
	Queued             int64 // gauge: QoS 1/2 messages waiting for a client

	Connects         int64 // CONNECTs accepted
	Takeovers        int64 // connections closed because their client ID connected again
	KeepAliveTimeout int64 // connections closed for silence past 1.5 × keep-alive
	SlowConsumers    int64 // connections closed for falling behind (queue or write buffer full)
	PublishesIn      int64 // PUBLISH packets received and handed on
	Delivered        int64 // PUBLISH packets written to clients
	Expired          int64 // messages not delivered because their expiry interval passed
	TooLarge         int64 // messages not delivered because they exceed the client's maximum packet size
	OfflineDropped   int64 // oldest messages dropped from an offline session's full queue
	RetainedDropped  int64 // retained messages not kept: over Options.MaxRetained

	// Refusals counts every refusal the broker sent, by the packet that
	// carried it and its reason code (MQTT 5's code; an MQTT 3.1.1
	// client got the nearest 3.1.1 code, or a closed connection).
	Refusals map[Refusal]int64
}

// Refusal names one kind of refusal: the packet that says no, and why.
type Refusal struct {
	Packet string // "CONNACK", "SUBACK", "PUBACK" (or PUBREC), "UNSUBACK", "DISCONNECT"
	Code   ReasonCode
}

// refusal kinds, indexing counters.refusals.
const (
	refConnack = iota
	refSuback
	refPuback
	refUnsuback
	refDisconnect
	numRefusalKinds
)

var refusalPackets = [numRefusalKinds]string{"CONNACK", "SUBACK", "PUBACK", "UNSUBACK", "DISCONNECT"}

type counters struct {
	connected, sessions, persistent, inflight, queued                 atomic.Int64
	connects, takeovers, keepAliveTimeout, slowConsumers, publishesIn atomic.Int64
	delivered, expired, tooLarge, offlineDropped, retainedDropped     atomic.Int64
	refusals                                                          [numRefusalKinds][256]atomic.Int64
}

func (c *counters) refuse(kind int, code ReasonCode) { c.refusals[kind][code].Add(1) }

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	st := Stats{
		Connected: c.connected.Load(), Sessions: c.sessions.Load(), PersistentSessions: c.persistent.Load(),
		Inflight: c.inflight.Load(), Queued: c.queued.Load(),
		Connects: c.connects.Load(), Takeovers: c.takeovers.Load(), KeepAliveTimeout: c.keepAliveTimeout.Load(),
		SlowConsumers: c.slowConsumers.Load(), PublishesIn: c.publishesIn.Load(), Delivered: c.delivered.Load(),
		Expired: c.expired.Load(), TooLarge: c.tooLarge.Load(), OfflineDropped: c.offlineDropped.Load(),
		RetainedDropped: c.retainedDropped.Load(),
		Refusals:        map[Refusal]int64{},
	}
	for k := range c.refusals {
		for code := range c.refusals[k] {
			if n := c.refusals[k][code].Load(); n > 0 {
				st.Refusals[Refusal{refusalPackets[k], ReasonCode(code)}] = n
			}
		}
	}
	return st
}
