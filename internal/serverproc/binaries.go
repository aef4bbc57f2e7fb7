package serverproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
)

// ErrNotInstalled is what a missing program's error unwraps to.
var ErrNotInstalled = errors.New("serverproc: not installed")

// GoTool returns the go command on PATH (go test puts its own toolchain's
// first), or an error wrapping ErrNotInstalled.
func GoTool() (string, error) {
	p, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("%w: the go command, to build the servers", ErrNotInstalled)
	}
	return p, nil
}

// Build builds the Go command pkg (an import path) into dir and returns
// the executable's path, named after the package's last element. ctx
// bounds the build; the error carries the compiler's output.
func Build(ctx context.Context, dir, pkg string) (string, error) {
	goTool, err := GoTool()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, path.Base(pkg))
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("serverproc: go build %s: %w: %s", pkg, err, b)
	}
	return out, nil
}

// Mosquitto returns the path of the mosquitto broker (Debian package
// mosquitto installs it in /usr/sbin, which is often not on PATH), or an
// error wrapping ErrNotInstalled.
func Mosquitto() (string, error) {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/mosquitto"); err == nil {
		return "/usr/sbin/mosquitto", nil
	}
	return "", fmt.Errorf("%w: mosquitto (Debian package mosquitto)", ErrNotInstalled)
}

// MosquittoConfig returns a Mosquitto configuration listening on addr
// ("127.0.0.1:PORT") and otherwise at Mosquitto's defaults (queue and
// in-flight limits included), but for letting everyone in, keeping
// nothing on disk and logging only errors and warnings, to stderr.
func MosquittoConfig(host string, port int) string {
	return fmt.Sprintf(`listener %d %s
allow_anonymous true
persistence false
log_dest stderr
log_type error
log_type warning
`, port, host)
}
