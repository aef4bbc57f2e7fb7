package conformance

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// rawPacket is one packet the server sent, decoded with the mochi codec,
// with its bytes as they came.
type rawPacket struct {
	packets.Packet
	raw  []byte    // the whole packet, fixed header included
	at   time.Time // when it was read
	name string    // CONNACK, PUBLISH, ...
}

func (p *rawPacket) String() string {
	switch p.FixedHeader.Type {
	case packets.Publish:
		return fmt.Sprintf("PUBLISH(topic=%q qos=%d dup=%v retain=%v id=%d payload=%q)", p.TopicName, p.FixedHeader.Qos, p.FixedHeader.Dup, p.FixedHeader.Retain, p.PacketID, trim(p.Payload))
	case packets.Connack:
		return fmt.Sprintf("CONNACK(code=%s sessionPresent=%v)", hex(p.ReasonCode), p.SessionPresent)
	case packets.Suback, packets.Unsuback:
		return fmt.Sprintf("%s(id=%d codes=% x)", p.name, p.PacketID, p.ReasonCodes)
	case packets.Disconnect:
		return fmt.Sprintf("DISCONNECT(code=%s reason=%q)", hex(p.ReasonCode), p.Properties.ReasonString)
	case packets.Puback, packets.Pubrec, packets.Pubrel, packets.Pubcomp:
		return fmt.Sprintf("%s(id=%d code=%s)", p.name, p.PacketID, hex(p.ReasonCode))
	}
	return p.name
}

func trim(b []byte) []byte {
	if len(b) > 40 {
		return append(b[:40:40], "..."...)
	}
	return b
}

// rawClient is an MQTT client at the packet level: what it sends is
// exactly what a case builds, and everything the server sends is checked
// against the rules every packet of its type obeys, then handed to the case
// in order.
type rawClient struct {
	c       *C
	label   string
	nc      net.Conn
	version byte

	in      chan *rawPacket
	closed  chan struct{} // closed when reading stopped: the server closed, or the case did
	readErr error         // why reading stopped; read after closed

	wmu    sync.Mutex
	nextID uint16

	// What the client declared in its CONNECT, which the server must
	// respect; set before CONNECT goes out, read by the reader.
	declMu            sync.Mutex
	maxPacketSize     uint32 // 0: none
	topicAliasMaximum uint16
	noProblemInfo     bool              // Request Problem Information 0
	aliases           map[uint16]string // the server's topic aliases, reader goroutine only

	pings    atomic.Int32 // automatic PINGREQs not yet answered: their PINGRESPs are skipped
	stopPing chan struct{}
	pingOnce sync.Once
}

// dial opens a raw connection to the target; it is closed when the case ends.
func (c *C) dial(label string) *rawClient {
	c.Helper()
	nc, err := net.DialTimeout("tcp", c.target.Addr, deadline)
	if err != nil {
		c.Fatalf("%s: dial %s: %v", label, c.target.Addr, err)
	}
	r := &rawClient{
		c: c, label: label, nc: nc, version: c.version,
		in: make(chan *rawPacket, 1<<14), closed: make(chan struct{}),
		aliases: map[uint16]string{}, stopPing: make(chan struct{}),
	}
	go r.read()
	c.Cleanup(func() {
		r.stopPinging()
		nc.Close()
		<-r.closed
	})
	return r
}

// read decodes the server's packets until the connection ends.
func (r *rawClient) read() {
	defer close(r.closed)
	br := bufio.NewReader(r.nc)
	for {
		hb, err := br.ReadByte()
		if err != nil {
			r.readErr = err
			return
		}
		n, _, err := packets.DecodeLength(br)
		if err != nil {
			r.c.Errorf("%s: the server sent a malformed remaining length: %v", r.label, err)
			r.readErr = err
			return
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(br, body); err != nil {
			r.readErr = err
			return
		}
		var head bytes.Buffer
		head.WriteByte(hb)
		encodeLength(&head, n)
		p := &rawPacket{raw: append(head.Bytes(), body...), at: time.Now()}
		if err := r.decode(p, hb, body); err != nil {
			r.c.Errorf("%s: the server sent a malformed %s (% x): %v", r.label, p.name, trim(p.raw), err)
		}
		for _, problem := range r.check(p) {
			r.c.Errorf("%s: %s: %s", r.label, p, problem)
		}
		r.in <- p
	}
}

// encodeLength writes MQTT's variable byte integer.
func encodeLength(b *bytes.Buffer, n int) {
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		b.WriteByte(d)
		if n == 0 {
			return
		}
	}
}

// decode fills p from the packet's first byte and body.
func (r *rawClient) decode(p *rawPacket, hb byte, body []byte) error {
	p.ProtocolVersion = r.version
	p.FixedHeader.Remaining = len(body)
	p.FixedHeader.Type = hb >> 4
	p.name = packetName(p.FixedHeader.Type)
	// [MQTT-2.2.2-1] (3.1.1), [MQTT-2.1.3-1] (5.0): reserved flag bits
	// hold the values their table gives.
	if err := p.FixedHeader.Decode(hb); err != nil {
		return fmt.Errorf("fixed header %#02x: %w [MQTT-2.2.2-1, 5.0 MQTT-2.1.3-1]", hb, err)
	}
	switch p.FixedHeader.Type {
	case packets.Connack:
		if r.version == v311 && len(body) != 2 {
			return fmt.Errorf("a 3.1.1 CONNACK has 2 bytes after its fixed header, not %d", len(body))
		}
		if len(body) > 0 && body[0]&0xFE != 0 {
			return fmt.Errorf("CONNACK acknowledge flags %#02x: bits 7-1 are reserved and 0 [5.0 MQTT-3.2.2-1, 3.1.1 §3.2.2.1]", body[0])
		}
		return p.ConnackDecode(body)
	case packets.Publish:
		return p.PublishDecode(body)
	case packets.Puback:
		return p.PubackDecode(body)
	case packets.Pubrec:
		return p.PubrecDecode(body)
	case packets.Pubrel:
		return p.PubrelDecode(body)
	case packets.Pubcomp:
		return p.PubcompDecode(body)
	case packets.Suback:
		return p.SubackDecode(body)
	case packets.Unsuback:
		if r.version == v311 && len(body) != 2 {
			return fmt.Errorf("a 3.1.1 UNSUBACK has 2 bytes after its fixed header, not %d", len(body))
		}
		return p.UnsubackDecode(body)
	case packets.Pingresp:
		if len(body) != 0 {
			return fmt.Errorf("PINGRESP has no body")
		}
		return nil
	case packets.Disconnect:
		// The codec skips a lone reason code: read it here.
		if r.version == v311 {
			return errors.New("an MQTT 3.1.1 server never sends DISCONNECT")
		}
		if len(body) >= 1 {
			p.ReasonCode = body[0]
		}
		if len(body) >= 2 {
			if _, err := p.Properties.Decode(packets.Disconnect, bytes.NewBuffer(body[1:])); err != nil {
				return err
			}
		}
		return nil
	case packets.Auth:
		return p.AuthDecode(body)
	}
	return fmt.Errorf("a server never sends %s", p.name)
}

func packetName(t byte) string {
	if n, ok := map[byte]string{
		packets.Connect: "CONNECT", packets.Connack: "CONNACK", packets.Publish: "PUBLISH",
		packets.Puback: "PUBACK", packets.Pubrec: "PUBREC", packets.Pubrel: "PUBREL", packets.Pubcomp: "PUBCOMP",
		packets.Subscribe: "SUBSCRIBE", packets.Suback: "SUBACK", packets.Unsubscribe: "UNSUBSCRIBE",
		packets.Unsuback: "UNSUBACK", packets.Pingreq: "PINGREQ", packets.Pingresp: "PINGRESP",
		packets.Disconnect: "DISCONNECT", packets.Auth: "AUTH",
	}[t]; ok {
		return n
	}
	return fmt.Sprintf("packet type %d", t)
}

// Reason codes each packet type may carry from a server (MQTT 5.0 §2.4 and
// the packets' own tables).
var validCodes = map[byte][]byte{
	packets.Connack:  {0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F},
	packets.Puback:   {0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99},
	packets.Pubrec:   {0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99},
	packets.Pubrel:   {0x00, 0x92},
	packets.Pubcomp:  {0x00, 0x92},
	packets.Suback:   {0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2},
	packets.Unsuback: {0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91},
	packets.Disconnect: {0x00, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95,
		0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2},
}

// check lists what is wrong with a packet the server sent, by the rules
// that hold for every packet of its type.
func (r *rawClient) check(p *rawPacket) []string {
	r.declMu.Lock()
	defer r.declMu.Unlock()
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	t := p.FixedHeader.Type
	if r.version == v311 {
		switch t {
		case packets.Connack:
			if p.ReasonCode > 5 {
				bad("CONNACK return code %s is reserved [3.1.1 §3.2.2.3]", hex(p.ReasonCode))
			}
		case packets.Suback:
			for _, code := range p.ReasonCodes {
				if code > 2 && code != 0x80 {
					bad("SUBACK return code %s is reserved [MQTT-3.9.3-2]", hex(code))
				}
			}
		case packets.Publish:
			if p.FixedHeader.Qos > 0 && p.PacketID == 0 {
				bad("a QoS %d PUBLISH has packet identifier 0 [MQTT-2.3.1-1]", p.FixedHeader.Qos)
			}
		}
		return problems
	}

	if codes, ok := validCodes[t]; ok {
		list := []byte{p.ReasonCode}
		if t == packets.Suback || t == packets.Unsuback {
			list = p.ReasonCodes
		}
		for _, code := range list {
			if !slices.Contains(codes, code) {
				bad("reason code %s is not one a %s may carry (% x) [MQTT-3.2.2-8, MQTT-3.4.2-1, MQTT-3.5.2-1, MQTT-3.6.2-1, MQTT-3.7.2-1, MQTT-3.9.3-2, MQTT-3.11.3-2, MQTT-3.14.2-1]", hex(code), p.name, trim(p.raw))
			}
		}
	}
	if r.maxPacketSize > 0 && uint32(len(p.raw)) > r.maxPacketSize {
		bad("%d bytes: over the client's Maximum Packet Size of %d [MQTT-3.1.2-24]", len(p.raw), r.maxPacketSize)
	}
	if r.noProblemInfo && t != packets.Publish && t != packets.Connack && t != packets.Disconnect &&
		(p.Properties.ReasonString != "" || len(p.Properties.User) > 0) {
		bad("a Reason String or User Property after Request Problem Information 0 [MQTT-3.1.2-29]")
	}
	switch t {
	case packets.Disconnect:
		if p.Properties.SessionExpiryIntervalFlag {
			bad("the server sent a Session Expiry Interval on DISCONNECT [MQTT-3.14.2-2]")
		}
	case packets.Publish:
		if p.FixedHeader.Qos > 0 && p.PacketID == 0 {
			bad("a QoS %d PUBLISH has packet identifier 0 [MQTT-2.2.1-4]", p.FixedHeader.Qos)
		}
		if slices.Contains(p.Properties.SubscriptionIdentifier, 0) {
			bad("Subscription Identifier 0 [MQTT-3.3.4-*: 1 to 268,435,455]")
		}
		if p.Properties.TopicAliasFlag {
			a := p.Properties.TopicAlias
			switch {
			case r.topicAliasMaximum == 0:
				bad("a Topic Alias to a client that allows none [MQTT-3.1.2-27]")
			case a == 0 || a > r.topicAliasMaximum:
				bad("Topic Alias %d, outside 1..%d the client allows [MQTT-3.1.2-26, MQTT-3.3.2-8, MQTT-3.3.2-11]", a, r.topicAliasMaximum)
			case p.TopicName != "":
				r.aliases[a] = p.TopicName
			default:
				if name, ok := r.aliases[a]; ok {
					p.TopicName = name
				} else {
					bad("Topic Alias %d with no topic name was never set on this connection [MQTT-3.3.2-7, §3.3.2.3.4]", a)
				}
			}
		} else if p.TopicName == "" {
			bad("an empty topic name without a Topic Alias [MQTT-3.3.2-1, MQTT-4.7.3-1]")
		}
	}
	return problems
}

// ---- sending ----

// id returns the client's next packet identifier, never 0.
func (r *rawClient) id() uint16 {
	r.nextID++
	if r.nextID == 0 {
		r.nextID = 1
	}
	return r.nextID
}

// sendBytes writes b as it is.
func (r *rawClient) sendBytes(b []byte) {
	r.c.Helper()
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if err := r.nc.SetWriteDeadline(time.Now().Add(deadline)); err != nil {
		r.c.Fatalf("%s: %v", r.label, err)
	}
	if _, err := r.nc.Write(b); err != nil {
		r.c.Fatalf("%s: write: %v", r.label, err)
	}
}

// trySendBytes writes b and reports a failure instead of failing the
// case: the server may close the connection before all of b is written.
func (r *rawClient) trySendBytes(b []byte) error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if err := r.nc.SetWriteDeadline(time.Now().Add(deadline)); err != nil {
		return err
	}
	_, err := r.nc.Write(b)
	return err
}

// encode encodes pk with the mochi codec, for the client's version.
func (r *rawClient) encode(pk packets.Packet) []byte {
	r.c.Helper()
	pk.ProtocolVersion = r.version
	pk.Mods.AllowResponseInfo = true // lets the codec write Response Topic and Correlation Data
	var buf bytes.Buffer
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectEncode(&buf)
	case packets.Publish:
		err = pk.PublishEncode(&buf)
	case packets.Puback:
		err = pk.PubackEncode(&buf)
	case packets.Pubrec:
		err = pk.PubrecEncode(&buf)
	case packets.Pubrel:
		pk.FixedHeader.Qos = 1
		err = pk.PubrelEncode(&buf)
	case packets.Pubcomp:
		err = pk.PubcompEncode(&buf)
	case packets.Subscribe:
		pk.FixedHeader.Qos = 1
		err = pk.SubscribeEncode(&buf)
	case packets.Unsubscribe:
		pk.FixedHeader.Qos = 1
		err = pk.UnsubscribeEncode(&buf)
	case packets.Pingreq:
		err = pk.PingreqEncode(&buf)
	case packets.Disconnect:
		err = pk.DisconnectEncode(&buf)
	case packets.Auth:
		err = pk.AuthEncode(&buf)
	default:
		err = fmt.Errorf("cannot encode packet type %d", pk.FixedHeader.Type)
	}
	if err != nil {
		r.c.Fatalf("%s: encode %s: %v", r.label, packetName(pk.FixedHeader.Type), err)
	}
	return buf.Bytes()
}

// encode encodes pk for the case's version, without a connection.
func (c *C) encode(pk packets.Packet) []byte {
	c.Helper()
	return (&rawClient{c: c, label: "encoder", version: c.version}).encode(pk)
}

// send encodes and writes pk.
func (r *rawClient) send(pk packets.Packet) {
	r.c.Helper()
	r.sendBytes(r.encode(pk))
}

// publish sends a PUBLISH; props may be nil. It returns its packet
// identifier, 0 for QoS 0.
func (r *rawClient) publish(topic string, qos byte, retain bool, body []byte, props *packets.Properties) uint16 {
	r.c.Helper()
	var id uint16
	if qos > 0 {
		id = r.id()
	}
	r.publishID(topic, qos, retain, false, id, body, props)
	return id
}

// publishID sends a PUBLISH with the packet identifier and DUP flag given.
func (r *rawClient) publishID(topic string, qos byte, retain, dup bool, id uint16, body []byte, props *packets.Properties) {
	r.c.Helper()
	pk := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: qos, Retain: retain, Dup: dup},
		TopicName:   topic, PacketID: id, Payload: body,
	}
	if props != nil {
		pk.Properties = *props
	}
	r.send(pk)
}

// ack sends PUBACK, PUBREC, PUBREL or PUBCOMP.
func (r *rawClient) ack(typ byte, id uint16) {
	r.c.Helper()
	r.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: typ}, PacketID: id})
}

// sub is a subscription to send: filter, QoS and MQTT 5 options.
func sub(filter string, qos byte) packets.Subscription {
	return packets.Subscription{Filter: filter, Qos: qos}
}

// subscribe sends a SUBSCRIBE, with a Subscription Identifier when subID
// is not 0, and returns its SUBACK, checking that it answers it.
func (r *rawClient) subscribe(subID int, subs ...packets.Subscription) *rawPacket {
	r.c.Helper()
	id := r.sendSubscribe(subID, subs...)
	ack := r.expect(packets.Suback)
	if ack.PacketID != id {
		r.c.Errorf("%s: SUBACK for packet identifier %d; the SUBSCRIBE's was %d [MQTT-3.8.4-2]", r.label, ack.PacketID, id)
	}
	if len(ack.ReasonCodes) != len(subs) {
		r.c.Fatalf("%s: SUBACK carries %d reason codes for %d filters [MQTT-3.8.4-5 (3.1.1), MQTT-3.8.4-6 (5.0)]", r.label, len(ack.ReasonCodes), len(subs))
	}
	return ack
}

// sendSubscribe sends a SUBSCRIBE and returns its packet identifier.
func (r *rawClient) sendSubscribe(subID int, subs ...packets.Subscription) uint16 {
	r.c.Helper()
	id := r.id()
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe}, PacketID: id, Filters: subs}
	if subID != 0 {
		pk.Properties.SubscriptionIdentifier = []int{subID}
	}
	r.send(pk)
	return id
}

// mustSubscribe subscribes and fails the case unless every filter is
// granted the QoS asked for.
func (r *rawClient) mustSubscribe(subs ...packets.Subscription) {
	r.c.Helper()
	ack := r.subscribe(0, subs...)
	for i, s := range subs {
		if ack.ReasonCodes[i] != s.Qos {
			r.c.Fatalf("%s: SUBSCRIBE %q at QoS %d answered %s", r.label, s.Filter, s.Qos, hex(ack.ReasonCodes[i]))
		}
	}
}

// unsubscribe sends an UNSUBSCRIBE and returns its UNSUBACK.
func (r *rawClient) unsubscribe(filters ...string) *rawPacket {
	r.c.Helper()
	id := r.id()
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Unsubscribe}, PacketID: id}
	for _, f := range filters {
		pk.Filters = append(pk.Filters, packets.Subscription{Filter: f})
	}
	r.send(pk)
	ack := r.expect(packets.Unsuback)
	if ack.PacketID != id {
		r.c.Errorf("%s: UNSUBACK for packet identifier %d; the UNSUBSCRIBE's was %d [MQTT-3.10.4-5]", r.label, ack.PacketID, id)
	}
	if r.version == v5 && len(ack.ReasonCodes) != len(filters) {
		r.c.Fatalf("%s: UNSUBACK carries %d reason codes for %d filters [MQTT-3.11.3-1]", r.label, len(ack.ReasonCodes), len(filters))
	}
	return ack
}

// disconnect sends DISCONNECT (reason 0x00, no properties) and closes.
func (r *rawClient) disconnect() {
	r.c.Helper()
	r.disconnectWith(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
}

// disconnectWith sends a DISCONNECT and closes the network connection, as
// its sender must [MQTT-3.14.4-1 (3.1.1), MQTT-3.14.4-2 (5.0)]: it shuts
// its side down and waits, up to the deadline, for the server to close
// its own. The server has then read the DISCONNECT, so that what the case
// does next on another connection (a CONNECT with the same client ID)
// comes after it, however loaded the machine: a new connection's CONNECT
// is no takeover of this one.
func (r *rawClient) disconnectWith(pk packets.Packet) {
	r.c.Helper()
	r.send(pk)
	r.stopPinging()
	if tc, ok := r.nc.(*net.TCPConn); ok && tc.CloseWrite() == nil {
		select {
		case <-r.closed:
		case <-time.After(deadline):
			r.c.Logf("%s: the server left the connection open %v after DISCONNECT and the client's close", r.label, deadline)
		}
	}
	r.drop()
}

// drop closes the network connection without DISCONNECT, as a failed
// network would.
func (r *rawClient) drop() {
	r.stopPinging()
	r.nc.Close()
	<-r.closed
}

// ---- receiving ----

// next returns the next packet, skipping the PINGRESPs that answer the
// client's own automatic PINGREQs; nil and false when the connection
// closed or nothing came within d.
func (r *rawClient) next(d time.Duration) (*rawPacket, bool) {
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		select {
		case p := <-r.in:
			if r.automaticPingresp(p) {
				continue
			}
			return p, true
		case <-r.closed:
			// Whatever was read before the close comes first.
			select {
			case p := <-r.in:
				if r.automaticPingresp(p) {
					continue
				}
				return p, true
			default:
				return nil, false
			}
		case <-timeout.C:
			return nil, false
		}
	}
}

// automaticPingresp reports whether p answers an automatic PINGREQ.
func (r *rawClient) automaticPingresp(p *rawPacket) bool {
	if p.FixedHeader.Type != packets.Pingresp {
		return false
	}
	for {
		n := r.pings.Load()
		if n == 0 {
			return false
		}
		if r.pings.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// isClosed reports whether the connection has closed.
func (r *rawClient) isClosed() bool {
	select {
	case <-r.closed:
		return true
	default:
		return false
	}
}

// expect returns the next packet, failing the case unless it is of type typ.
func (r *rawClient) expect(typ byte) *rawPacket {
	r.c.Helper()
	p, ok := r.next(deadline)
	if !ok {
		r.c.Fatalf("%s: waiting for %s: %s", r.label, packetName(typ), r.why())
	}
	if p.FixedHeader.Type != typ {
		r.c.Fatalf("%s: got %s; want %s", r.label, p, packetName(typ))
	}
	return p
}

// why says why nothing came.
func (r *rawClient) why() string {
	if r.isClosed() {
		return fmt.Sprintf("the connection closed (%v)", r.readErr)
	}
	return fmt.Sprintf("nothing within %v", deadline)
}

// expectNothing fails the case if a packet arrives, or the connection
// closes, within d.
func (r *rawClient) expectNothing(d time.Duration, why string) {
	r.c.Helper()
	if p, ok := r.next(d); ok {
		r.c.Errorf("%s: got %s; want nothing: %s", r.label, p, why)
	} else if r.isClosed() {
		r.c.Errorf("%s: the connection closed (%v); want it open: %s", r.label, r.readErr, why)
	}
}

// expectClosed waits for the server to close the connection, failing the
// case if it does not within the deadline. In MQTT 5, when codes are
// given, the server must first send a DISCONNECT with one of them
// (§4.13.1: it SHOULD; the target's CloseWithoutDisconnect deviation
// accepts a bare close); any other packet before the close fails the case.
// It returns the DISCONNECT, or nil.
func (r *rawClient) expectClosed(why string, codes ...byte) *rawPacket {
	r.c.Helper()
	return r.expectClosedWithin(deadline, why, codes...)
}

// expectClosedWithin is expectClosed with a failure deadline of wait, for
// a close that the protocol itself puts off (a keep-alive).
func (r *rawClient) expectClosedWithin(wait time.Duration, why string, codes ...byte) *rawPacket {
	r.c.Helper()
	var disc *rawPacket
	for {
		p, ok := r.next(wait)
		if !ok {
			if !r.isClosed() {
				r.c.Fatalf("%s: the connection is still open after %v; want it closed: %s", r.label, wait, why)
			}
			break
		}
		if p.FixedHeader.Type == packets.Disconnect && disc == nil {
			disc = p
			continue
		}
		r.c.Errorf("%s: got %s; want the connection closed: %s", r.label, p, why)
	}
	if r.version != v5 || len(codes) == 0 {
		return disc
	}
	switch {
	case disc == nil && r.c.target.Has(CloseWithoutDisconnect):
	case disc == nil:
		r.c.Errorf("%s: closed without a DISCONNECT; want DISCONNECT with %s first: %s [§4.13.1]", r.label, codeList(codes), why)
	case !slices.Contains(codes, disc.ReasonCode):
		r.c.Errorf("%s: %s; want reason code %s: %s", r.label, disc, codeList(codes), why)
	}
	return disc
}

func codeList(codes []byte) string {
	var b bytes.Buffer
	for i, c := range codes {
		if i > 0 {
			b.WriteString(" or ")
		}
		b.WriteString(hex(c))
	}
	return b.String()
}

// expectRefused waits for a CONNECT to be refused: no successful CONNACK,
// and the connection closed. A refusing CONNACK must carry one of codes
// when they are given.
func (r *rawClient) expectRefused(why string, codes ...byte) {
	r.c.Helper()
	for {
		p, ok := r.next(deadline)
		if !ok {
			if !r.isClosed() {
				r.c.Fatalf("%s: the connection is still open after %v; want it refused and closed: %s", r.label, deadline, why)
			}
			return
		}
		switch {
		case p.FixedHeader.Type != packets.Connack:
			r.c.Errorf("%s: got %s; want the CONNECT refused: %s", r.label, p, why)
		case p.ReasonCode == 0:
			r.c.Fatalf("%s: CONNECT accepted; want it refused: %s", r.label, why)
		case len(codes) > 0 && !slices.Contains(codes, p.ReasonCode):
			r.c.Errorf("%s: refused with %s; want %s: %s", r.label, hex(p.ReasonCode), codeList(codes), why)
		case p.SessionPresent:
			r.c.Errorf("%s: a refusing CONNACK with Session Present 1 [MQTT-3.2.2-4 (3.1.1), MQTT-3.2.2-6 (5.0)]", r.label)
		}
	}
}

// ---- pinging ----

// startPinging sends PINGREQ every d until the connection ends, as a
// client keeping its keep-alive does; next skips their PINGRESPs.
func (r *rawClient) startPinging(d time.Duration) {
	go func() {
		tick := time.NewTicker(d)
		defer tick.Stop()
		ping := []byte{packets.Pingreq << 4, 0}
		for {
			select {
			case <-tick.C:
				r.pings.Add(1)
				if r.trySendBytes(ping) != nil {
					return
				}
			case <-r.stopPing:
				return
			case <-r.closed:
				return
			}
		}
	}()
}

func (r *rawClient) stopPinging() { r.pingOnce.Do(func() { close(r.stopPing) }) }
