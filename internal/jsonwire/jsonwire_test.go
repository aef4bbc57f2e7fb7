package jsonwire

import (
	"encoding/json"
	"testing"
)

// TestAppendString: what AppendString writes is JSON that encoding/json
// (and so the clients' json-iterator and the broker's reader) reads back
// to the same string.
func TestAppendString(t *testing.T) {
	for _, s := range []string{
		"", "plain", "\x00\x01\x02\x1f\x7f", `"\`, "\n\r\t", "日本語", "emoji 🎉", "<html>&",
		"\u2028\u2029", "UNIQ_KEY\x01AC10\x02TAGS\x01a\x02",
	} {
		b := AppendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("AppendString(%q) = %s: not JSON: %v", s, b, err)
			continue
		}
		if got != s {
			t.Errorf("AppendString(%q) decodes to %q", s, got)
		}
	}
	// Invalid UTF-8 becomes U+FFFD, as encoding/json writes it.
	var got string
	if err := json.Unmarshal(AppendString(nil, "a\xffb"), &got); err != nil || got != "a\uFFFDb" {
		t.Errorf("AppendString(%q) decodes to %q, %v; want %q", "a\xffb", got, err, "a\uFFFDb")
	}
}

// FuzzAppendString: any string reads back as encoding/json's own
// encoding of it reads back.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "UNIQ_KEY\x01AC10\x02", `q"b\s`, "\n\r\t\x00\x1f\x7f", "ünï€😀", "\xff\xfe", "a\xc3", "\u2028<>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got, want string
		if err := json.Unmarshal(AppendString(nil, s), &got); err != nil {
			t.Fatalf("AppendString(%q) = %q: %v", s, AppendString(nil, s), err)
		}
		std, _ := json.Marshal(s)
		if err := json.Unmarshal(std, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("AppendString(%q) reads back as %q; encoding/json's as %q", s, got, want)
		}
	})
}

// FuzzScanner: a string Str reads is what encoding/json reads from the
// same input, and an integer Integer reads is too; neither panics.
func FuzzScanner(f *testing.F) {
	for _, s := range []string{`"abc"`, `"a\u00e9\ud83d\ude00"`, `"\ud800x"`, `"bad\x"`, `-12`, `012`, `1e3`, `"\u0000"`, "\"raw\x01\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if got, ok := NewScanner([]byte(in)).Str(); ok {
			var want string
			if err := json.Unmarshal([]byte(in[:len(in)-trailing(in)]), &want); err == nil && got != want {
				t.Errorf("Str(%q) = %q; encoding/json reads %q", in, got, want)
			}
		}
		s := NewScanner([]byte(in))
		if n, ok := s.Integer(64); ok && s.End() {
			var want int64
			if err := json.Unmarshal([]byte(in), &want); err != nil || n != want {
				t.Errorf("Integer(%q) = %d; encoding/json reads %d, %v", in, n, want, err)
			}
		}
		NewScanner([]byte(in)).SkipScalar()
	})
}

// trailing is how many bytes follow the first JSON string of in.
func trailing(in string) int {
	s := NewScanner([]byte(in))
	if _, ok := s.Str(); !ok {
		return 0
	}
	return len(in) - s.i
}
