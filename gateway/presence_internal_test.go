package gateway

import (
	"math"
	"strings"
	"testing"
)

// TestChannelIDsSortByConnection: a later connection's channel ID sorts
// after an earlier one's, across every change of length of its number —
// a tracker breaks a tie of two connects' times by the greater channel ID
// (SPEC §8), and "…-10" sorted before "…-9" when the numbers were decimal.
func TestChannelIDsSortByConnection(t *testing.T) {
	p := presence{channel: "gw-1-mx4ltsia-"}
	for _, c := range [][2]uint64{{0, 1}, {9, 10}, {35, 36}, {99, 100}, {1295, 1296}, {1<<32 - 1, 1 << 32}, {math.MaxUint64 - 1, math.MaxUint64}} {
		a, b := p.channelOf(c[0]), p.channelOf(c[1])
		if a >= b {
			t.Errorf("connection %d's channel %q does not sort before connection %d's %q", c[0], a, c[1], b)
		}
		if !strings.HasPrefix(a, p.channel) || len(a) != len(b) {
			t.Errorf("channels %q and %q: want the prefix and one width", a, b)
		}
	}
	if got := p.channelOf(36); got != "gw-1-mx4ltsia-0000000000010" {
		t.Errorf("channelOf(36) = %q", got)
	}
}
