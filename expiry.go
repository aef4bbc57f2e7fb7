package mqttrmq

import (
	"reflect"
	"strconv"
	"sync"
	"time"
)

// Expiry is an MQTT 5 Message Expiry Interval [MQTT-3.3.2.3.3]: how long,
// in whole seconds, a message may wait for delivery after it was sent, or
// no limit at all. The zero Expiry is no limit, as an absent property
// means; ExpiresAfter(0) is an interval of 0 seconds, which MQTT tells
// apart from none. A message whose interval has passed is not delivered,
// and one that is delivered carries what is left of it [MQTT-3.3.2-5]
// [MQTT-3.3.2-6]: see Remaining.
type Expiry struct {
	seconds uint32
	set     bool
}

// ExpiresAfter returns the interval of the given number of seconds. Every
// uint32 is an interval MQTT allows; 0 is one too.
func ExpiresAfter(seconds uint32) Expiry { return Expiry{seconds, true} }

// Seconds returns the interval in seconds, and false when there is none.
func (e Expiry) Seconds() (seconds uint32, ok bool) { return e.seconds, e.set }

// IsSet reports whether there is an interval: false for the zero Expiry.
func (e Expiry) IsSet() bool { return e.set }

// Equal reports whether e and o are the same interval, or both none; e == o
// says the same.
func (e Expiry) Equal(o Expiry) bool { return e == o }

// String returns the interval as "30s", or "none".
func (e Expiry) String() string {
	if !e.set {
		return "none"
	}
	return strconv.FormatUint(uint64(e.seconds), 10) + "s"
}

// Remaining returns what is left of the interval of a message born at born
// (when it was sent: see BornTime) at the time now, and whether it has
// expired. A message has expired once it has waited its whole interval,
// and then left is ExpiresAfter(0); else left is the interval less the
// whole seconds it waited, the value a server delivers it with
// [MQTT-3.3.2-6], never more than the interval. Without an interval
// nothing expires, and left is the zero Expiry. A zero born, or one after
// now (the producer's clock runs ahead of the reader's), counts as no wait.
//
// An interval of 0 has passed the moment the message exists: it is expired
// on arrival, as the gateway's MQTT core holds it.
func (e Expiry) Remaining(born, now time.Time) (left Expiry, expired bool) {
	if !e.set {
		return Expiry{}, false
	}
	var waited time.Duration
	if !born.IsZero() && now.After(born) {
		waited = now.Sub(born)
	}
	if waited >= time.Duration(e.seconds)*time.Second {
		return ExpiresAfter(0), true
	}
	return ExpiresAfter(e.seconds - uint32(waited/time.Second)), false
}

// ExpiryLeft returns what is left of p's Message Expiry Interval at now,
// counted from p.Born, and whether p has expired: p.MessageExpiry.Remaining(p.Born, now).
func (p Publish) ExpiryLeft(now time.Time) (left Expiry, expired bool) {
	return p.MessageExpiry.Remaining(p.Born, now)
}

// parseExpiry reads a Message Expiry Interval written as the mapping
// writes it: decimal digits, without sign, spaces or leading zeros, at
// most 4294967295.
func parseExpiry(v string) (Expiry, bool) {
	if v == "" || len(v) > 10 || len(v) > 1 && v[0] == '0' {
		return Expiry{}, false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return Expiry{}, false
		}
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return Expiry{}, false
	}
	return ExpiresAfter(uint32(n)), true
}

// appendExpiry appends the interval as the mapping writes it.
func appendExpiry(dst []byte, e Expiry) []byte {
	return strconv.AppendUint(dst, uint64(e.seconds), 10)
}

// BornTime returns when a received message was sent to RocketMQ, by the
// clock of the host that sent it, and false when m does not say. It reads
// the BornTimestamp of a *primitive.MessageExt (milliseconds since the
// epoch, which the producer stamps on every message it sends and the
// broker keeps): the package does not import the client, so it reads the
// field of that name from any pointer to a struct with an int64
// BornTimestamp. A timestamp of 0 or less, a nil m and any other message
// say nothing. FromRocketMQ puts it in Publish.Born.
func BornTime(m Properties) (time.Time, bool) {
	if isNil(m) {
		return time.Time{}, false
	}
	v := reflect.ValueOf(m)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return time.Time{}, false
	}
	idx := bornField(v.Type())
	if idx == nil {
		return time.Time{}, false
	}
	ms := v.Elem().FieldByIndex(idx).Int()
	if ms <= 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

// bornFields caches, per message type, the index of its BornTimestamp
// field (nil when it has none), so that BornTime looks it up once.
var bornFields sync.Map // reflect.Type of a pointer → []int

func bornField(t reflect.Type) []int {
	if idx, ok := bornFields.Load(t); ok {
		return idx.([]int)
	}
	var idx []int
	if f, ok := t.Elem().FieldByName("BornTimestamp"); ok && f.Type.Kind() == reflect.Int64 && f.IsExported() && !viaPointer(t.Elem(), f.Index) {
		idx = f.Index
	}
	bornFields.Store(t, idx)
	return idx
}

// viaPointer reports whether the field at index is reached through an
// embedded pointer, which may be nil: FieldByIndex would panic.
func viaPointer(t reflect.Type, index []int) bool {
	for _, i := range index[:len(index)-1] {
		f := t.Field(i)
		if f.Type.Kind() == reflect.Pointer {
			return true
		}
		t = f.Type
	}
	return false
}
