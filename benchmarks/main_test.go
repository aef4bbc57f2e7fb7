package benchmarks

import (
	"fmt"
	"os"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/rlog"
	"go.uber.org/goleak"

	"github.com/mqttrmq/mqttrmq/internal/serverproc"
	"github.com/mqttrmq/mqttrmq/internal/testenv"
)

func TestMain(m *testing.M) {
	rlog.SetLogLevel("fatal")
	// The benchmarks build servers with a HOME of their own (testenv.Main).
	if err := serverproc.PinGoEnv(); err != nil {
		fmt.Fprintln(os.Stderr, "benchmarks:", err)
		os.Exit(2)
	}
	testenv.Main(m, goleak.Cleanup(func(code int) {
		removeBinaries()
		os.Exit(code)
	}))
}
