//go:build linux

package serverproc

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func startHelper(t *testing.T, name string) *Process {
	t.Helper()
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Start(context.Background(), Spec{
		Name: name, Path: os.Args[0], Addr: addr, LogDir: t.TempDir(),
		Env: []string{helperEnv + "=" + addr},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p
}

func TestProcessFigures(t *testing.T) {
	p := startHelper(t, "helper")
	rss, err := p.RSS()
	if err != nil || rss < 1<<20 || rss > 1<<30 {
		t.Errorf("RSS = %d, %v; want a few MB", rss, err)
	}
	cpu, err := p.CPU()
	// /proc counts in clock ticks, 10 ms on most systems.
	if err != nil || cpu < helperCPU-20*time.Millisecond || cpu > time.Minute {
		t.Errorf("CPU = %v, %v; want the %v the helper burnt", cpu, err, helperCPU)
	}
	n, err := p.DumpGoroutines(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The parked goroutines, main, the signal and accept loops and the
	// runtime's few.
	if n < helperGoroutines+2 || n > helperGoroutines+15 {
		t.Errorf("DumpGoroutines = %d; want %d and a few", n, helperGoroutines)
	}
	select {
	case <-p.Exited():
	default:
		t.Error("the process is still running after its dump")
	}
}

func TestStop(t *testing.T) {
	p := startHelper(t, "helper")
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Exited():
	default:
		t.Fatal("Stop returned before the process exited")
	}
	if err := p.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := p.RSS(); err == nil {
		t.Error("RSS of a process that is gone")
	}
}

func TestStartFailures(t *testing.T) {
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// A program that exits at once: the error says so, with its output.
	_, err = Start(context.Background(), Spec{Name: "fails", Path: "/bin/sh", Args: []string{"-c", "echo no such option >&2; exit 3"}, Addr: addr, LogDir: dir})
	if err == nil || !strings.Contains(err.Error(), "exited at start (exit status 3)") || !strings.Contains(err.Error(), "no such option") {
		t.Errorf("Start of a program that exits: %v", err)
	}
	// A program that never listens.
	_, err = Start(context.Background(), Spec{Name: "silent", Path: "/bin/sleep", Args: []string{"30"}, Addr: addr, LogDir: dir, StartTimeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "did not listen") {
		t.Errorf("Start of a program that never listens: %v", err)
	}
	if _, err := Start(context.Background(), Spec{Name: "x"}); err == nil {
		t.Error("Start without a path succeeded")
	}
}

func TestReadSelf(t *testing.T) {
	rss, err := ReadRSS(os.Getpid())
	if err != nil || rss <= 0 {
		t.Errorf("ReadRSS(self) = %d, %v", rss, err)
	}
	if _, err := ReadCPU(os.Getpid()); err != nil {
		t.Errorf("ReadCPU(self): %v", err)
	}
	if hz := clockTicks(); hz < 10 || hz > 10000 {
		t.Errorf("clock ticks %d a second", hz)
	}
}

func TestMosquittoConfig(t *testing.T) {
	c := MosquittoConfig("127.0.0.1", 1884)
	if !strings.HasPrefix(c, "listener 1884 127.0.0.1\n") || !strings.Contains(c, "allow_anonymous true") {
		t.Errorf("config:\n%s", c)
	}
}

func TestBuild(t *testing.T) {
	dir := t.TempDir()
	if _, err := Build(context.Background(), dir, "example.com/a/cmd", "example.com/b/cmd"); err == nil {
		t.Error("Build of two commands named cmd succeeded")
	}
	const pkg = "github.com/mqttrmq/mqttrmq/internal/cmd/mochibroker"
	got, err := Build(context.Background(), dir, pkg)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(got[pkg])
	if err != nil || fi.Mode()&0o100 == 0 {
		t.Errorf("Build made %v: %v, %v", got, fi, err)
	}
}
