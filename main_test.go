package mqttrmq_test

import (
	"testing"

	"github.com/apache/rocketmq-client-go/v2/rlog"

	"github.com/mqttrmq/mqttrmq/internal/testenv"
)

// TestMain checks that no test leaves a goroutine behind (the comparison
// with Mosquitto runs 300 paho clients; the tests on a real broker run
// rocketmq-client-go producers and consumers).
func TestMain(m *testing.M) {
	rlog.SetLogLevel("fatal")
	testenv.Main(m, testenv.PahoGoroutines()...)
}
