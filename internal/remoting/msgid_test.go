package remoting

import (
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// TestMessageIDLayout: an ID reads as the Java client's: 32 upper-case
// hexadecimal digits, the process ID at bytes 4–5, the milliseconds since
// the start of the month at bytes 10–13, a counter going up by one at
// bytes 14–15.
func TestMessageIDLayout(t *testing.T) {
	ids := NewMessageIDs()
	before := time.Now()
	a, b := ids.New(), ids.New()
	after := time.Now()
	for _, id := range []string{a, b} {
		if len(id) != 32 || strings.ToUpper(id) != id {
			t.Fatalf("ID %q: want 32 upper-case hexadecimal digits", id)
		}
	}
	ra, err := hex.DecodeString(a)
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := hex.DecodeString(b)
	if pid := int(ra[4])<<8 | int(ra[5]); pid != os.Getpid()&0xffff {
		t.Errorf("process ID %d in %s; want %d", pid, a, os.Getpid()&0xffff)
	}
	if a[:20] != b[:20] {
		t.Errorf("IDs %s and %s of one generator differ before the time", a, b)
	}
	y, m, _ := before.Date()
	month := time.Date(y, m, 1, 0, 0, 0, 0, before.Location())
	ms := int64(uint32(ra[10])<<24 | uint32(ra[11])<<16 | uint32(ra[12])<<8 | uint32(ra[13]))
	if at := month.Add(time.Duration(ms) * time.Millisecond); at.Before(before.Truncate(time.Millisecond)) || at.After(after) {
		t.Errorf("ID %s says %v; made between %v and %v", a, at, before, after)
	}
	if ca, cb := uint16(ra[14])<<8|uint16(ra[15]), uint16(rb[14])<<8|uint16(rb[15]); cb != ca+1 {
		t.Errorf("counters %d then %d; want one more", ca, cb)
	}
}

// TestMessageIDsUnique: 100,000 IDs from each of two generators of one
// process, more than a counter holds, are all different.
func TestMessageIDsUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, ids := range []*MessageIDs{NewMessageIDs(), NewMessageIDs()} {
		for range 100_000 {
			id := ids.New()
			if seen[id] {
				t.Fatalf("ID %s made twice", id)
			}
			seen[id] = true
		}
	}
}

func BenchmarkMessageID(b *testing.B) {
	ids := NewMessageIDs()
	b.ReportAllocs()
	for b.Loop() {
		_ = ids.New()
	}
}

// BenchmarkCreateUniqID is rocketmq-client-go's generator, for comparison.
func BenchmarkCreateUniqID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = primitive.CreateUniqID()
	}
}
