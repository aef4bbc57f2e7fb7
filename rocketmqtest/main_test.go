package rocketmqtest_test

import (
	"cmp"
	"os"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/rlog"

	"github.com/mqttrmq/mqttrmq/internal/testenv"
)

// TestMain runs the tests with HOME set to a temporary directory, where
// broadcasting consumers keep their offsets, and checks for leaked
// goroutines (see testenv.Main). The client logs at error level; RLOG=warn
// (or info, debug) shows more.
func TestMain(m *testing.M) {
	rlog.SetLogLevel(cmp.Or(os.Getenv("RLOG"), "error"))
	testenv.Main(m)
}
