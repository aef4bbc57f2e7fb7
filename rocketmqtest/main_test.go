package rocketmqtest_test

import (
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/rlog"
	"go.uber.org/goleak"
)

// childEnv marks the test process that runs the tests; see TestMain.
const childEnv = "ROCKETMQTEST_TEST_HOME"

// TestMain runs the tests in a child process whose HOME is a fresh
// temporary directory. rocketmq-client-go decides at package init where a
// broadcasting consumer keeps its offsets ($HOME/.rocketmq_client_go), so
// setting HOME from inside the test binary is too late; re-running the
// binary is the only way to keep the tests from writing to the real home.
// The client logs at error level; RLOG=warn (or info, debug) shows more.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "" {
		os.Exit(runInTempHome())
	}
	rlog.SetLogLevel(cmp.Or(os.Getenv("RLOG"), "error"))
	goleak.VerifyTestMain(m, clientGoroutines()...)
}

func runInTempHome() int {
	home, err := os.MkdirTemp("", "rocketmqtest-home-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "rocketmqtest: temp HOME:", err)
		return 2
	}
	defer os.RemoveAll(home)
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), "HOME="+home, childEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "rocketmqtest: run tests:", err)
		return 2
	}
	return 0
}

// clientGoroutines lists goroutines of rocketmq-client-go that outlive a
// client's Shutdown: its background loops sleep (10 s, or a consumer's
// 15-minute ConsumeTimeout) before they first look at the shutdown signal,
// and a pull in flight waits out its 30 s timeout. They belong to the
// client library, not to the server; the server's own goroutines are
// checked exactly by TestCloseLeavesNoGoroutines.
func clientGoroutines() []goleak.Option {
	const client = "github.com/apache/rocketmq-client-go/v2/"
	return []goleak.Option{
		goleak.IgnoreAnyFunction(client + "primitive.WithRecover"),
		goleak.IgnoreAnyFunction(client + "consumer.(*pushConsumer).pullMessage"),
		goleak.IgnoreAnyFunction(client + "consumer.(*defaultPullConsumer).pullMessage"),
		goleak.IgnoreAnyFunction(client + "internal/remote.(*ResponseFuture).waitResponse"),
		// The client's process-wide cache runs a janitor for good.
		goleak.IgnoreTopFunction("github.com/patrickmn/go-cache.(*janitor).Run"),
	}
}
