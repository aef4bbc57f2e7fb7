package mqttrmq_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: the comparison
// with Mosquitto runs 300 paho clients.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
