package rocketmqtest

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/mqttrmq/mqttrmq/internal/jsonwire"
)

// The remoting frame, as both Apache RocketMQ and rocketmq-client-go write it:
//
//	int32 length of everything that follows
//	int32 serialize type (high byte) and header length (low 24 bits)
//	header: JSON, or RocketMQ's own binary form
//	body: the remaining bytes
//
// A response echoes the request's opaque and sets flag bit 0; a one-way
// request sets flag bit 1 and gets no response.
const (
	serializeJSON     = 0
	serializeRocketMQ = 1

	flagResponse = 1 << 0
	flagOneway   = 1 << 1

	// maxFrameLength is Java's default com.rocketmq.remoting.frameMaxLength.
	maxFrameLength = 16 << 20

	// languageJava is what the server reports in binary headers; a real
	// broker is a Java process.
	languageJava = 0

	// brokerVersion is MQVersion.Version.V5_3_3.ordinal(), the version a
	// current Apache RocketMQ broker puts in its responses.
	brokerVersion = 479
)

// errMalformedFrame is wrapped by every decoding failure; the connection
// that sent such a frame is closed, as a real broker closes it.
var errMalformedFrame = errors.New("malformed remoting frame")

// request is one decoded remoting command received from a client.
type request struct {
	code      RequestCode
	version   int16
	opaque    int32
	flag      int32
	remark    string
	ext       extFields
	body      []byte
	serialize byte
}

// extFields are a command's custom header fields, in the order they came.
// A slice beats a map here: a request carries a dozen fields or so, and
// building a map costs more than scanning them.
type extFields []field

// lookup returns the value of key and whether it is present.
func (e extFields) lookup(key string) (string, bool) {
	for _, f := range e {
		if f.key == key {
			return f.value, true
		}
	}
	return "", false
}

// get returns the value of key, "" if absent.
func (e extFields) get(key string) string {
	v, _ := e.lookup(key)
	return v
}

func (r *request) oneway() bool { return r.flag&flagOneway != 0 }

// field is one extFields entry of an outgoing command. A slice of fields
// keeps the order stable and costs less than a map.
type field struct{ key, value string }

// reply is an outgoing command: a response, or a request the server sends
// (NOTIFY_CONSUMER_IDS_CHANGED). body may be several slices; they are
// written with one vectored write and never concatenated.
type reply struct {
	code      int16
	flag      int32
	opaque    int32
	remark    string
	fields    []field
	body      [][]byte
	serialize byte
	inline    [8]field // backs fields for most replies, saving an allocation
}

func (r *reply) add(key, value string) { r.fields = append(r.fields, field{key, value}) }

func (r *reply) addInt(key string, v int64) { r.add(key, strconv.FormatInt(v, 10)) }

// replies recycles replies: one is built for every request, and it is
// garbage once encoded.
var replies = sync.Pool{New: func() any { return new(reply) }}

// response builds a response with code and remark.
func response(code ResponseCode, remark string) *reply {
	r := replies.Get().(*reply)
	r.code, r.remark = int16(code), remark
	r.fields = r.inline[:0]
	return r
}

// release recycles r once it has been encoded; r must not be used after.
func (r *reply) release() {
	*r = reply{}
	replies.Put(r)
}

// responsef is response with a formatted remark.
func responsef(code ResponseCode, format string, args ...any) *reply {
	return response(code, fmt.Sprintf(format, args...))
}

// decodeRequest decodes frame, the bytes after the leading length word,
// into a new request. It rejects frames whose header length, serialize
// type or header contents are inconsistent; it never panics.
func decodeRequest(frame []byte) (*request, error) {
	r := new(request)
	if err := r.decode(frame); err != nil {
		return nil, err
	}
	return r, nil
}

// maxReusedFields bounds the extFields storage a reused request keeps.
const maxReusedFields = 64

// decode is decodeRequest into r, whose extFields storage it reuses: a
// connection decodes each of its requests into one request value. On error
// r holds a partial result.
func (r *request) decode(frame []byte) error {
	if len(frame) < 4 {
		return fmt.Errorf("%w: %d bytes, need at least 4", errMalformedFrame, len(frame))
	}
	word := binary.BigEndian.Uint32(frame)
	typ := byte(word >> 24)
	hlen := int(word & 0xFFFFFF)
	if hlen > len(frame)-4 {
		return fmt.Errorf("%w: header length %d exceeds frame of %d bytes", errMalformedFrame, hlen, len(frame))
	}
	header, body := frame[4:4+hlen], frame[4+hlen:]
	ext := r.ext
	if cap(ext) > maxReusedFields {
		ext = nil
	}
	clear(ext[:cap(ext)]) // let the last request's strings go
	*r = request{ext: ext[:0]}
	var err error
	switch typ {
	case serializeJSON:
		err = r.decodeJSON(header)
	case serializeRocketMQ:
		err = r.decodeBinary(header)
	default:
		return fmt.Errorf("%w: unknown serialize type %d", errMalformedFrame, typ)
	}
	if err != nil {
		return err
	}
	r.serialize = typ
	r.body = body
	return nil
}

// clone returns a copy of r that shares nothing with it but immutable
// strings, without the body: for a request kept after its handler returns.
func (r *request) clone() *request {
	c := *r
	c.ext = slices.Clone(r.ext)
	c.body = nil
	return &c
}

// jsonHeader is the JSON form of a command header. Fields the server does
// not use (language, serializeTypeCurrentRPC) are left out; encoding/json
// skips them.
type jsonHeader struct {
	Code      int16             `json:"code"`
	Version   int16             `json:"version"`
	Opaque    int32             `json:"opaque"`
	Flag      int32             `json:"flag"`
	Remark    string            `json:"remark"`
	ExtFields map[string]string `json:"extFields"`
}

func (r *request) decodeJSON(b []byte) error {
	if parseJSONHeader(b, r) {
		return nil
	}
	var h jsonHeader
	if err := json.Unmarshal(b, &h); err != nil {
		return fmt.Errorf("%w: JSON header: %v", errMalformedFrame, err)
	}
	*r = request{
		code: RequestCode(h.Code), version: h.Version, opaque: h.Opaque,
		flag: h.Flag, remark: h.Remark, ext: fieldsOf(h.ExtFields),
	}
	return nil
}

// fieldsOf turns encoding/json's map into fields, sorted by key.
func fieldsOf(m map[string]string) extFields {
	if m == nil {
		return nil
	}
	e := make(extFields, 0, len(m))
	for k, v := range m {
		e = append(e, field{k, v})
	}
	slices.SortFunc(e, func(a, b field) int { return strings.Compare(a.key, b.key) })
	return e
}

// with sets key to value: a repeated key keeps its place and takes the
// new value, as a map assignment would.
func (e extFields) with(key, value string) extFields {
	for i := range e {
		if e[i].key == key {
			e[i].value = value
			return e
		}
	}
	return append(e, field{key, value})
}

// decodeBinaryHeader decodes RocketMQ's binary header:
//
//	int16 code, byte language, int16 version, int32 opaque, int32 flag,
//	int32 remark length, remark, int32 extFields length,
//	extFields as repeated (int16 key length, key, int32 value length, value)
func (r *request) decodeBinary(b []byte) error {
	d := binReader{b: b}
	r.code = RequestCode(d.int16())
	d.skip(1) // language
	r.version = d.int16()
	r.opaque = d.int32()
	r.flag = d.int32()
	r.remark = string(d.bytes(int(d.int32())))
	ext := d.bytes(int(d.int32()))
	if d.err != nil {
		return d.err
	}
	e := binReader{b: ext}
	for len(e.b) > 0 && e.err == nil {
		k := e.bytes(int(e.int16()))
		v := e.bytes(int(e.int32()))
		if e.err == nil {
			r.ext = r.ext.with(internKey(k), string(v))
		}
	}
	return e.err
}

// binReader reads big-endian values and remembers the first overrun.
type binReader struct {
	b   []byte
	err error
}

func (d *binReader) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.err = fmt.Errorf("%w: binary header wants %d bytes, has %d", errMalformedFrame, n, len(d.b))
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *binReader) skip(n int) { d.take(n) }

func (d *binReader) bytes(n int) []byte { return d.take(n) }

func (d *binReader) int16() int16 {
	if v := d.take(2); v != nil {
		return int16(binary.BigEndian.Uint16(v))
	}
	return 0
}

func (d *binReader) int32() int32 {
	if v := d.take(4); v != nil {
		return int32(binary.BigEndian.Uint32(v))
	}
	return 0
}

// encode renders r as one frame: a first buffer holding the length words and
// the header, then r.body's slices as they are.
func (r *reply) encode() net.Buffers {
	var q outQueue
	q.add(r)
	return q.bufs
}

// appendHead appends the start of r's frame to b: the length words and the
// header, everything but the body.
func (r *reply) appendHead(b []byte) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0)
	switch r.serialize {
	case serializeRocketMQ:
		b = r.appendBinaryHeader(b)
	default:
		b = r.appendJSONHeader(b)
	}
	hlen := len(b) - start - 8
	total := 4 + hlen
	for _, p := range r.body {
		total += len(p)
	}
	binary.BigEndian.PutUint32(b[start:], uint32(total))
	binary.BigEndian.PutUint32(b[start+4:], uint32(r.serialize)<<24|uint32(hlen)&0xFFFFFF)
	return b
}

// outQueue holds frames waiting to be written as one vectored write. Their
// heads are packed into one buffer, so consecutive heads travel as one
// slice and the buffer serves again once written; bodies (stored messages)
// are referenced where they are, never copied.
type outQueue struct {
	bufs  net.Buffers
	heads []byte // backs the heads in bufs
}

func (q *outQueue) add(r *reply) {
	start := len(q.heads)
	q.heads = r.appendHead(q.heads)
	head := q.heads[start:]
	if n := len(q.bufs); n > 0 && adjacent(q.bufs[n-1], head) {
		q.bufs[n-1] = q.bufs[n-1][:len(q.bufs[n-1])+len(head)]
	} else {
		q.bufs = append(q.bufs, head)
	}
	for _, p := range r.body {
		if len(p) > 0 {
			q.bufs = append(q.bufs, p)
		}
	}
}

// adjacent reports whether b starts where a ends, in the same array.
func adjacent(a, b []byte) bool {
	return len(b) > 0 && cap(a) > len(a) && &a[:len(a)+1][len(a)] == &b[0]
}

// maxReusedOut bounds the buffers a connection keeps for its next write.
const maxReusedOut = 64 << 10

// reset empties q for reuse after its bufs were written, or drops its
// storage if it grew large.
func (q *outQueue) reset() {
	if cap(q.heads) > maxReusedOut || cap(q.bufs) > maxReusedOut/64 {
		*q = outQueue{}
		return
	}
	clear(q.bufs[:cap(q.bufs)]) // let written bodies go
	q.bufs, q.heads = q.bufs[:0], q.heads[:0]
}

func (r *reply) appendJSONHeader(b []byte) []byte {
	b = append(b, `{"code":`...)
	b = strconv.AppendInt(b, int64(r.code), 10)
	b = append(b, `,"language":"JAVA","version":`...)
	b = strconv.AppendInt(b, brokerVersion, 10)
	b = append(b, `,"opaque":`...)
	b = strconv.AppendInt(b, int64(r.opaque), 10)
	b = append(b, `,"flag":`...)
	b = strconv.AppendInt(b, int64(r.flag), 10)
	if r.remark != "" {
		b = append(b, `,"remark":`...)
		b = jsonwire.AppendString(b, r.remark)
	}
	if len(r.fields) > 0 {
		b = append(b, `,"extFields":{`...)
		for i, f := range r.fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonwire.AppendString(b, f.key)
			b = append(b, ':')
			b = jsonwire.AppendString(b, f.value)
		}
		b = append(b, '}')
	}
	return append(b, `,"serializeTypeCurrentRPC":"JSON"}`...)
}

func (r *reply) appendBinaryHeader(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(r.code))
	b = append(b, languageJava)
	b = binary.BigEndian.AppendUint16(b, brokerVersion)
	b = binary.BigEndian.AppendUint32(b, uint32(r.opaque))
	b = binary.BigEndian.AppendUint32(b, uint32(r.flag))
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.remark)))
	b = append(b, r.remark...)
	n := 0
	for _, f := range r.fields {
		n += 2 + len(f.key) + 4 + len(f.value)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	for _, f := range r.fields {
		b = binary.BigEndian.AppendUint16(b, uint16(len(f.key)))
		b = append(b, f.key...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(f.value)))
		b = append(b, f.value...)
	}
	return b
}
