package serverproc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ReadRSS returns the resident memory of process pid, in bytes: VmRSS of
// /proc/PID/status.
func ReadRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("serverproc: %w", err)
	}
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("serverproc: /proc/%d/status: VmRSS line %q", pid, line)
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("serverproc: /proc/%d/status: VmRSS %q: %w", pid, f[0], err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("serverproc: /proc/%d/status has no VmRSS (a zombie?)", pid)
}

// ReadCPU returns the CPU time process pid has used, in user and system
// mode together: fields 14 and 15 (utime, stime) of /proc/PID/stat, in
// clock ticks of the kernel's USER_HZ.
func ReadCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("serverproc: %w", err)
	}
	// The command name, field 2, is in parentheses and may hold spaces
	// and parentheses of its own: the fields resume after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("serverproc: /proc/%d/stat: no command name", pid)
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0, fmt.Errorf("serverproc: /proc/%d/stat: %d fields", pid, len(f)+2)
	}
	var ticks int64
	for _, s := range f[11:13] { // fields 14 and 15
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("serverproc: /proc/%d/stat: %q: %w", pid, s, err)
		}
		ticks += n
	}
	hz := clockTicks()
	return time.Duration(ticks) * time.Second / time.Duration(hz), nil
}

var clockTicks = sync.OnceValue(func() int64 {
	// AT_CLKTCK in the process's auxiliary vector is sysconf(_SC_CLK_TCK),
	// the unit of /proc/PID/stat's times; Linux uses 100 everywhere but on
	// a few unusual configurations.
	const atClkTck = 17
	if b, err := os.ReadFile("/proc/self/auxv"); err == nil {
		for ; len(b) >= 16; b = b[16:] {
			if binary.NativeEndian.Uint64(b) == atClkTck {
				if v := int64(binary.NativeEndian.Uint64(b[8:])); v > 0 {
					return v
				}
			}
		}
	}
	return 100
})

func sysProcAttr() *syscall.SysProcAttr {
	// The server dies with the benchmark, even if the benchmark is killed.
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
