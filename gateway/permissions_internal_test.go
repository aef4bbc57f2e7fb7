package gateway

import (
	"strings"
	"testing"

	"github.com/mqttrmq/mqttrmq"
)

// FuzzPermissionMatch holds the table's matching to MQTT's: matchLevels
// agrees with mqttrmq.MatchTopic; a filter that covers another matches
// every topic the other does; two filters that match one topic overlap.
func FuzzPermissionMatch(f *testing.F) {
	for _, c := range [][3]string{
		{"vehicles/+/status", "vehicles/+/status", "vehicles/v1/status"},
		{"vehicles/#", "vehicles/cmd/+", "vehicles"},
		{"+/#", "$SYS/x", "$SYS/x"},
		{"a/+", "a/#", "a/"},
		{"#", "+/+", "/"},
		{"a/b/#", "a/+/c", "a/b"},
	} {
		f.Add(c[0], c[1], c[2])
	}
	f.Fuzz(func(t *testing.T, a, b, topic string) {
		if mqttrmq.ValidateTopicFilter(a) != nil || mqttrmq.ValidateTopicFilter(b) != nil || strings.HasPrefix(a, "$share/") || strings.HasPrefix(b, "$share/") {
			return
		}
		la, lb := strings.Split(a, "/"), strings.Split(b, "/")
		if mqttrmq.ValidateTopicName(topic) == nil {
			if got, want := matchLevels(la, topic), mqttrmq.MatchTopic(a, topic); got != want {
				t.Fatalf("matchLevels(%q, %q) = %v; MatchTopic says %v", a, topic, got, want)
			}
		}
		// Topics b matches: its wildcards filled in.
		for _, fill := range []string{"x", "", "$y"} {
			var parts []string
			for i, l := range lb {
				switch l {
				case "+":
					l = fill
					if i == 0 && fill == "$y" {
						l = "x" // a wildcard first level matches no $ topic
					}
				case "#":
					l = fill
					if i == 0 && fill == "$y" {
						l = "x"
					}
				}
				parts = append(parts, l)
			}
			tp := strings.Join(parts, "/")
			if mqttrmq.ValidateTopicName(tp) != nil || !mqttrmq.MatchTopic(b, tp) {
				continue
			}
			if levelsCover(la, lb) && !mqttrmq.MatchTopic(a, tp) {
				t.Fatalf("%q covers %q, but does not match %q, which the latter does", a, b, tp)
			}
			if mqttrmq.MatchTopic(a, tp) && !levelsOverlap(la, lb) {
				t.Fatalf("%q and %q both match %q, but do not overlap", a, b, tp)
			}
		}
	})
}
