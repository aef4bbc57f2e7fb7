package serverproc

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/mqttrmq/mqttrmq/internal/testenv"
)

// helperEnv makes the test binary a small server for the tests: it
// listens on the address the variable holds.
const helperEnv = "SERVERPROC_TEST_SERVER"

func TestMain(m *testing.M) {
	if addr := os.Getenv(helperEnv); addr != "" {
		os.Exit(helperServer(addr))
	}
	testenv.Main(m)
}

// helperGoroutines is how many goroutines the helper server parks.
const helperGoroutines = 25

// helperServer burns half a second of CPU, parks helperGoroutines
// goroutines, then listens on addr until SIGTERM.
func helperServer(addr string) int {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	for start := time.Now(); time.Since(start) < 500*time.Millisecond; {
	}
	block := make(chan struct{})
	for range helperGoroutines {
		go func() { <-block }()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	<-term
	return 0
}
