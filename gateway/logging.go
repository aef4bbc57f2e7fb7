package gateway

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Logging. The gateway and its MQTT core log one line per connection
// event and per refusal, at Config.EventLogLevel, each with the client ID
// ("client"), the remote address ("remote") and the reason code ("code"):
//
//	client connected      transport, version, persistent, keepalive
//	client disconnected   by (client, server or network), code and reason, or the network error
//	connection refused    code, reason
//	subscription refused  filter, code, reason
//	publish refused       topic, qos, code, error
//
// A client that misbehaves in a loop (reconnecting, publishing to a topic
// it may not) would write these as fast as it can, so every kind of line
// passes through a token bucket (Config.LogRate lines a second, bursts of
// ten seconds' worth); what a bucket drops is counted, and the next line
// of that kind that passes carries the count as "dropped".

// DefaultLogRate is Config.LogRate's default.
const DefaultLogRate = 100

// event logs one connection event or refusal at Config.EventLogLevel.
func (g *Gateway) event(msg string, args ...any) {
	g.log.Log(context.Background(), g.cfg.EventLogLevel, msg, args...)
}

// rateLimited wraps l's handler in a limiter of perSecond lines of each
// message; a negative rate leaves l as it is.
func rateLimited(l *slog.Logger, perSecond int) *slog.Logger {
	if perSecond < 0 {
		return l
	}
	return slog.New(&limitHandler{next: l.Handler(), lim: &limiter{
		rate:    float64(perSecond),
		burst:   10 * float64(perSecond),
		buckets: map[string]*bucket{},
	}})
}

// limitHandler passes the records its limiter allows.
type limitHandler struct {
	next slog.Handler
	lim  *limiter // shared by the handlers WithAttrs and WithGroup derive
}

func (h *limitHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *limitHandler) Handle(ctx context.Context, r slog.Record) error {
	dropped, ok := h.lim.allow(r.Message, r.Time)
	if !ok {
		return nil
	}
	if dropped > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int64("dropped", dropped))
	}
	return h.next.Handle(ctx, r)
}

func (h *limitHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &limitHandler{next: h.next.WithAttrs(as), lim: h.lim}
}

func (h *limitHandler) WithGroup(name string) slog.Handler {
	return &limitHandler{next: h.next.WithGroup(name), lim: h.lim}
}

// limiter keeps a token bucket per message.
type limiter struct {
	rate, burst float64
	mu          sync.Mutex
	buckets     map[string]*bucket
}

type bucket struct {
	tokens  float64
	last    time.Time
	dropped int64
}

// maxBuckets bounds the limiter's memory; messages are the program's own
// constants, far fewer than this, and any past it pass unlimited.
const maxBuckets = 1024

// allow reports whether a line of msg at t may pass and, if so, how many
// were dropped since the last one that did.
func (l *limiter) allow(msg string, t time.Time) (dropped int64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[msg]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			return 0, true
		}
		b = &bucket{tokens: l.burst, last: t}
		l.buckets[msg] = b
	}
	if dt := t.Sub(b.last); dt > 0 {
		b.tokens = min(l.burst, b.tokens+dt.Seconds()*l.rate)
		b.last = t
	}
	if b.tokens < 1 {
		b.dropped++
		return 0, false
	}
	b.tokens--
	dropped, b.dropped = b.dropped, 0
	return dropped, true
}
