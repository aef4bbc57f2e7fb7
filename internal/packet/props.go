package packet

import "fmt"

// Opt is a property MQTT tells apart when absent: Set says whether it was
// present, V is its value.
type Opt[T any] struct {
	V   T
	Set bool
}

// Some returns a present Opt holding v.
func Some[T any](v T) Opt[T] { return Opt[T]{V: v, Set: true} }

// UserProperty is one user property, a UTF-8 string pair [MQTT-3.3.2.3.7].
type UserProperty struct{ Key, Value string }

// Properties are an MQTT 5 packet's properties [MQTT-2.2.2]. Each packet
// type allows some of them; decoders refuse the others.
type Properties struct {
	PayloadFormat       Opt[byte]
	MessageExpiry       Opt[uint32]
	ContentType         Opt[string]
	ResponseTopic       Opt[string]
	CorrelationData     Opt[[]byte]
	SubscriptionIDs     []int
	SessionExpiry       Opt[uint32]
	AssignedClientID    Opt[string]
	ServerKeepAlive     Opt[uint16]
	AuthMethod          Opt[string]
	AuthData            Opt[[]byte]
	RequestProblemInfo  Opt[byte]
	WillDelay           Opt[uint32]
	RequestResponseInfo Opt[byte]
	ResponseInfo        Opt[string]
	ServerReference     Opt[string]
	ReasonString        Opt[string]
	ReceiveMaximum      Opt[uint16]
	TopicAliasMaximum   Opt[uint16]
	TopicAlias          Opt[uint16]
	MaximumQoS          Opt[byte]
	RetainAvailable     Opt[byte]
	User                []UserProperty
	MaximumPacketSize   Opt[uint32]
	WildcardSubs        Opt[byte]
	SubIDs              Opt[byte]
	SharedSubs          Opt[byte]
}

// Property identifiers [MQTT-2.2.2.2].
const (
	propPayloadFormat       = 0x01
	propMessageExpiry       = 0x02
	propContentType         = 0x03
	propResponseTopic       = 0x08
	propCorrelationData     = 0x09
	propSubscriptionID      = 0x0B
	propSessionExpiry       = 0x11
	propAssignedClientID    = 0x12
	propServerKeepAlive     = 0x13
	propAuthMethod          = 0x15
	propAuthData            = 0x16
	propRequestProblemInfo  = 0x17
	propWillDelay           = 0x18
	propRequestResponseInfo = 0x19
	propResponseInfo        = 0x1A
	propServerReference     = 0x1C
	propReasonString        = 0x1F
	propReceiveMaximum      = 0x21
	propTopicAliasMaximum   = 0x22
	propTopicAlias          = 0x23
	propMaximumQoS          = 0x24
	propRetainAvailable     = 0x25
	propUser                = 0x26
	propMaximumPacketSize   = 0x27
	propWildcardSubs        = 0x28
	propSubIDs              = 0x29
	propSharedSubs          = 0x2A
)

// willProps is the pseudo packet type of a CONNECT's will properties.
const willProps Type = 16

// allowed says, per property, in which packets it may appear, as a bit per
// packet Type (bit 16 for will properties) [MQTT-2.2.2.2].
var allowed = func() (a [0x2B]uint32) {
	bit := func(ts ...Type) (m uint32) {
		for _, t := range ts {
			m |= 1 << t
		}
		return m
	}
	acks := bit(PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, DISCONNECT, AUTH, CONNACK)
	a[propPayloadFormat] = bit(PUBLISH, willProps)
	a[propMessageExpiry] = bit(PUBLISH, willProps)
	a[propContentType] = bit(PUBLISH, willProps)
	a[propResponseTopic] = bit(PUBLISH, willProps)
	a[propCorrelationData] = bit(PUBLISH, willProps)
	a[propSubscriptionID] = bit(PUBLISH, SUBSCRIBE)
	a[propSessionExpiry] = bit(CONNECT, CONNACK, DISCONNECT)
	a[propAssignedClientID] = bit(CONNACK)
	a[propServerKeepAlive] = bit(CONNACK)
	a[propAuthMethod] = bit(CONNECT, CONNACK, AUTH)
	a[propAuthData] = bit(CONNECT, CONNACK, AUTH)
	a[propRequestProblemInfo] = bit(CONNECT)
	a[propWillDelay] = bit(willProps)
	a[propRequestResponseInfo] = bit(CONNECT)
	a[propResponseInfo] = bit(CONNACK)
	a[propServerReference] = bit(CONNACK, DISCONNECT)
	a[propReasonString] = acks
	a[propReceiveMaximum] = bit(CONNECT, CONNACK)
	a[propTopicAliasMaximum] = bit(CONNECT, CONNACK)
	a[propTopicAlias] = bit(PUBLISH)
	a[propMaximumQoS] = bit(CONNACK)
	a[propRetainAvailable] = bit(CONNACK)
	a[propUser] = ^uint32(0)
	a[propMaximumPacketSize] = bit(CONNECT, CONNACK)
	a[propWildcardSubs] = bit(CONNACK)
	a[propSubIDs] = bit(CONNACK)
	a[propSharedSubs] = bit(CONNACK)
	return a
}()

// readProperties reads a property list for packet type t (willProps for a
// will) into p [MQTT-2.2.2].
func (r *reader) properties(t Type, p *Properties) {
	n := r.varint("property length")
	if r.err != nil {
		return
	}
	if n > len(r.b) {
		r.short("properties")
		return
	}
	sub := reader{t: r.t, b: r.b[:n]}
	r.b = r.b[n:]
	var seen [0x2B]bool
	for len(sub.b) > 0 && sub.err == nil {
		id := sub.varint("property identifier")
		if sub.err != nil {
			break
		}
		if id <= 0 || id >= len(allowed) || allowed[id]&(1<<t) == 0 {
			sub.fail(protocol(r.t, fmt.Sprintf("property 0x%02X is not allowed here [MQTT-2.2.2-2]", id)))
			break
		}
		if seen[id] && id != propUser && !(id == propSubscriptionID && t == PUBLISH) {
			sub.fail(protocol(r.t, fmt.Sprintf("property 0x%02X given twice [MQTT-2.2.2-1]", id)))
			break
		}
		seen[id] = true
		sub.property(id, p)
	}
	if sub.err != nil {
		r.fail(sub.err)
	}
}

// property reads the value of one property.
func (r *reader) property(id int, p *Properties) {
	flag := func(what string) Opt[byte] {
		v := r.byte(what)
		if r.err == nil && v > 1 {
			r.fail(protocol(r.t, fmt.Sprintf("%s is %d, not 0 or 1", what, v)))
		}
		return Some(v)
	}
	switch id {
	case propPayloadFormat:
		p.PayloadFormat = flag("payload format indicator") // [MQTT-3.3.2.3.2]
	case propMessageExpiry:
		p.MessageExpiry = Some(r.uint32("message expiry interval"))
	case propContentType:
		p.ContentType = Some(r.string("content type"))
	case propResponseTopic:
		p.ResponseTopic = Some(r.string("response topic"))
	case propCorrelationData:
		p.CorrelationData = Some(r.binary("correlation data"))
	case propSubscriptionID:
		v := r.varint("subscription identifier")
		if r.err == nil && v == 0 {
			r.fail(protocol(r.t, "subscription identifier 0 [MQTT-3.8.2.1.2]"))
		}
		p.SubscriptionIDs = append(p.SubscriptionIDs, v)
	case propSessionExpiry:
		p.SessionExpiry = Some(r.uint32("session expiry interval"))
	case propAssignedClientID:
		p.AssignedClientID = Some(r.string("assigned client identifier"))
	case propServerKeepAlive:
		p.ServerKeepAlive = Some(r.uint16("server keep alive"))
	case propAuthMethod:
		p.AuthMethod = Some(r.string("authentication method"))
	case propAuthData:
		p.AuthData = Some(r.binary("authentication data"))
	case propRequestProblemInfo:
		p.RequestProblemInfo = flag("request problem information")
	case propWillDelay:
		p.WillDelay = Some(r.uint32("will delay interval"))
	case propRequestResponseInfo:
		p.RequestResponseInfo = flag("request response information")
	case propResponseInfo:
		p.ResponseInfo = Some(r.string("response information"))
	case propServerReference:
		p.ServerReference = Some(r.string("server reference"))
	case propReasonString:
		p.ReasonString = Some(r.string("reason string"))
	case propReceiveMaximum:
		v := r.uint16("receive maximum")
		if r.err == nil && v == 0 {
			r.fail(protocol(r.t, "receive maximum 0 [MQTT-3.1.2.11.3]"))
		}
		p.ReceiveMaximum = Some(v)
	case propTopicAliasMaximum:
		p.TopicAliasMaximum = Some(r.uint16("topic alias maximum"))
	case propTopicAlias:
		p.TopicAlias = Some(r.uint16("topic alias"))
	case propMaximumQoS:
		p.MaximumQoS = flag("maximum QoS")
	case propRetainAvailable:
		p.RetainAvailable = flag("retain available")
	case propUser:
		k := r.string("user property key")
		v := r.string("user property value")
		p.User = append(p.User, UserProperty{k, v})
	case propMaximumPacketSize:
		v := r.uint32("maximum packet size")
		if r.err == nil && v == 0 {
			r.fail(protocol(r.t, "maximum packet size 0 [MQTT-3.1.2.11.4]"))
		}
		p.MaximumPacketSize = Some(v)
	case propWildcardSubs:
		p.WildcardSubs = flag("wildcard subscription available")
	case propSubIDs:
		p.SubIDs = flag("subscription identifier available")
	case propSharedSubs:
		p.SharedSubs = flag("shared subscription available")
	}
}

// appendProperties appends p's present properties, preceded by their
// length, as MQTT 5 encodes them.
func appendProperties(b []byte, p *Properties) []byte {
	n := p.size()
	b = appendVarint(b, n)
	return p.appendTo(b)
}

// size is the encoded length of p's properties, without the length prefix.
func (p *Properties) size() int {
	n := 0
	byteProp := func(o Opt[byte]) {
		if o.Set {
			n += 2
		}
	}
	u16 := func(o Opt[uint16]) {
		if o.Set {
			n += 3
		}
	}
	u32 := func(o Opt[uint32]) {
		if o.Set {
			n += 5
		}
	}
	str := func(o Opt[string]) {
		if o.Set {
			n += 3 + len(o.V)
		}
	}
	bin := func(o Opt[[]byte]) {
		if o.Set {
			n += 3 + len(o.V)
		}
	}
	byteProp(p.PayloadFormat)
	u32(p.MessageExpiry)
	str(p.ContentType)
	str(p.ResponseTopic)
	bin(p.CorrelationData)
	for _, id := range p.SubscriptionIDs {
		n += 1 + varintLen(id)
	}
	u32(p.SessionExpiry)
	str(p.AssignedClientID)
	u16(p.ServerKeepAlive)
	str(p.AuthMethod)
	bin(p.AuthData)
	byteProp(p.RequestProblemInfo)
	u32(p.WillDelay)
	byteProp(p.RequestResponseInfo)
	str(p.ResponseInfo)
	str(p.ServerReference)
	str(p.ReasonString)
	u16(p.ReceiveMaximum)
	u16(p.TopicAliasMaximum)
	u16(p.TopicAlias)
	byteProp(p.MaximumQoS)
	byteProp(p.RetainAvailable)
	for _, u := range p.User {
		n += 5 + len(u.Key) + len(u.Value)
	}
	u32(p.MaximumPacketSize)
	byteProp(p.WildcardSubs)
	byteProp(p.SubIDs)
	byteProp(p.SharedSubs)
	return n
}

func (p *Properties) appendTo(b []byte) []byte {
	byteProp := func(id byte, o Opt[byte]) {
		if o.Set {
			b = append(b, id, o.V)
		}
	}
	u16 := func(id byte, o Opt[uint16]) {
		if o.Set {
			b = appendUint16(append(b, id), o.V)
		}
	}
	u32 := func(id byte, o Opt[uint32]) {
		if o.Set {
			b = appendUint32(append(b, id), o.V)
		}
	}
	str := func(id byte, o Opt[string]) {
		if o.Set {
			b = appendString(append(b, id), o.V)
		}
	}
	bin := func(id byte, o Opt[[]byte]) {
		if o.Set {
			b = appendBinary(append(b, id), o.V)
		}
	}
	byteProp(propPayloadFormat, p.PayloadFormat)
	u32(propMessageExpiry, p.MessageExpiry)
	str(propContentType, p.ContentType)
	str(propResponseTopic, p.ResponseTopic)
	bin(propCorrelationData, p.CorrelationData)
	for _, id := range p.SubscriptionIDs {
		b = appendVarint(append(b, propSubscriptionID), id)
	}
	u32(propSessionExpiry, p.SessionExpiry)
	str(propAssignedClientID, p.AssignedClientID)
	u16(propServerKeepAlive, p.ServerKeepAlive)
	str(propAuthMethod, p.AuthMethod)
	bin(propAuthData, p.AuthData)
	byteProp(propRequestProblemInfo, p.RequestProblemInfo)
	u32(propWillDelay, p.WillDelay)
	byteProp(propRequestResponseInfo, p.RequestResponseInfo)
	str(propResponseInfo, p.ResponseInfo)
	str(propServerReference, p.ServerReference)
	str(propReasonString, p.ReasonString)
	u16(propReceiveMaximum, p.ReceiveMaximum)
	u16(propTopicAliasMaximum, p.TopicAliasMaximum)
	u16(propTopicAlias, p.TopicAlias)
	byteProp(propMaximumQoS, p.MaximumQoS)
	byteProp(propRetainAvailable, p.RetainAvailable)
	for _, u := range p.User {
		b = appendString(appendString(append(b, propUser), u.Key), u.Value)
	}
	u32(propMaximumPacketSize, p.MaximumPacketSize)
	byteProp(propWildcardSubs, p.WildcardSubs)
	byteProp(propSubIDs, p.SubIDs)
	byteProp(propSharedSubs, p.SharedSubs)
	return b
}
