package broker

import (
	"time"

	"github.com/mqttrmq/mqttrmq/internal/transport"
)

// Observer hears what the broker measures, for a program's metrics. Its
// methods run on event loops and delivery paths, some with a session's
// lock held: they must be quick and must not call back into the broker.
type Observer interface {
	// ConnectHandled reports a CONNECT answered: code is Success or the
	// refusal its CONNACK carried, took the time from the whole packet
	// being read to the CONNACK being queued for the client
	// (authentication included). It is called before the CONNACK is
	// queued, so that a client that has read its CONNACK finds it
	// reported.
	ConnectHandled(kind transport.Kind, code ReasonCode, took time.Duration)

	// Written reports the first PUBLISH of m written to a client, at
	// `at`: not a resend with DUP, and not one carrying the RETAIN flag
	// (a retained message sent on subscribing is old by design; live
	// messages to retain-as-published subscriptions are left out with
	// them). A message waiting in a client's queue is written, and
	// reported, when its turn comes.
	Written(m *Message, at time.Time)
}

// nopObserver observes nothing.
type nopObserver struct{}

func (nopObserver) ConnectHandled(transport.Kind, ReasonCode, time.Duration) {}
func (nopObserver) Written(*Message, time.Time)                              {}
