// Package mosquitto starts a Mosquitto broker from the system's packages for a
// test, on a free loopback port, as a reference MQTT implementation.
package mosquitto

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// RequireEnv names the environment variable that turns "Mosquitto is not
// installed" from a skip into a failure; CI sets it, so CI never skips.
const RequireEnv = "MQTTRMQ_REQUIRE_MOSQUITTO"

// Start runs Mosquitto for the test and returns its address, "tcp://127.0.0.1:PORT".
// The broker stops when the test ends. Where Mosquitto is not installed the
// test is skipped, saying so, unless RequireEnv is set.
func Start(tb testing.TB) string {
	tb.Helper()
	return StartWith(tb, "")
}

// StartWith is Start with extra appended to the broker's configuration,
// after its listener line, so that per-listener options apply to it.
func StartWith(tb testing.TB, extra string) string {
	tb.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		if _, statErr := os.Stat("/usr/sbin/mosquitto"); statErr == nil {
			bin, err = "/usr/sbin/mosquitto", nil
		}
	}
	if err != nil {
		if os.Getenv(RequireEnv) != "" {
			tb.Fatalf("mosquitto is not installed and %s is set: install the Debian package mosquitto", RequireEnv)
		}
		tb.Skip("mosquitto is not installed (Debian package mosquitto; .ci/run installs it): skipping the comparison with a real broker")
	}

	port, err := freePort()
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	conf := filepath.Join(dir, "mosquitto.conf")
	config := fmt.Sprintf(`listener %d 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 100000
max_inflight_messages 0
log_dest stderr
log_type error
log_type warning
`, port) + extra
	if err := os.WriteFile(conf, []byte(config), 0o600); err != nil {
		tb.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-c", conf)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting mosquitto: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return "tcp://" + addr
		}
		select {
		case <-exited:
			tb.Fatalf("mosquitto exited at start: %s", stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("mosquitto did not listen on %s: %v; %s", addr, err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// DynamicSecurityPlugin returns the path of Mosquitto's dynamic security
// plugin, which the Debian package ships beside the broker: unlike an
// access-list file, it refuses a SUBSCRIBE it does not allow (SUBACK
// 0x87, MQTT 3.1.1 0x80). Where it is not installed the test is skipped,
// saying so, unless RequireEnv is set.
func DynamicSecurityPlugin(tb testing.TB) string {
	tb.Helper()
	for _, pattern := range []string{
		"/usr/lib/*/mosquitto_dynamic_security.so",
		"/usr/lib/mosquitto_dynamic_security.so",
		"/usr/local/lib/mosquitto_dynamic_security.so",
	} {
		if found, _ := filepath.Glob(pattern); len(found) > 0 {
			return found[0]
		}
	}
	if os.Getenv(RequireEnv) != "" {
		tb.Fatalf("Mosquitto's dynamic security plugin is not installed and %s is set: install the Debian package mosquitto", RequireEnv)
	}
	tb.Skip("Mosquitto's dynamic security plugin is not installed (Debian package mosquitto; .ci/run installs it)")
	return ""
}
