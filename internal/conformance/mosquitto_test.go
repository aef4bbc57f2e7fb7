package conformance_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqttrmq/mqttrmq/internal/conformance"
	"github.com/mqttrmq/mqttrmq/internal/mosquitto"
)

// The configuration the reference Mosquitto runs the suite with: every
// limit the cases exercise, and an access list that lets anonymous
// clients use the prefix's topics and nothing else.
const (
	mosquittoReceiveMaximum    = 10
	mosquittoMaxPacketSize     = 16384
	mosquittoServerKeepAlive   = 10 // the least Mosquitto accepts
	mosquittoTopicAliasMaximum = 10
)

// TestConformanceMosquitto runs the suite against Mosquitto, one broker
// per case, to show that the cases are right. Mosquitto 2.0 is not a
// perfect server either: where it fails a case, the failure says which
// statement it breaks.
func TestConformanceMosquitto(t *testing.T) {
	conformance.Run(t, func(t *testing.T) conformance.Target {
		// Mosquitto started as root reads its access list after dropping to
		// its own user: the file and the directories above it must be
		// readable to others.
		dir := t.TempDir()
		for _, d := range []string{filepath.Dir(dir), dir} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		acl := filepath.Join(dir, "acl")
		if err := os.WriteFile(acl, []byte("topic readwrite conformance/#\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		addr := mosquitto.StartWith(t, fmt.Sprintf(`max_inflight_messages %d
max_packet_size %d
max_keepalive %d
max_topic_alias %d
acl_file %s
`, mosquittoReceiveMaximum, mosquittoMaxPacketSize, mosquittoServerKeepAlive, mosquittoTopicAliasMaximum, acl))
		return conformance.Target{
			Addr:        strings.TrimPrefix(addr, "tcp://"),
			TopicPrefix: "conformance",
			Limits: conformance.Limits{
				ReceiveMaximum:    mosquittoReceiveMaximum,
				MaximumPacketSize: mosquittoMaxPacketSize,
				TopicAliasMaximum: mosquittoTopicAliasMaximum,
				ServerKeepAlive:   mosquittoServerKeepAlive,
			},
			// Mosquitto 2.0's access lists never refuse a SUBSCRIBE (they
			// filter what is delivered), so no refused filter is declared.
			Refusals: []conformance.Refusal{
				{Topic: "denied/x", Code: 0x87, Why: "the access list allows only conformance/#"},
			},
			Deviations: []conformance.Deviation{
				// Mosquitto 2.0 closes without DISCONNECT on protocol
				// errors it finds outside PUBLISH, SUBSCRIBE and UNSUBSCRIBE.
				conformance.CloseWithoutDisconnect,
				// Mosquitto 2.0 does not look at payloads.
				conformance.NoPayloadFormatCheck,
			},
		}
	})
}
