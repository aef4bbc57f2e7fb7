package gateway_test

import (
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mqttrmq/mqttrmq/gateway"
)

// TestCloseIsBounded: a raw TCP connection that never sends CONNECT, and one
// that sent half a packet, do not hold Close up; the broker alone would wait
// for them forever.
func TestCloseIsBounded(t *testing.T) {
	s := newRocketMQ(t)
	g := startGateway(t, s, func(c *gateway.Config) { c.ConnectTimeout = time.Hour })
	d := connect(t, g, "GID_car@@@v1")
	silent, err := net.Dial("tcp", g.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	half, err := net.Dial("tcp", g.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	if _, err := half.Write([]byte{0x10, 0x20, 0x00}); err != nil { // CONNECT, 32 bytes announced, 1 sent
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() { done <- g.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close = %v", err)
		}
	case <-time.After(deadline):
		t.Fatal("Close did not return")
	}
	for _, c := range []net.Conn{silent, half} {
		c.SetReadDeadline(time.Now().Add(deadline))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !isReset(err) {
			t.Errorf("a connection without CONNECT was not closed: read = %v", err)
		}
	}
	eventually(t, "the connected device notices Close", func() bool { return !d.IsConnectionOpen() })
	if err := g.Start(t.Context()); !errors.Is(err, gateway.ErrClosed) {
		t.Errorf("Start after Close = %v; want ErrClosed", err)
	}
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

// TestConnectTimeout: a connection that sends nothing is dropped after
// ConnectTimeout, long before Close.
func TestConnectTimeout(t *testing.T) {
	s := newRocketMQ(t)
	g := startGateway(t, s, func(c *gateway.Config) { c.ConnectTimeout = 100 * time.Millisecond })
	c, err := net.Dial("tcp", g.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(deadline))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !isReset(err) {
		t.Errorf("a silent connection was not dropped: read = %v", err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	base := func() gateway.Config {
		return gateway.Config{NameServer: []string{"127.0.0.1:9876"}, ParentTopics: []string{"vehicles"}, InstanceID: "gw1"}
	}
	for name, edit := range map[string]func(*gateway.Config){
		"no name server":             func(c *gateway.Config) { c.NameServer = nil },
		"name server by host name":   func(c *gateway.Config) { c.NameServer = []string{"localhost:9876"} },
		"no parent topics":           func(c *gateway.Config) { c.ParentTopics = nil },
		"system parent topic":        func(c *gateway.Config) { c.ParentTopics = []string{"TBW102"} },
		"parent topic twice":         func(c *gateway.Config) { c.ParentTopics = []string{"a", "a"} },
		"parent with a slash":        func(c *gateway.Config) { c.ParentTopics = []string{"a/b"} },
		"instance ID with dot":       func(c *gateway.Config) { c.InstanceID = "gw.1" },
		"uplink tag MQ2MQTT":         func(c *gateway.Config) { c.UplinkTag = "MQ2MQTT" },
		"uplink tag with ||":         func(c *gateway.Config) { c.UplinkTag = "a||b" },
		"uplink tag with \\x01\\x02": func(c *gateway.Config) { c.UplinkTag = "a\x02clientId\x01forged" },
		"uplink tag with DEL":        func(c *gateway.Config) { c.UplinkTag = "a\x7f" },
		"negative payload":           func(c *gateway.Config) { c.MaxPayload = -1 },
		"payload over 4 MB":          func(c *gateway.Config) { c.MaxPayload = 4 << 20 },
		"negative timeout":           func(c *gateway.Config) { c.SendTimeout = -time.Second },
		"linger over a second":       func(c *gateway.Config) { c.SendLinger = 2 * time.Second },
		"negative queue limit":       func(c *gateway.Config) { c.MaxQueuedBytes = -1 },
		"server keep-alive in ms":    func(c *gateway.Config) { c.ServerKeepAlive = 1500 * time.Millisecond },
		"TLS without certificate":    func(c *gateway.Config) { c.ListenTLS = "127.0.0.1:0" },
	} {
		c := base()
		edit(&c)
		if g, err := gateway.New(c); !errors.Is(err, gateway.ErrConfig) {
			if g != nil {
				g.Close()
			}
			t.Errorf("%s: New = %v; want ErrConfig", name, err)
		}
	}
}

// TestSendLingerConfig: a SendLinger of 0 is DefaultSendLinger, a
// negative one none, and any other its own length.
func TestSendLingerConfig(t *testing.T) {
	for _, c := range []struct{ set, want time.Duration }{
		{0, gateway.DefaultSendLinger},
		{-time.Nanosecond, 0},
		{-time.Hour, 0},
		{time.Millisecond, time.Millisecond},
		{time.Second, time.Second},
	} {
		g, err := gateway.New(gateway.Config{NameServer: []string{"127.0.0.1:9876"}, ParentTopics: []string{"vehicles"}, InstanceID: "gw1", SendLinger: c.set})
		if err != nil {
			t.Fatalf("SendLinger %v: New: %v", c.set, err)
		}
		if got := g.SendLinger(); got != c.want {
			t.Errorf("SendLinger %v: the gateway lingers %v; want %v", c.set, got, c.want)
		}
		g.Close()
	}
}

func TestMetricsHandler(t *testing.T) {
	s := newRocketMQ(t)
	g := startGateway(t, s, nil)
	d := connect(t, g, "GID_car@@@v1")
	d.publish(t, "vehicles/a", 1, "x")
	d.publish(t, "nope/a", 1, "x")

	rec := httptest.NewRecorder()
	g.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, line := range []string{
		"mqttrmq_uplink_sent_total 1",
		"mqttrmq_uplink_refused_total 1",
		"mqttrmq_clients_connected 1",
		"# TYPE mqttrmq_uplink_sent_total counter",
	} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("metrics lack %q:\n%s", line, body)
		}
	}
}
