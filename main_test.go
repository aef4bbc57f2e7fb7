package mqttrmq_test

import (
	"testing"

	"github.com/apache/rocketmq-client-go/v2/rlog"

	"github.com/mqttrmq/mqttrmq/internal/testenv"
)

// TestMain checks that no test leaves a goroutine behind (the comparison
// with Mosquitto runs 300 paho clients; the RocketMQ tests, on
// rocketmqtest and on a real broker, run real producers and consumers), in
// a HOME of its own (see testenv.Main).
func TestMain(m *testing.M) {
	rlog.SetLogLevel("fatal") // the client logs every retry, and after its own Shutdown
	testenv.Main(m, testenv.PahoGoroutines()...)
}
