package serverproc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
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

// PinGoEnv sets the go command's cache, module and configuration
// directories (GOCACHE, GOMODCACHE, GOPATH, GOENV) in the environment, as
// the go command reports them now, where they are not set already. A test
// binary that runs its tests with HOME pointing at an empty temporary
// directory calls it first: the go command it runs to build servers would
// otherwise find no build cache and no module cache there, and download
// and compile everything again. Without a go command it does nothing.
func PinGoEnv() error {
	goTool, err := GoTool()
	if err != nil {
		return nil // whoever needs it says so
	}
	keys := []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOENV"}
	out, err := exec.Command(goTool, append([]string{"env", "-json"}, keys...)...).Output()
	if err != nil {
		return fmt.Errorf("serverproc: go env: %w", err)
	}
	var env map[string]string
	if err := json.Unmarshal(out, &env); err != nil {
		return fmt.Errorf("serverproc: go env: %w", err)
	}
	for _, k := range keys {
		if _, set := os.LookupEnv(k); !set && env[k] != "" {
			if err := os.Setenv(k, env[k]); err != nil {
				return fmt.Errorf("serverproc: %w", err)
			}
		}
	}
	return nil
}

// Build builds the Go commands pkgs (import paths) into dir, with one go
// command, which links them in parallel, and returns each executable's
// path, named after its package's last element. ctx bounds the build; the
// error carries the compiler's output. It refuses two packages of one
// name.
func Build(ctx context.Context, dir string, pkgs ...string) (map[string]string, error) {
	goTool, err := GoTool()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	names := map[string]string{}
	for _, pkg := range pkgs {
		name := path.Base(pkg)
		if other, ok := names[name]; ok {
			return nil, fmt.Errorf("serverproc: Build: %s and %s would both be %s", other, pkg, name)
		}
		names[name] = pkg
		out[pkg] = filepath.Join(dir, name)
	}
	cmd := exec.CommandContext(ctx, goTool, append([]string{"build", "-o", dir + string(filepath.Separator)}, pkgs...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("serverproc: go build %s: %w: %s", strings.Join(pkgs, " "), err, b)
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
