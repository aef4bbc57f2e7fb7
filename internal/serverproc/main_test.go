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
	if err := PinGoEnv(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	testenv.Main(m)
}

// helperGoroutines is how many goroutines the helper server parks.
const helperGoroutines = 25

// helperCPU is the CPU time the helper server burns before it listens.
const helperCPU = 300 * time.Millisecond

// helperServer burns helperCPU of CPU time, parks helperGoroutines
// goroutines, then listens on addr until SIGTERM.
func helperServer(addr string) int {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	for {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) >= helperCPU {
			break
		}
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
