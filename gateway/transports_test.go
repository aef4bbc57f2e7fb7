package gateway_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqttrmq/mqttrmq/gateway"
	"github.com/mqttrmq/mqttrmq/internal/mosquitto"
	"github.com/mqttrmq/mqttrmq/internal/testenv"
)

// testCA is a certificate authority made for one test, with a server
// certificate for 127.0.0.1 it signed.
type testCA struct {
	server *tls.Config    // the gateway's
	pool   *x509.CertPool // the clients'
	pem    string         // the CA certificate's file, for command-line clients
}

func newTestCA(t testing.TB) testCA {
	t.Helper()
	ca := testenv.NewCA(t)
	return testCA{server: ca.Server, pool: ca.Pool, pem: ca.CAFile}
}

// startAllTransports starts a gateway listening on TCP, TLS, WebSocket and
// secure WebSocket.
func startAllTransports(t testing.TB, ca testCA) *gateway.Gateway {
	s := newRocketMQ(t)
	return startGateway(t, s, func(c *gateway.Config) {
		c.ListenTLS, c.ListenWebSocket, c.ListenSecureWebSocket = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
		c.TLS = ca.server
	})
}

// TestTransports: a paho device over each of TLS, WebSocket and secure
// WebSocket publishes through RocketMQ and gets its own message back
// through its subscription, as it would on TCP.
func TestTransports(t *testing.T) {
	ca := newTestCA(t)
	g := startAllTransports(t, ca)
	ls := g.Listeners()
	for kind, url := range map[string]string{
		"tls": "tls://" + ls["tls"],
		"ws":  "ws://" + ls["ws"] + "/mqtt",
		"wss": "wss://" + ls["wss"] + "/mqtt",
	} {
		t.Run(kind, func(t *testing.T) {
			got := make(chan paho.Message, 10)
			o := paho.NewClientOptions().AddBroker(url).SetClientID("GID_car@@@" + kind).SetProtocolVersion(4).
				SetAutoReconnect(false).SetTLSConfig(&tls.Config{RootCAs: ca.pool}).
				SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { got <- m })
			c := paho.NewClient(o)
			if tok := c.Connect(); !tok.WaitTimeout(deadline) || tok.Error() != nil {
				t.Fatalf("connect over %s: %v", url, tok.Error())
			}
			defer c.Disconnect(0)
			if tok := c.Subscribe("vehicles/"+kind+"/#", 1, nil); !tok.WaitTimeout(deadline) || tok.Error() != nil {
				t.Fatal(tok.Error())
			}
			if tok := c.Publish("vehicles/"+kind+"/x", 1, false, "over "+kind); !tok.WaitTimeout(deadline) || tok.Error() != nil {
				t.Fatal(tok.Error())
			}
			select {
			case m := <-got:
				if m.Topic() != "vehicles/"+kind+"/x" || string(m.Payload()) != "over "+kind {
					t.Errorf("got %s %q", m.Topic(), m.Payload())
				}
			case <-time.After(deadline):
				t.Fatal("the message never came back")
			}
		})
	}
}

// tool finds a command-line client, or skips the test saying how to get
// it, unless env is set (as CI sets it), which makes its absence a failure.
func tool(t testing.TB, name, env, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv(env) != "" {
			t.Fatalf("%s is not installed and %s is set: %s", name, env, install)
		}
		t.Skipf("%s is not installed (%s; .ci/run installs it): skipping", name, install)
	}
	return path
}

// mqttJS returns the path of the MQTT.js client script, installing MQTT.js
// from npm the first time.
func mqttJS(t testing.TB) (node, script string) {
	t.Helper()
	node = tool(t, "node", "MQTTRMQ_REQUIRE_NODE", "Node.js and npm, Debian packages nodejs and npm")
	dir, err := filepath.Abs(filepath.Join("testdata", "mqttjs"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "mqtt")); err != nil {
		npm := tool(t, "npm", "MQTTRMQ_REQUIRE_NODE", "Node.js and npm")
		out, err := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--prefix", dir).CombinedOutput()
		if err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	return node, filepath.Join(dir, "client.mjs")
}

// TestMQTTJSOverWebSocket: MQTT.js, the client of the hosted service's web
// pages, connects over WebSocket and secure WebSocket, in MQTT 3.1.1 and
// 5, publishes and gets its message back through RocketMQ.
func TestMQTTJSOverWebSocket(t *testing.T) {
	node, script := mqttJS(t)
	ca := newTestCA(t)
	g := startAllTransports(t, ca)
	ls := g.Listeners()
	for _, c := range []struct {
		name, url, version, ca string
	}{
		{"ws 3.1.1", "ws://" + ls["ws"] + "/mqtt", "4", ""},
		{"ws 5", "ws://" + ls["ws"] + "/mqtt", "5", ""},
		{"wss 3.1.1", "wss://" + ls["wss"] + "/mqtt", "4", ca.pem},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := "GID_web@@@" + strings.ReplaceAll(strings.ReplaceAll(c.name, " ", "-"), ".", "")
			topic := "chat/" + id
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			args := []string{script, c.url, id, topic, topic, "hello from " + c.name, c.version}
			if c.ca != "" {
				args = append(args, c.ca)
			}
			var stderr bytes.Buffer
			cmd := exec.CommandContext(ctx, node, args...)
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("MQTT.js: %v\n%s", err, stderr.String())
			}
			var got struct {
				Topic, Payload string
				QoS            int
			}
			if err := json.Unmarshal(out, &got); err != nil || got.Topic != topic || got.Payload != "hello from "+c.name || got.QoS != 1 {
				t.Errorf("MQTT.js received %s (%v); want %q on %s at QoS 1", out, err, "hello from "+c.name, topic)
			}
		})
	}
}

// TestMosquittoClientsOverTLS: mosquitto_sub and mosquitto_pub, the
// command-line clients operators try a broker with, over TLS with the
// gateway's CA, in MQTT 3.1.1 and 5.
func TestMosquittoClientsOverTLS(t *testing.T) {
	install := "Debian package mosquitto-clients"
	sub := tool(t, "mosquitto_sub", mosquitto.RequireEnv, install)
	pub := tool(t, "mosquitto_pub", mosquitto.RequireEnv, install)
	ca := newTestCA(t)
	g := startAllTransports(t, ca)
	host, port, _ := net.SplitHostPort(g.Listeners()["tls"])
	for _, v := range []string{"mqttv311", "mqttv5"} {
		t.Run(v, func(t *testing.T) {
			topic := "vehicles/cli/" + v
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			common := []string{"-h", host, "-p", port, "--cafile", ca.pem, "-V", v, "-q", "1", "-t", topic}
			var subOut, subErr bytes.Buffer
			s := exec.CommandContext(ctx, sub, append(common, "-i", "GID_cli@@@sub-"+v, "-C", "1", "-v")...)
			s.Stdout, s.Stderr = &subOut, &subErr
			if err := s.Start(); err != nil {
				t.Fatal(err)
			}
			// Publish until the subscriber, which may still be connecting,
			// has its message.
			exited := make(chan error, 1)
			go func() { exited <- s.Wait() }()
			for {
				if out, err := exec.CommandContext(ctx, pub, append(common, "-i", "GID_cli@@@pub-"+v, "-m", "over TLS")...).CombinedOutput(); err != nil {
					t.Fatalf("mosquitto_pub: %v\n%s", err, out)
				}
				select {
				case err := <-exited:
					if err != nil {
						t.Fatalf("mosquitto_sub: %v\n%s", err, subErr.String())
					}
					if got := strings.TrimSpace(subOut.String()); got != topic+" over TLS" {
						t.Errorf("mosquitto_sub printed %q; want %q", got, topic+" over TLS")
					}
					return
				case <-time.After(200 * time.Millisecond):
				}
			}
		})
	}
}
