package serverproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"
)

// ErrUnsupported is returned where the system has no /proc to read.
var ErrUnsupported = errors.New("serverproc: not supported on this system")

// stopTimeout is how long Stop waits after SIGTERM before it kills.
const stopTimeout = 15 * time.Second

// Spec describes a server to start.
type Spec struct {
	// Name names the server in errors and log files.
	Name string
	// Path is the executable; Args its arguments.
	Path string
	Args []string
	// Env is added to the benchmark's own environment.
	Env []string
	// Addr is the TCP address the server listens on: Start returns once
	// it accepts a connection there.
	Addr string
	// LogDir receives the server's output, NAME.stdout and NAME.stderr.
	LogDir string
	// StartTimeout bounds the wait for Addr. Default 30 s.
	StartTimeout time.Duration
}

// Process is a running server.
type Process struct {
	Name string
	Addr string

	cmd            *exec.Cmd
	stdout, stderr string // paths of the output files
	exited         chan struct{}
	waitErr        error
}

// Start starts the server and waits until it accepts connections on
// s.Addr. It fails, with the tail of the server's output, when the server
// exits first or does not listen within the timeout; ctx bounds the wait.
// The process is killed if the benchmark process dies (Linux).
func Start(ctx context.Context, s Spec) (*Process, error) {
	if s.Name == "" || s.Path == "" || s.Addr == "" || s.LogDir == "" {
		return nil, fmt.Errorf("serverproc: Start %q: Name, Path, Addr and LogDir are required", s.Name)
	}
	p := &Process{
		Name:   s.Name,
		Addr:   s.Addr,
		stdout: filepath.Join(s.LogDir, s.Name+".stdout"),
		stderr: filepath.Join(s.LogDir, s.Name+".stderr"),
		exited: make(chan struct{}),
	}
	outF, err := os.Create(p.stdout)
	if err != nil {
		return nil, fmt.Errorf("serverproc: %w", err)
	}
	defer outF.Close()
	errF, err := os.Create(p.stderr)
	if err != nil {
		return nil, fmt.Errorf("serverproc: %w", err)
	}
	defer errF.Close()
	p.cmd = exec.Command(s.Path, s.Args...)
	p.cmd.Env = append(os.Environ(), s.Env...)
	p.cmd.Stdout, p.cmd.Stderr = outF, errF
	p.cmd.SysProcAttr = sysProcAttr()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("serverproc: start %s: %w", s.Name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()

	timeout := s.StartTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", s.Addr)
		if err == nil {
			c.Close()
			return p, nil
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("serverproc: %s exited at start (%v): %s", s.Name, p.waitErr, p.Logs())
		case <-ctx.Done():
			p.Kill()
			return nil, fmt.Errorf("serverproc: %s did not listen on %s: %w; %s", s.Name, s.Addr, ctx.Err(), p.Logs())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// PID returns the server's process ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// RSS returns the process's resident memory in bytes.
func (p *Process) RSS() (int64, error) { return ReadRSS(p.PID()) }

// CPU returns the CPU time the process has used, user and system.
func (p *Process) CPU() (time.Duration, error) { return ReadCPU(p.PID()) }

// Stop asks the server to stop (SIGTERM) and waits for it, killing it
// after 15 s. It returns nil once the process is gone, however it ended.
func (p *Process) Stop() error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		select {
		case <-p.exited:
			return nil
		default:
			return fmt.Errorf("serverproc: stop %s: %w", p.Name, err)
		}
	}
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		p.Kill()
	}
	return nil
}

// Kill kills the process and waits for it.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// goroutineHeader starts each goroutine's stack in a Go stack dump, as in
// "goroutine 18 gp=0xc000102000 m=nil [select]:". Goroutine 0, a thread's
// scheduling stack, is not a goroutine of the program.
var goroutineHeader = regexp.MustCompile(`(?m)^goroutine [1-9][0-9]* `)

// DumpGoroutines ends a Go server with SIGQUIT, which makes the Go
// runtime write every goroutine's stack to stderr before it exits, and
// returns how many goroutines the dump lists: every one, the runtime's own
// (garbage collector workers and the like) among them, so compare a dump
// with one of the same server idle. The process is gone afterwards. ctx bounds the wait for the dump.
func (p *Process) DumpGoroutines(ctx context.Context) (int, error) {
	if err := p.cmd.Process.Signal(syscall.SIGQUIT); err != nil {
		return 0, fmt.Errorf("serverproc: SIGQUIT %s: %w", p.Name, err)
	}
	select {
	case <-p.exited:
	case <-ctx.Done():
		p.Kill()
		return 0, fmt.Errorf("serverproc: %s did not exit on SIGQUIT: %w", p.Name, ctx.Err())
	}
	dump, err := os.ReadFile(p.stderr)
	if err != nil {
		return 0, fmt.Errorf("serverproc: %w", err)
	}
	i := bytes.Index(dump, []byte("SIGQUIT: quit"))
	if i < 0 {
		return 0, fmt.Errorf("serverproc: %s wrote no stack dump on SIGQUIT: %s", p.Name, p.Logs())
	}
	return len(goroutineHeader.FindAllIndex(dump[i:], -1)), nil
}

// Logs returns the last lines of the server's stdout and stderr, for error
// messages.
func (p *Process) Logs() string {
	return fmt.Sprintf("stdout: %s; stderr: %s", tail(p.stdout), tail(p.stderr))
}

func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	const keep = 2000
	if len(b) > keep {
		b = b[len(b)-keep:]
	}
	return strconv.Quote(string(bytes.TrimSpace(b)))
}

// FreeAddr returns "127.0.0.1:PORT" with a port free at the time of the
// call, for a server to listen on.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("serverproc: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
