// Package testenv holds what the project's tests share about their
// environment: a TestMain that keeps the RocketMQ client library out of the
// real home directory and checks for leaked goroutines, and the list of the
// client library's goroutines that outlive it.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"go.uber.org/goleak"
)

// childEnv marks the process that runs the tests; see Main.
const childEnv = "MQTTRMQ_TESTENV_HOME"

// Main runs m's tests, for a TestMain, and exits. The tests run in a child
// process whose HOME is a fresh temporary directory, removed afterwards:
// rocketmq-client-go fixes at package initialisation where a broadcasting
// consumer keeps its offsets ($HOME/.rocketmq_client_go), so setting HOME
// from inside the test binary is too late, and re-running the binary is
// the only way to keep the tests from writing to the real home. Once the
// tests pass, goleak checks that no goroutines are left but the client
// library's (ClientGoroutines) and those ignore ignores.
func Main(m *testing.M, ignore ...goleak.Option) {
	if os.Getenv(childEnv) == "" {
		os.Exit(runInTempHome())
	}
	goleak.VerifyTestMain(m, append(ClientGoroutines(), ignore...)...)
}

// runInTempHome re-runs the test binary, with its arguments, in a fresh
// HOME and returns its exit code.
func runInTempHome() int {
	home, err := os.MkdirTemp("", "mqttrmq-test-home-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv: temporary HOME:", err)
		return 2
	}
	defer os.RemoveAll(home)
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), "HOME="+home, childEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "testenv: run the tests:", err)
		return 2
	}
	return 0
}

// ClientGoroutines lists goroutines of rocketmq-client-go that outlive a
// client's Shutdown: its background loops sleep (10 s, or a consumer's
// 15-minute ConsumeTimeout) before they first look at the shutdown signal,
// and a pull in flight waits out its 30 s timeout. They belong to the client
// library, not to this project, so goleak checks ignore them.
func ClientGoroutines() []goleak.Option {
	const client = "github.com/apache/rocketmq-client-go/v2/"
	return []goleak.Option{
		goleak.IgnoreAnyFunction(client + "primitive.WithRecover"),
		goleak.IgnoreAnyFunction(client + "consumer.(*pushConsumer).pullMessage"),
		goleak.IgnoreAnyFunction(client + "consumer.(*defaultPullConsumer).pullMessage"),
		goleak.IgnoreAnyFunction(client + "internal/remote.(*ResponseFuture).waitResponse"),
		// A consumer's start-up rebalance can still wait for the client's
		// lock when the consumer is shut down.
		goleak.IgnoreAnyFunction(client + "internal.(*rmqClient).RebalanceImmediately"),
		// The client's process-wide cache runs a janitor for good.
		goleak.IgnoreTopFunction("github.com/patrickmn/go-cache.(*janitor).Run"),
		// nbio's WebSocket package builds a default engine when it is
		// initialised, whose task pool runs for good whether or not it
		// is used.
		goleak.IgnoreTopFunction("github.com/lesismal/nbio/taskpool.New.func3"),
	}
}

// PahoGoroutines lists a goroutine of paho.mqtt.golang that can outlive a
// client's Disconnect by a moment: its router hands a message to a handler
// on one.
func PahoGoroutines() []goleak.Option {
	return []goleak.Option{goleak.IgnoreAnyFunction("github.com/eclipse/paho.mqtt.golang.(*router).matchAndDispatch.func1")}
}
