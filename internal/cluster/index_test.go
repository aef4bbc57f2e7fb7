package cluster

import (
	"slices"
	"testing"
)

// TestMatch: match finds the holders of every filter matching a topic,
// those the FilterSet holds and those it refused, and finding them
// allocates nothing.
func TestMatch(t *testing.T) {
	var x interest
	a, b := target{instance: "a"}, target{session: "GID_x@@@1"}
	x.add("vehicles/+/telemetry", a, 1)
	x.add("vehicles/#", b, 1)
	x.add("vehicles/7/telemetry", b, 2)
	x.add("chat/#", a, 1)
	var got []target
	x.match("vehicles/7/telemetry", func(t target) { got = append(got, t) })
	want := []target{a, b, b}
	sortTargets(got)
	sortTargets(want)
	if !slices.Equal(got, want) {
		t.Errorf("match(vehicles/7/telemetry) = %v; want %v", got, want)
	}
	n := 0
	count := func(target) { n++ }
	if allocs := testing.AllocsPerRun(100, func() { x.match("vehicles/7/telemetry", count) }); allocs != 0 {
		t.Errorf("match allocates %.1f times a call; want 0", allocs)
	}
}

func sortTargets(ts []target) {
	slices.SortFunc(ts, func(p, q target) int {
		if p.instance != q.instance {
			if p.instance < q.instance {
				return -1
			}
			return 1
		}
		if p.session < q.session {
			return -1
		}
		if p.session > q.session {
			return 1
		}
		return 0
	})
}
