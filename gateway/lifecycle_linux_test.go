package gateway_test

import (
	"log/slog"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"syscall"
	"testing"

	"github.com/mqttrmq/mqttrmq/gateway"
	"github.com/mqttrmq/mqttrmq/internal/gatewaytest"
)

// TestAcceptRetries: when the process runs out of file descriptors, the
// listener keeps trying, and takes the connection it could not accept
// once descriptors are free again; a listener that gave up would never
// take another.
func TestAcceptRetries(t *testing.T) {
	s := newRocketMQ(t)
	logs := new(gatewaytest.Output)
	g := startGateway(t, s, func(c *gateway.Config) { c.Logger = slog.New(slog.NewTextHandler(logs, nil)) })

	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	restore := func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
			t.Fatal(err)
		}
	}
	defer restore()
	// Leave one descriptor: the connection takes it, and the gateway has
	// none left to accept the connection on. Another goroutine of the
	// process (a RocketMQ client reconnecting) may take it first; then
	// try again.
	var c net.Conn
	for try := 1; c == nil; try++ {
		_, second := freeDescriptors(t)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: uint64(second), Max: orig.Max}); err != nil {
			t.Fatal(err)
		}
		var err error
		if c, err = net.Dial("tcp", g.Addr()); err != nil {
			restore()
			if try == 5 {
				t.Fatalf("dial with one descriptor left: %v", err)
			}
		}
	}
	defer c.Close()
	logs.WaitFor(t, regexp.MustCompile(`accepting a connection failed.*too many open files`))
	restore()
	handshakeRaw(t, c, "GID_car@@@v1", true)
}

// freeDescriptors returns the two lowest descriptor numbers not in use.
func freeDescriptors(t testing.TB) (first, second int) {
	t.Helper()
	dir, err := os.Open("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	names, err := dir.Readdirnames(-1)
	own := int(dir.Fd()) // listed, but free again once dir is closed
	dir.Close()
	if err != nil {
		t.Fatal(err)
	}
	var open []int
	for _, name := range names {
		if n, err := strconv.Atoi(name); err == nil && n != own {
			open = append(open, n)
		}
	}
	var free []int
	for n := 0; len(free) < 2; n++ {
		if !slices.Contains(open, n) {
			free = append(free, n)
		}
	}
	return free[0], free[1]
}
