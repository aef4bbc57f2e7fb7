package realrocketmq_test

import (
	"testing"

	"github.com/apache/rocketmq-client-go/v2/rlog"

	"github.com/mqttrmq/mqttrmq/internal/testenv"
)

func TestMain(m *testing.M) {
	rlog.SetLogLevel("fatal")
	testenv.Main(m)
}
