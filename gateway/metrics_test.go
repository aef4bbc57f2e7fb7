package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mqttrmq/mqttrmq/gateway"
)

// scrape reads the gateway's metrics as Prometheus does, with its own
// text parser.
func scrape(t testing.TB, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET /metrics: %s\n%s", res.Status, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("the exposition does not parse: %v", err)
	}
	return fams
}

// value returns the value of the series of name whose labels include
// labels ("k=v" each): a counter's or gauge's value, a histogram's count.
func value(t testing.TB, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	sum, found := 0.0, false
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for _, kv := range labels {
			k, v, _ := strings.Cut(kv, "=")
			match = match && have[k] == v
		}
		if !match {
			continue
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		}
	}
	if !found {
		return 0
	}
	return sum
}

// TestMetricsMove scrapes /metrics from outside while devices connect,
// publish and are refused, and checks the series move with them: the
// gauges, the counters read from the MQTT core, the refusals by reason
// code, and the latency histograms; the Go runtime's and the process's
// collectors are there, and no label carries a client ID or a topic.
func TestMetricsMove(t *testing.T) {
	s := newRocketMQ(t)
	g := startGateway(t, s, func(c *gateway.Config) { c.RequireHostedClientID = true })
	h := g.MetricsHandler()

	before := scrape(t, h)
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_cpu_seconds_total", "process_open_fds"} {
		if _, ok := before[name]; !ok {
			t.Errorf("no %s: the runtime and process collectors are missing", name)
		}
	}
	if v := value(t, before, "mqttrmq_clients_connected"); v != 0 {
		t.Errorf("mqttrmq_clients_connected = %v before any device; want 0", v)
	}
	if v := value(t, before, "mqttrmq_ready"); v != 1 {
		t.Errorf("mqttrmq_ready = %v on a started gateway; want 1", v)
	}

	sub := connect(t, g, "GID_car@@@sub", persistent)
	sub.mustSubscribe(t, "vehicles/+/status", 1)
	pub := connect(t, g, "GID_car@@@pub")
	const n = 5
	for range n {
		pub.publish(t, "vehicles/v1/status", 1, "ok")
	}
	for range n {
		sub.next(t)
	}
	pub.publish(t, "elsewhere/x", 1, "refused") // not a parent topic: refused
	if _, err := dial(g.Addr(), "not-hosted"); err == nil {
		t.Fatal("a client ID not of the hosted form was let in")
	}

	want := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"mqttrmq_clients_connected", nil, 2},
		{"mqttrmq_sessions", nil, 2},
		{"mqttrmq_sessions_persistent", nil, 1},
		{"mqttrmq_connects_total", nil, 2},
		{"mqttrmq_uplink_sent_total", nil, n},
		{"mqttrmq_uplink_refused_total", nil, 1},
		{"mqttrmq_publishes_received_total", nil, n + 1},
		{"mqttrmq_publishes_written_total", nil, n},
		{"mqttrmq_connections_refused_total", nil, 1},
		{"mqttrmq_refusals_total", []string{"packet=CONNACK", "code=0x85", "reason=client identifier not valid"}, 1},
		{"mqttrmq_uplink_ack_seconds", []string{"qos=1"}, n},
		{"mqttrmq_downlink_latency_seconds", nil, n},
		{"mqttrmq_connect_seconds", []string{"transport=tcp"}, 3},
		{"mqttrmq_uplink_pending", nil, 0},
		{"mqttrmq_outbound_inflight_messages", nil, 0},
	}
	// What a device saw is counted a moment later: a delivery and an
	// acknowledgement once written, the subscriber's last PUBACK once it
	// reaches the gateway. The series must come to these values, not
	// pass them.
	var after map[string]*dto.MetricFamily
	for end := time.Now().Add(deadline); ; {
		after = scrape(t, h)
		var wrong []string
		for _, c := range want {
			if got := value(t, after, c.name, c.labels...); got != c.want {
				wrong = append(wrong, fmt.Sprintf("%s%v = %v; want %v", c.name, c.labels, got, c.want))
			}
		}
		if len(wrong) == 0 {
			break
		}
		if time.Now().After(end) {
			for _, w := range wrong {
				t.Error(w)
			}
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if f := after["mqttrmq_uplink_ack_seconds"]; f.GetType() != dto.MetricType_HISTOGRAM {
		t.Errorf("mqttrmq_uplink_ack_seconds is a %v; want a histogram", f.GetType())
	}
	for name, f := range after {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if v := l.GetValue(); strings.Contains(v, "GID_") || strings.Contains(v, "vehicles") || strings.Contains(v, "not-hosted") {
					t.Errorf("%s has a label %s=%q from a device: cardinality is the devices'", name, l.GetName(), v)
				}
			}
		}
	}
}
