package rocketmq5_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/mqttrmq/mqttrmq/internal/testenv"
)

// TestMain runs the tests in a temporary HOME, where the gRPC client
// writes its logs, and checks for leaked goroutines but the gRPC client's:
// its process-wide client manager keeps its tickers and its connections to
// the proxy (with gRPC's goroutines) and its metrics worker after every
// client's GracefulStop; and each client session's telemetry goroutine
// sees the stop only after a sleep of up to a second, longer than goleak
// waits (it was still there once in CI).
func TestMain(m *testing.M) {
	const client = "github.com/apache/rocketmq-clients/golang/v5"
	testenv.Main(m,
		goleak.IgnoreAnyFunction(client+".(*defaultClientSession).startUp.func1"),
		goleak.IgnoreAnyFunction(client+"/pkg/ticker.Tick.func1"),
		goleak.IgnoreAnyFunction(client+".(*defaultClientManager).startUp.func1"),
		goleak.IgnoreAnyFunction(client+".(*defaultClientManager).startUp.func2"),
		goleak.IgnoreAnyFunction(client+".(*defaultClientManager).startUp.func3"),
		goleak.IgnoreAnyFunction(client+".(*defaultClientManager).startUp.func4"),
		goleak.IgnoreAnyFunction("google.golang.org/grpc.(*ccBalancerWrapper).watcher"),
		goleak.IgnoreAnyFunction("google.golang.org/grpc.newClientStreamWithParams.func4"),
		goleak.IgnoreAnyFunction("google.golang.org/grpc/internal/transport.(*loopyWriter).run"),
		goleak.IgnoreAnyFunction("google.golang.org/grpc/internal/transport.(*recvBufferReader).readClient"),
		goleak.IgnoreAnyFunction("google.golang.org/grpc/internal/transport.(*http2Client).reader"),
		goleak.IgnoreAnyFunction("google.golang.org/grpc/internal/transport.(*http2Client).keepalive"),
		goleak.IgnoreTopFunction("github.com/natefinch/lumberjack.(*Logger).millRun"),
		goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"),
	)
}
