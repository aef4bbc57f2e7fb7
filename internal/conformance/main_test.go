package conformance_test

import (
	"testing"

	"github.com/mqttrmq/mqttrmq/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m, testenv.PahoGoroutines()...) }
