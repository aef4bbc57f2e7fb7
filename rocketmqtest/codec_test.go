package rocketmqtest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// frameOf flattens an encoded reply and strips the leading length word, the
// form decodeRequest takes.
func frameOf(t testing.TB, r *reply) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, p := range r.encode() {
		b.Write(p)
	}
	all := b.Bytes()
	if n := int(binary.BigEndian.Uint32(all)); n != len(all)-4 {
		t.Fatalf("length word = %d; frame has %d bytes after it", n, len(all)-4)
	}
	return all[4:]
}

func TestCodecRoundTrip(t *testing.T) {
	for _, ser := range []byte{serializeJSON, serializeRocketMQ} {
		r := &reply{
			code:      int16(SendMessage),
			flag:      flagOneway,
			opaque:    -7,
			remark:    "rémark \"quoted\" \\ \n\x01",
			fields:    []field{{"properties", "a\x01b\x02TAGS\x01t\x02"}, {"topic", "T"}, {"ünï", "ç"}},
			body:      [][]byte{[]byte("hello "), []byte("world")},
			serialize: ser,
		}
		got, err := decodeRequest(frameOf(t, r))
		if err != nil {
			t.Fatalf("serialize %d: decodeRequest: %v", ser, err)
		}
		want := &request{
			code: SendMessage, version: brokerVersion, opaque: -7, flag: flagOneway,
			remark: r.remark, body: []byte("hello world"), serialize: ser,
			ext: extFields{{"properties", "a\x01b\x02TAGS\x01t\x02"}, {"topic", "T"}, {"ünï", "ç"}},
		}
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(request{}, field{})); diff != "" {
			t.Errorf("serialize %d: round trip (-want +got):\n%s", ser, diff)
		}
	}
}

// decodeRequestRejects lists frames a broker refuses to decode; the
// connection that sends one is closed.
var decodeRequestRejects = []struct {
	name  string
	frame []byte
}{
	{"empty", nil},
	{"short header word", []byte{0, 0, 1}},
	{"header longer than frame", []byte{0, 0, 0, 9, '{', '}'}},
	{"unknown serialize type", []byte{7, 0, 0, 2, '{', '}'}},
	{"JSON header not JSON", []byte{0, 0, 0, 3, 'x', 'y', 'z'}},
	{"JSON code out of range", append([]byte{0, 0, 0, 14}, `{"code":99999}`...)},
	{"binary header truncated", []byte{1, 0, 0, 3, 0, 10, 0}},
	{"binary remark overruns", []byte{1, 0, 0, 21, 0, 10, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 'r', 0, 0, 0, 0}},
	{"binary negative remark length", []byte{1, 0, 0, 21, 0, 10, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}},
	{"binary ext overruns", []byte{1, 0, 0, 21, 0, 10, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5}},
	{"binary ext value overruns", []byte{1, 0, 0, 28, 0, 10, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 1, 'k', 0, 0, 0, 9}},
}

func TestDecodeRequestRejects(t *testing.T) {
	for _, tc := range decodeRequestRejects {
		if r, err := decodeRequest(tc.frame); !errors.Is(err, errMalformedFrame) {
			t.Errorf("decodeRequest(%s) = %+v, %v; want errMalformedFrame", tc.name, r, err)
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, tc := range decodeRequestRejects {
		f.Add(tc.frame)
	}
	for _, ser := range []byte{serializeJSON, serializeRocketMQ} {
		r := &reply{code: 10, fields: []field{{"topic", "T"}}, body: [][]byte{[]byte("b")}, serialize: ser}
		var b bytes.Buffer
		for _, p := range r.encode() {
			b.Write(p)
		}
		f.Add(b.Bytes()[4:])
	}
	// A connection decodes every request into one value; what an earlier,
	// larger request left there must not show through.
	busy := &reply{code: 11, remark: "earlier", fields: []field{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"topic", "old"}}}
	f.Fuzz(func(t *testing.T, frame []byte) {
		r, err := decodeRequest(frame)
		if err == nil && r == nil {
			t.Fatal("decodeRequest returned neither request nor error")
		}
		for _, ser := range []byte{serializeJSON, serializeRocketMQ} {
			busy.serialize = ser
			var reused request
			if err := reused.decode(frameOf(t, busy)); err != nil {
				t.Fatal(err)
			}
			err2 := reused.decode(frame)
			if (err == nil) != (err2 == nil) {
				t.Fatalf("decode into a used request: error %v; into a new one: %v", err2, err)
			}
			if err != nil {
				continue
			}
			if len(r.ext) == 0 && len(reused.ext) == 0 {
				r.ext, reused.ext = nil, nil // empty either way
			}
			if diff := cmp.Diff(r, &reused, cmp.AllowUnexported(request{}, field{})); diff != "" {
				t.Fatalf("decode into a used request differs (-new +used):\n%s", diff)
			}
		}
	})
}

// jsonHeaderSeeds are headers as clients write them, and near misses.
var jsonHeaderSeeds = []string{
	`{"code":10,"language":"GO","version":317,"opaque":5,"flag":0,"remark":"","extFields":{"topic":"T","properties":"a\u0001b\u0002"}}`,
	`{"code":34,"extFields":{},"flag":0,"language":"JAVA","opaque":1,"serializeTypeCurrentRPC":"JSON","version":479}`,
	`{}`,
	` { "code" : -1 , "remark" : "x\"y\\z\/\b\f\n\r\t\u00e9\ud83d\ude00\ud800" } `,
	`{"code":10,"code":11}`,
	`{"Code":10}`,
	`{"code":1e1}`,
	`{"code":01}`,
	`{"code":40000}`,
	`{"code":null,"remark":null,"extFields":null}`,
	`{"extFields":{"k":"v","k":"w"}}`,
	`{"unknown":[1,2],"code":1}`,
	`{"unknown":1.5e3,"other":true,"third":null,"code":2}`,
	"{\"remark\":\"\xff\"}",
	`{"remark":"a` + "\x01" + `"}`,
	`{"code":1}x`,
	`{"code":1,}`,
	`{"extFields":{"k":1}}`,
}

func FuzzJSONHeader(f *testing.F) {
	for _, s := range jsonHeaderSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast := new(request)
		ok := parseJSONHeader(b, fast)
		var h jsonHeader
		err := json.Unmarshal(b, &h)
		if !ok {
			return // request.decodeJSON uses encoding/json
		}
		if err != nil {
			t.Fatalf("fast parser accepted %q; encoding/json: %v", b, err)
		}
		want := &request{code: RequestCode(h.Code), version: h.Version, opaque: h.Opaque, flag: h.Flag, remark: h.Remark, ext: fieldsOf(h.ExtFields)}
		if fast.ext != nil {
			fast.ext = fieldsOf(fast.ext.toMap())
		}
		if diff := cmp.Diff(want, fast, cmp.AllowUnexported(request{}, field{})); diff != "" {
			t.Fatalf("fast parser of %q differs from encoding/json (-json +fast):\n%s", b, diff)
		}
	})
}

func TestJSONHeaderFastPath(t *testing.T) {
	for _, s := range jsonHeaderSeeds[:4] {
		if !parseJSONHeader([]byte(s), new(request)) {
			t.Errorf("parseJSONHeader(%s) fell back to encoding/json", s)
		}
	}
}

func (e extFields) toMap() map[string]string {
	m := make(map[string]string, len(e))
	for _, f := range e {
		m[f.key] = f.value
	}
	return m
}
