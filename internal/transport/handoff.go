//go:build !race

package transport

// handoff is a no-op outside race builds; see handoff_race.go.
func handoff() {}

// handoffHold runs f; see handoff_race.go.
func handoffHold(f func()) { f() }
