//go:build unix

package mqttload

import (
	"fmt"
	"syscall"
)

func setReceiveBuffer(fd uintptr, size int) error {
	if err := syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, size); err != nil {
		return fmt.Errorf("mqttload: SO_RCVBUF %d: %w", size, err)
	}
	return nil
}

// RaiseFileLimit raises the process's soft limit on open files
// (RLIMIT_NOFILE) to its hard limit and returns the new limit; one
// connection is one open file. Processes started afterwards inherit it.
func RaiseFileLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, fmt.Errorf("mqttload: getrlimit: %w", err)
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return 0, fmt.Errorf("mqttload: setrlimit %d: %w", l.Max, err)
		}
	}
	return l.Cur, nil
}
