package gateway_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mqttrmq/mqttrmq/gateway"
)

// probe asks a health handler, as a load balancer does.
func probe(t testing.TB, h http.Handler) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, strings.TrimSpace(string(b))
}

// pauser stops RocketMQ answering and lets it go on: rocketmqtest's
// Pause, or the real broker's process stopped and continued.
func pauser(t *testing.T, s rocketMQ) (pause, resume func()) {
	switch s := s.(type) {
	case inProcess:
		return func() { s.Pause(time.Minute) }, func() { s.Pause(0) }
	case *realRocketMQ:
		proc := s.b.Process(t)
		return func() {
				if err := proc.Pause(); err != nil {
					t.Fatal(err)
				}
			}, func() {
				if err := proc.Resume(); err != nil {
					t.Fatal(err)
				}
			}
	}
	t.Fatalf("no way to pause %T", s)
	return nil, nil
}

// TestReadiness: /healthz answers while the process serves; /readyz is
// 200 on a started gateway, 503 once RocketMQ stops taking its sends
// (paused while a device publishes), 200 again once RocketMQ is back and
// the publish went through, and 503 before Start and after Close.
func TestReadiness(t *testing.T) {
	onBoth(t, readiness)
}

func readiness(t *testing.T, s rocketMQ) {
	pause, resume := pauser(t, s)
	g := startGateway(t, s, func(c *gateway.Config) {
		c.SendTimeout = 500 * time.Millisecond
		c.SendRetryFor = time.Minute // the publish waits out the pause
	})
	if code, body := probe(t, g.HealthHandler()); code != http.StatusOK || body != "ok" {
		t.Errorf("/healthz = %d %q; want 200 ok", code, body)
	}
	// Ready once the consumer's first rebalance gave it its queues: at
	// once on rocketmqtest, which startGateway waits for; on a real
	// broker, whose consumer list may lag the consumer's start, it can
	// take until the next rebalance.
	eventually(t, "/readyz turns 200 on a started gateway", func() bool {
		code, _ := probe(t, g.ReadyHandler())
		return code == http.StatusOK
	})
	d := connect(t, g, "GID_car@@@r1")
	// A first send, so that the producer knows the topic's route: a
	// route lookup from a paused name server waits out the client's own
	// timeout, whatever the send's.
	d.publish(t, "vehicles/status", 1, "before the pause")

	pause()
	resumed := false
	defer func() {
		if !resumed {
			resume()
		}
	}()
	tok := d.Publish("vehicles/status", 1, false, "during the pause")
	eventually(t, "/readyz turns 503 while RocketMQ is paused", func() bool {
		code, _ := probe(t, g.ReadyHandler())
		return code == http.StatusServiceUnavailable
	})
	if _, body := probe(t, g.ReadyHandler()); !strings.Contains(body, "RocketMQ is not taking sends") {
		t.Errorf("/readyz says %q; want it to name RocketMQ", body)
	}
	if code, _ := probe(t, g.HealthHandler()); code != http.StatusOK {
		t.Errorf("/healthz = %d while RocketMQ is paused; want 200: the process serves", code)
	}

	resume()
	resumed = true
	if !tok.WaitTimeout(deadline) || tok.Error() != nil {
		t.Fatalf("the publish made during the pause: %v", tok.Error())
	}
	eventually(t, "/readyz turns 200 once RocketMQ is back", func() bool {
		code, _ := probe(t, g.ReadyHandler())
		return code == http.StatusOK
	})
	if st := g.Stats(); st.UplinkSendFailures == 0 || st.UplinkSent == 0 {
		t.Errorf("stats %+v: want failed sends during the pause and a send after it", st)
	}
}

func TestReadinessBeforeStartAndAfterClose(t *testing.T) {
	s := newRocketMQ(t)
	g, err := gateway.New(gateway.Config{NameServer: []string{s.Addr()}, ParentTopics: parents, InstanceID: uniq(t, "gw"), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Ready(); !errors.Is(err, gateway.ErrNotStarted) {
		t.Errorf("Ready before Start = %v; want ErrNotStarted", err)
	}
	if code, _ := probe(t, g.ReadyHandler()); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz before Start = %d; want 503", code)
	}
	g.Close()
	if err := g.Ready(); !errors.Is(err, gateway.ErrClosed) {
		t.Errorf("Ready after Close = %v; want ErrClosed", err)
	}
}
