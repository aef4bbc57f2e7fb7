//go:build !linux

package serverproc

import (
	"syscall"
	"time"
)

// ReadRSS returns the resident memory of process pid; only Linux is
// supported.
func ReadRSS(pid int) (int64, error) { return 0, ErrUnsupported }

// ReadCPU returns the CPU time of process pid; only Linux is supported.
func ReadCPU(pid int) (time.Duration, error) { return 0, ErrUnsupported }

func sysProcAttr() *syscall.SysProcAttr { return nil }
