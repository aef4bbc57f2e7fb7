package testenv_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqttrmq/mqttrmq/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The tests run with HOME in a fresh temporary directory of their own.
func TestTemporaryHome(t *testing.T) {
	home := os.Getenv("HOME")
	if !strings.HasPrefix(filepath.Base(home), "mqttrmq-test-home-") || filepath.Dir(home) != filepath.Clean(os.TempDir()) {
		t.Errorf("HOME = %q; want a fresh directory in %s", home, os.TempDir())
	}
	entries, err := os.ReadDir(home)
	if err != nil || len(entries) != 0 {
		t.Errorf("HOME %s holds %d entries (%v); want an empty directory", home, len(entries), err)
	}
}
