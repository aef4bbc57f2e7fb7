//go:build unix

package rocketmqtest_test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time the process has used, user and system.
// Per message, it measures the work done, which other processes on a busy
// machine do not inflate the way they inflate elapsed time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
