package remoting

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// TestAppendFrame: a frame's lengths, and a header the broker's JSON
// reader takes: code, language, opaque, request flag, the fields.
func TestAppendFrame(t *testing.T) {
	body := []byte("the body")
	fields := []field{{"b", "vehicles"}, {"i", "UNIQ_KEY\x01X\x02"}, {"q", `"\`}}
	frame := appendFrame([]byte("prefix"), 310, 7, fields, body, primitive.Credentials{})
	if !bytes.HasPrefix(frame, []byte("prefix")) {
		t.Fatalf("the frame overwrote what was before it: %q", frame)
	}
	cmd, err := readCommand(bytes.NewReader(frame[len("prefix"):]))
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Code != 310 || cmd.Language != "GO" || cmd.Opaque != 7 || cmd.Flag != 0 || !bytes.Equal(cmd.Body, body) {
		t.Errorf("frame decodes as %+v", cmd)
	}
	for _, f := range fields {
		if cmd.ExtFields[f.key] != f.value {
			t.Errorf("field %s = %q; want %q", f.key, cmd.ExtFields[f.key], f.value)
		}
	}
	if len(cmd.ExtFields) != len(fields) {
		t.Errorf("fields %v; want only %v", cmd.ExtFields, fields)
	}
}

// TestSign: a signed request carries the access key, the security token
// and, as Signature, HMAC-SHA1 with the secret key over the values of the
// other fields in the order of their keys ("AccessKey" < "SecurityToken"
// < "a" < "b" in bytes), then the body, in Base64.
func TestSign(t *testing.T) {
	creds := primitive.Credentials{AccessKey: "ak", SecretKey: "sk", SecurityToken: "tok"}
	frame := appendFrame(nil, 10, 1, []field{{"b", "2"}, {"a", "1"}}, []byte("xyz"), creds)
	cmd, err := readCommand(bytes.NewReader(frame))
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha1.New, []byte("sk"))
	mac.Write([]byte("ak" + "tok" + "1" + "2" + "xyz"))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if cmd.ExtFields["Signature"] != want || cmd.ExtFields["AccessKey"] != "ak" || cmd.ExtFields["SecurityToken"] != "tok" {
		t.Errorf("signed fields %v; want Signature %s", cmd.ExtFields, want)
	}
	plain := appendFrame(nil, 10, 1, []field{{"a", "1"}}, nil, primitive.Credentials{})
	if bytes.Contains(plain, []byte("Signature")) || bytes.Contains(plain, []byte("AccessKey")) {
		t.Errorf("a request without credentials is signed: %q", plain)
	}
}

// FuzzParseHeader: a header encoding/json writes is read back as it was
// (invalid UTF-8 as U+FFFD, as encoding/json reads it), and no input
// makes parseHeader panic.
func FuzzParseHeader(f *testing.F) {
	f.Add(0, int32(5), 1, "", "queueOffset", "12", "msgId", "7F00000100002A9F0000000000000000", []byte(`{"code":0,"extFields":{"queueId":"1"},"flag":1,"language":"JAVA","opaque":5,"serializeTypeCurrentRPC":"JSON","version":475}`))
	f.Add(17, int32(-3), 1, "No topic route info \"x\"\n\u2028", "k\x01", "v\x02\xff", "", "", []byte(`{"remark":null,"extFields":null,"x":[1,{"a":[true,false,null]},-2.5e3]}`))
	f.Fuzz(func(t *testing.T, code int, opaque int32, flag int, remark, k1, v1, k2, v2 string, raw []byte) {
		// What the hand-written reader takes, it reads as encoding/json does.
		var fast, std Command
		if fastHeader(raw, &fast) {
			if err := json.Unmarshal(raw, &std); err != nil {
				t.Fatalf("fastHeader took %s, which encoding/json refuses: %v", raw, err)
			}
			sameCommand(t, raw, fast, std)
		}

		in := Command{Code: code, Language: "JAVA", Version: 475, Opaque: opaque, Flag: flag, Remark: remark,
			ExtFields: map[string]string{k1: v1, k2: v2}}
		header, err := json.Marshal(&in)
		if err != nil {
			t.Fatal(err)
		}
		var want, got Command
		if err := json.Unmarshal(header, &want); err != nil {
			t.Fatal(err)
		}
		if err := parseHeader(header, &got); err != nil {
			t.Fatalf("parseHeader(%s): %v", header, err)
		}
		sameCommand(t, header, got, want)
	})
}

// sameCommand fails t unless got is want, read from header.
func sameCommand(t *testing.T, header []byte, got, want Command) {
	t.Helper()
	if got.Code != want.Code || got.Opaque != want.Opaque || got.Flag != want.Flag || got.Remark != want.Remark ||
		got.Language != want.Language || got.Version != want.Version || len(got.ExtFields) != len(want.ExtFields) {
		t.Fatalf("read %s as %+v; encoding/json reads %+v", header, got, want)
	}
	for k, v := range want.ExtFields {
		if g, ok := got.ExtFields[k]; !ok || g != v {
			t.Fatalf("read %s: field %q = %q; encoding/json reads %q", header, k, g, v)
		}
	}
}

// TestParseHeaderRefuses: what is not a header's JSON object is refused.
func TestParseHeaderRefuses(t *testing.T) {
	for _, h := range []string{``, `{`, `[]`, `{"code":"0"}`, `{"code":1.5}`, `{"extFields":{"a":"b"}`, `{"remark":"a\qb"}`, `{"code":0} x`, `{"a":"\ud800\u12"}`, "{\"remark\":\"a\x01\"}"} {
		var c Command
		if err := parseHeader([]byte(h), &c); err == nil {
			t.Errorf("parseHeader(%q) = %+v, nil; want an error", h, c)
		}
	}
}
