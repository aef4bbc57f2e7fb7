package realrocketmq

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Process is the broker process `.ci/rocketmq start` started, for fault
// tests: paused with SIGSTOP, resumed with SIGCONT, killed with SIGKILL and
// started again on the same port and store.
type Process struct {
	b      *Broker
	script string // .ci/rocketmq
	state  string // its state directory
}

// Process returns the broker's process. Where the broker was not started
// by `.ci/rocketmq` (or its state directory is not found) the test is
// skipped, or fails when RequireEnv is set.
func (b *Broker) Process(tb testing.TB) *Process {
	tb.Helper()
	p, err := b.findProcess()
	if err != nil {
		if os.Getenv(RequireEnv) != "" {
			tb.Fatalf("the broker's process: %v", err)
		}
		tb.Skipf("the broker's process cannot be controlled: %v; start it with .ci/rocketmq start", err)
	}
	return p
}

func (b *Broker) findProcess() (*Process, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	script := filepath.Join(root, ".ci", "rocketmq")
	state := os.Getenv(StateEnv)
	if state == "" {
		state = filepath.Join(root, ".ci", "rocketmq.state")
	}
	port, err := os.ReadFile(filepath.Join(state, "broker.port"))
	if err != nil {
		return nil, fmt.Errorf("no broker started by .ci/rocketmq in %s: %w", state, err)
	}
	if want := "127.0.0.1:" + strings.TrimSpace(string(port)); want != b.Addr {
		return nil, fmt.Errorf("the broker of %s is %s, not the one .ci/rocketmq started (%s)", b.NameServer, b.Addr, want)
	}
	return &Process{b: b, script: script, state: state}, nil
}

// repoRoot is the directory of the module's go.mod, above the working
// directory of the test.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// PID returns the broker's process ID, or an error when it does not run.
func (p *Process) PID() (int, error) {
	data, err := os.ReadFile(filepath.Join(p.state, "broker.pid"))
	if err != nil {
		return 0, fmt.Errorf("realrocketmq: the broker's PID: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, fmt.Errorf("realrocketmq: the broker's PID: %w", err)
	}
	if syscall.Kill(pid, 0) != nil {
		return 0, fmt.Errorf("realrocketmq: the broker (PID %d) does not run", pid)
	}
	return pid, nil
}

func (p *Process) signal(sig syscall.Signal) error {
	pid, err := p.PID()
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return fmt.Errorf("realrocketmq: %v to the broker (PID %d): %w", sig, pid, err)
	}
	return nil
}

// Pause stops the broker process (SIGSTOP): connections stay open and
// nothing is answered, as on a broker stalled by a long GC pause or an
// overloaded host.
func (p *Process) Pause() error { return p.signal(syscall.SIGSTOP) }

// Resume continues a paused broker (SIGCONT).
func (p *Process) Resume() error { return p.signal(syscall.SIGCONT) }

// Kill kills the broker (SIGKILL), as a crash does, and waits until it is
// gone. Its store stays, with what the page cache holds.
func (p *Process) Kill() error {
	pid, err := p.PID()
	if err != nil {
		return err
	}
	syscall.Kill(pid, syscall.SIGCONT)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("realrocketmq: SIGKILL to the broker (PID %d): %w", pid, err)
	}
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			return nil
		}
	}
	return fmt.Errorf("realrocketmq: the broker (PID %d) outlived SIGKILL by 30 s", pid)
}

// Restart starts the broker again (on its port, with its store) through
// `.ci/rocketmq start --no-wait` and waits until it answers requests and
// the name server routes its topics again (a broker's topics leave the
// name server's routes when its connection closes).
func (p *Process) Restart(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, p.script, "start", "--no-wait")
	cmd.Env = append(os.Environ(), StateEnv+"="+p.state)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("realrocketmq: %s start: %w\n%s", p.script, err, out)
	}
	for {
		if _, err := p.b.MaxOffset(ctx, "TBW102", 0); err == nil {
			if n, err := p.b.RouteQueues(ctx, "TBW102"); err == nil && n > 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("realrocketmq: the restarted broker answers nothing: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
