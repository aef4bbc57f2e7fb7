package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/mqttrmq/mqttrmq/gateway"
	"github.com/mqttrmq/mqttrmq/internal/gatewaytest"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConfigFile: every kind of flag set from the file (lists as arrays,
// durations, integers, booleans), a flag on the command line winning
// over the file, secrets from a file and from the environment.
func TestConfigFile(t *testing.T) {
	secret := writeFile(t, "rocketmq-secret", "s3cr3t\n")
	path := writeFile(t, "gateway.toml", `# a production gateway
namesrv = ["10.0.0.5:9876", "10.0.0.6:9876"]
topics = ["vehicles", "chat"]
listen = ":1883"
max-inflight = 16
send-timeout = "5s"
require-hosted-client-id = true
access-keys-env = "TEST_GATEWAY_KEYS"
rocketmq-access-key = "rmq-ak"
rocketmq-secret-key-file = "`+secret+`"
drain-grace = "30s"
server-reference = "mqtt-2.example.com:1883"
log-events = "debug"
`)
	t.Setenv("TEST_GATEWAY_KEYS", "LTAI-a:one,LTAI-b:two")
	o, err := parseFlags(os.Stdout, []string{"-config", path, "-max-inflight", "8"})
	if err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	if strings.Join(c.NameServer, ",") != "10.0.0.5:9876,10.0.0.6:9876" || strings.Join(c.ParentTopics, ",") != "vehicles,chat" || c.Listen != ":1883" {
		t.Errorf("name servers %v, topics %v, listen %q: not the file's", c.NameServer, c.ParentTopics, c.Listen)
	}
	if c.MaxInflight != 8 {
		t.Errorf("MaxInflight = %d; want the command line's 8 over the file's 16", c.MaxInflight)
	}
	if c.SendTimeout != 5*time.Second || !c.RequireHostedClientID || c.DrainGrace != 30*time.Second || c.ServerReference != "mqtt-2.example.com:1883" {
		t.Errorf("send timeout %v, hosted IDs %v, drain grace %v, reference %q: not the file's", c.SendTimeout, c.RequireHostedClientID, c.DrainGrace, c.ServerReference)
	}
	if sig, ok := c.Auth.(gateway.Signature); !ok || sig.Secrets["LTAI-a"] != "one" || sig.Secrets["LTAI-b"] != "two" {
		t.Errorf("Auth = %#v; want the AccessKeys of the environment", c.Auth)
	}
	if c.Credentials.AccessKey != "rmq-ak" || c.Credentials.SecretKey != "s3cr3t" {
		t.Errorf("RocketMQ credentials %+v; want rmq-ak and the file's secret", c.Credentials)
	}
	if c.EventLogLevel.String() != "DEBUG" {
		t.Errorf("EventLogLevel = %v; want DEBUG", c.EventLogLevel)
	}

	t.Setenv("TEST_RMQ_SECRET", "from-env")
	o, err = parseFlags(os.Stdout, []string{"-namesrv", "10.0.0.5:9876", "-topics", "v", "-auth", "allow-all",
		"-rocketmq-access-key", "ak", "-rocketmq-secret-key-env", "TEST_RMQ_SECRET"})
	if err != nil || o.cfg.Credentials.SecretKey != "from-env" {
		t.Errorf("secret from the environment: %+v, %v", o.cfg.Credentials, err)
	}
}

// TestConfigFileErrors: what the file gets wrong stops the command, naming
// the file's line and the key.
func TestConfigFileErrors(t *testing.T) {
	head := "namesrv = \"10.0.0.5:9876\"\ntopics = [\"vehicles\"]\nauth = \"allow-all\"\n" // lines 1-3
	for _, tc := range []struct{ body, want string }{
		{"max-inflght = 10\n", `line 4: unknown key "max-inflght" (did you mean "max-inflight"?)`},
		{"\n\nlisten-wss = 1\nfrobnicate = true\n", `line 7: unknown key "frobnicate"`},
		{"max-inflight = \"many\"\n", `line 4: key "max-inflight": invalid value "many"`},
		{"send-timeout = 3\n", `line 4: key "send-timeout": invalid value "3"`},
		{"max-payload = 0\n", `line 4: -max-payload 0: want a positive number`},
		{"\nlisten = \"1883\"\n", `line 5: -listen "1883": want host:port`},
		{"max-inflight = 1.5\n", `line 4: key "max-inflight": a float64 is no flag's value`},
		{"[gateway]\nlisten = \":1883\"\n", `line 4: a table`},
		{"log.level = \"debug\"\n", `line 4: dotted key "log.level"`},
		{"listen = \":1883\n", `line 4: `},
		{"config = \"other.toml\"\n", `line 4: unknown key "config"`},
		{"access-keys-env = \"TEST_GATEWAY_NO_SUCH_VARIABLE\"\n", `line 4: -access-keys-env TEST_GATEWAY_NO_SUCH_VARIABLE: the environment has no`},
	} {
		path := writeFile(t, "gateway.toml", head+tc.body)
		var out gatewaytest.Output
		err := run(t.Context(), &out, []string{"-config", path})
		if err == nil || !strings.Contains(err.Error(), path+" "+tc.want) && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("file with %q: %v; want an error containing %q", tc.body, err, tc.want)
		}
		if err != nil && !strings.Contains(err.Error(), path) {
			t.Errorf("file with %q: %v does not name the file", tc.body, err)
		}
	}
	if err := run(t.Context(), &gatewaytest.Output{}, []string{"-config", "/nonexistent/gateway.toml"}); err == nil || !strings.Contains(err.Error(), "-config: open /nonexistent/gateway.toml") {
		t.Errorf("missing file: %v", err)
	}
}

// TestPrintConfig: -print-config prints a configuration file of the
// effective values, with their origins, secrets masked, and starts nothing.
func TestPrintConfig(t *testing.T) {
	path := writeFile(t, "gateway.toml", "namesrv = [\"10.0.0.5:9876\"]\ntopics = \"vehicles\"\naccess-keys = \"LTAI-a:hunter2\"\n")
	var out gatewaytest.Output
	if err := run(t.Context(), &out, []string{"-config", path, "-max-inflight", "7", "-print-config"}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if strings.Contains(got, "hunter2") {
		t.Errorf("-print-config shows a secret:\n%s", got)
	}
	for _, want := range []string{
		`access-keys = "****"  # ` + path + ` line 3`,
		`namesrv = "10.0.0.5:9876"  # ` + path + ` line 1`,
		`max-inflight = 7  # command line`,
		`send-timeout = "3s"  # default`,
		`require-hosted-client-id = false  # default`,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("-print-config lacks %q:\n%s", want, got)
		}
	}
	var parsed map[string]any
	if err := toml.Unmarshal([]byte(got), &parsed); err != nil {
		t.Errorf("-print-config's output is not TOML: %v\n%s", err, got)
	}
	if strings.Contains(got, "msg=serving") {
		t.Error("-print-config started the gateway")
	}
}

// FuzzConfigFile: no file contents make the loader panic; whatever it
// accepts sets only flags that exist, and whatever it refuses names the
// file.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("namesrv = [\"10.0.0.5:9876\"]\ntopics = \"v\"\nmax-inflight = 7\n"))
	f.Add([]byte("[t]\na = 1\n"))
	f.Add([]byte("a.b = 1\nlisten = \"x\""))
	f.Add([]byte("drain-grace = [[1], 2]\n"))
	f.Add([]byte("log-rate = 1e3\nv = true\n\"quoted key\" = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p operatorOptions
		fs := flag.NewFlagSet("fuzz", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.String("namesrv", "", "")
		fs.String("topics", "", "")
		fs.Int("max-inflight", 0, "")
		fs.Bool("v", false, "")
		p.define(fs)
		if err := p.loadBytes("f.toml", data, map[string]bool{}); err != nil {
			if !strings.Contains(err.Error(), "f.toml") {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		for name, origin := range p.origins {
			if fs.Lookup(name) == nil || !strings.HasPrefix(origin, "f.toml line ") {
				t.Errorf("flag %q set from %q", name, origin)
			}
		}
	})
}
