package rocketmqtest

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"
)

// Errors returned by this package. They are wrapped in *Error and testable
// with errors.Is.
var (
	// ErrClosed: the server has been closed.
	ErrClosed = errors.New("server closed")
	// ErrInvalidTopic: a topic name breaks RocketMQ's rules or is a system topic.
	ErrInvalidTopic = errors.New("invalid topic")
	// ErrInvalidQueues: a queue count is out of range.
	ErrInvalidQueues = errors.New("invalid queue count")
	// ErrInvalidOption: an Option was given a value it cannot use.
	ErrInvalidOption = errors.New("invalid option")
)

// Error records a failed operation, the input it was given and why.
type Error struct {
	Op    string // the method or function, such as "CreateTopic"
	Input string // the offending input
	Err   error  // one of the Err* values, possibly wrapped with detail
}

// Error reads rocketmqtest: Op("Input"): cause.
func (e *Error) Error() string {
	return "rocketmqtest: " + e.Op + "(" + strconv.Quote(e.Input) + "): " + e.Err.Error()
}

// Unwrap returns the cause, so that errors.Is(err, ErrInvalidTopic) works.
func (e *Error) Unwrap() error { return e.Err }

// Option configures a server built by Start or NewServer.
type Option func(*config) error

type config struct {
	addr             string
	autoCreateTopics bool
	logger           *slog.Logger
	delayLevels      []time.Duration
	zeroOffsetForNew bool
	maxMessageSize   int
}

// defaultDelayLevels is the broker's messageDelayLevel default,
// "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h".
var defaultDelayLevels = []time.Duration{
	1 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
	1 * time.Minute, 2 * time.Minute, 3 * time.Minute, 4 * time.Minute,
	5 * time.Minute, 6 * time.Minute, 7 * time.Minute, 8 * time.Minute,
	9 * time.Minute, 10 * time.Minute, 20 * time.Minute, 30 * time.Minute,
	1 * time.Hour, 2 * time.Hour,
}

func defaultConfig() config {
	return config{
		addr:             "127.0.0.1:0",
		autoCreateTopics: true,
		logger:           slog.New(slog.DiscardHandler),
		delayLevels:      defaultDelayLevels,
		maxMessageSize:   4 << 20, // the broker's maxMessageSize default
	}
}

// WithAddr makes the server listen on addr instead of "127.0.0.1:0". An
// unspecified host ("0.0.0.0:9876", ":9876") is advertised to clients as
// 127.0.0.1. It rejects an empty addr; a bad address fails Start.
func WithAddr(addr string) Option {
	return func(c *config) error {
		if addr == "" {
			return &Error{Op: "WithAddr", Input: addr, Err: ErrInvalidOption}
		}
		c.addr = addr
		return nil
	}
}

// WithoutAutoCreateTopics turns topic auto-creation off, like a broker with
// autoCreateTopicEnable=false: the name server has no TBW102 route, so a
// producer cannot send to a topic that was not created with CreateTopic,
// and a send that reaches the broker for an unknown topic is refused with
// TOPIC_NOT_EXIST. Retry and dead-letter topics are still created, as a
// real broker creates them.
func WithoutAutoCreateTopics() Option {
	return func(c *config) error {
		c.autoCreateTopics = false
		return nil
	}
}

// WithLogger sends the server's log records (connections, refused requests,
// faults) to l. The default discards them. It rejects a nil logger.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return &Error{Op: "WithLogger", Input: "nil", Err: ErrInvalidOption}
		}
		c.logger = l
		return nil
	}
}

// WithDelayLevels replaces the broker's delay levels (1s 5s 10s 30s 1m … 2h),
// which decide when a delayed message and a consumer's retry become
// visible. A consumer's n-th retry of a message uses level 3+n, so tests of
// redelivery usually pass short levels:
//
//	rocketmqtest.WithDelayLevels(50 * time.Millisecond)
//
// Levels past the last one given use the last one. It rejects an empty
// list and negative durations.
func WithDelayLevels(levels ...time.Duration) Option {
	return func(c *config) error {
		if len(levels) == 0 {
			return &Error{Op: "WithDelayLevels", Input: "[]", Err: ErrInvalidOption}
		}
		out := make([]time.Duration, len(defaultDelayLevels))
		for i := range out {
			d := levels[min(i, len(levels)-1)]
			if d < 0 {
				return &Error{Op: "WithDelayLevels", Input: d.String(), Err: fmt.Errorf("%w: negative delay", ErrInvalidOption)}
			}
			out[i] = d
		}
		c.delayLevels = out
		return nil
	}
}

// WithNewGroupOffsetZero makes QUERY_CONSUMER_OFFSET answer 0 for a consumer
// group that has never committed an offset on a queue whose first message
// is still stored. A real broker does this while that message is in its
// page cache, which on a young topic means: a new group consumes the queue
// from the start even with CONSUME_FROM_LAST_OFFSET. Without this option
// the server answers QUERY_NOT_FOUND, as a broker does once a queue's head
// has left memory, and the client's ConsumeFromWhere decides.
func WithNewGroupOffsetZero() Option {
	return func(c *config) error {
		c.zeroOffsetForNew = true
		return nil
	}
}

// WithMaxMessageSize sets the largest message body the broker stores, in
// bytes (the broker's maxMessageSize; default 4 MiB). Larger sends are
// refused with MESSAGE_ILLEGAL. It rejects sizes below 1 and above the
// 16 MiB frame limit.
func WithMaxMessageSize(n int) Option {
	return func(c *config) error {
		if n < 1 || n > maxFrameLength {
			return &Error{Op: "WithMaxMessageSize", Input: strconv.Itoa(n), Err: ErrInvalidOption}
		}
		c.maxMessageSize = n
		return nil
	}
}
