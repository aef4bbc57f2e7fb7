package rocketmqtest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// parsePropertiesCases follow Java's MessageDecoder.string2messageProperties,
// which is how the broker reads the properties a producer sends.
var parsePropertiesCases = []struct {
	in   string
	want properties
}{
	{"", nil},
	{"a\x01b\x02", properties{{"a", "b"}}},
	// The last entry needs no trailing separator.
	{"a\x01b\x02c\x01d", properties{{"a", "b"}, {"c", "d"}}},
	// An empty key or an empty value drops the entry.
	{"\x01v\x02k\x01\x02x\x01y\x02", properties{{"x", "y"}}},
	// The key ends at the first \x01; the value keeps later ones.
	{"k\x01v\x01w\x02", properties{{"k", "v\x01w"}}},
	// A repeated key keeps its first place and its last value.
	{"k\x011\x02j\x012\x02k\x013\x02", properties{{"k", "3"}, {"j", "2"}}},
	// Entries without a separator are dropped.
	{"junk\x02k\x01v\x02", properties{{"k", "v"}}},
	{"\x02\x02\x02", nil},
	{"ü\x01日本\x02", properties{{"ü", "日本"}}},
}

func TestParseProperties(t *testing.T) {
	for _, tc := range parsePropertiesCases {
		got := parseProperties(tc.in)
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(field{})); diff != "" {
			t.Errorf("parseProperties(%q) (-want +got):\n%s", tc.in, diff)
		}
		for _, f := range got {
			if v := propertyValue(tc.in, f.key); v != f.value {
				t.Errorf("propertyValue(%q, %q) = %q; want %q", tc.in, f.key, v, f.value)
			}
		}
	}
}

func TestPropertiesEdit(t *testing.T) {
	p := parseProperties("a\x011\x02b\x012\x02")
	p.set("c", "3")
	p.set("a", "9")
	p.del("b")
	p.del("missing")
	if got, want := p.String(), "a\x019\x02c\x013\x02"; got != want {
		t.Errorf("edited properties = %q; want %q", got, want)
	}
	if v, ok := p.get("c"); !ok || v != "3" {
		t.Errorf(`get("c") = %q, %v; want "3", true`, v, ok)
	}
	if _, ok := p.get("b"); ok {
		t.Error(`get("b") found a deleted key`)
	}
}

func FuzzParseProperties(f *testing.F) {
	for _, tc := range parsePropertiesCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p := parseProperties(in)
		for _, fl := range p {
			if fl.key == "" || fl.value == "" || strings.ContainsRune(fl.key, nameValueSeparator) ||
				strings.ContainsRune(fl.key, propertySeparator) || strings.ContainsRune(fl.value, propertySeparator) {
				t.Fatalf("parseProperties(%q) produced entry %q=%q", in, fl.key, fl.value)
			}
		}
		// Serialising and parsing again is stable.
		again := parseProperties(p.String())
		if diff := cmp.Diff(p, again, cmp.AllowUnexported(field{})); diff != "" {
			t.Fatalf("parseProperties(%q) is not stable (-first +second):\n%s", in, diff)
		}
	})
}

// canonical must only accept strings that parsing and serialising leave
// unchanged, for the broker then appends to them instead of rebuilding them.
func TestCanonical(t *testing.T) {
	for _, tc := range []struct {
		in                 string
		ok, uniq, hasClust bool
	}{
		{"", true, false, false},
		{"UNIQ_KEY\x01u\x02a\x01b\x02", true, true, false},
		{"CLUSTER\x01c\x02", true, false, true},
		{"a\x01b", false, false, false},               // no trailing separator
		{"a\x01b\x02a\x01c\x02", false, false, false}, // repeated key
		{"\x01b\x02", false, false, false},            // empty key
		{"a\x01\x02", false, false, false},            // empty value
		{"junk\x02", false, false, false},             // no name-value separator
	} {
		ok, uniq, clust := canonical(tc.in)
		if ok != tc.ok || (ok && (uniq != tc.uniq || clust != tc.hasClust)) {
			t.Errorf("canonical(%q) = %v, %v, %v; want %v, %v, %v", tc.in, ok, uniq, clust, tc.ok, tc.uniq, tc.hasClust)
		}
	}
}

func FuzzCanonical(f *testing.F) {
	for _, tc := range parsePropertiesCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if ok, _, _ := canonical(in); ok {
			if again := parseProperties(in).String(); again != in {
				t.Fatalf("canonical(%q) but it serialises again as %q", in, again)
			}
		}
	})
}
