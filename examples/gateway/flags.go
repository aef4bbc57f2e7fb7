package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/gateway"
)

// options are the command line's settings, checked.
type options struct {
	cfg      gateway.Config
	metrics  string // address of the metrics listener; empty for none
	pprof    bool   // Go's profiles on the metrics listener too
	tokenAPI string // address of the token service; empty for none
	trial    string // address of an in-process RocketMQ to run; empty for none
	verbose  bool

	operator operatorOptions // configuration file, logs, drain, RocketMQ credentials
}

const usageHead = `Usage: gateway -namesrv ip:port[,ip:port] -topics a[,b] [flags]

Runs an MQTT gateway whose every message passes through RocketMQ, mapped as
the hosted MQTT service maps it (package github.com/mqttrmq/mqttrmq).

Flags:`

func parseFlags(stdout io.Writer, args []string) (o options, err error) {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned; -h prints usage below
	listen := fs.String("listen", gateway.DefaultListen, "MQTT-over-TCP listen `address`; :1883 serves every interface")
	fs.StringVar(&o.cfg.ListenTLS, "listen-tls", "", "MQTT-over-TLS listen `address`, such as :8883 (needs -tls-cert and -tls-key)")
	fs.StringVar(&o.cfg.ListenWebSocket, "listen-ws", "", "MQTT-over-WebSocket listen `address`, such as :8083, serving -ws-path")
	fs.StringVar(&o.cfg.ListenSecureWebSocket, "listen-wss", "", "MQTT-over-secure-WebSocket listen `address`, such as :8084 (needs -tls-cert and -tls-key)")
	fs.StringVar(&o.cfg.WebSocketPath, "ws-path", "/mqtt", "the `path` MQTT over WebSocket is served at")
	tlsCert := fs.String("tls-cert", "", "PEM `file` of the TLS listeners' certificate chain")
	tlsKey := fs.String("tls-key", "", "PEM `file` of the TLS listeners' private key")
	namesrv := fs.String("namesrv", "", "RocketMQ name servers, `ip:port`[,ip:port...] (required, unless -rocketmqtest)")
	fs.StringVar(&o.trial, "rocketmqtest", "", "for trials without a RocketMQ: run an in-process one (package rocketmqtest: memory only, one node) listening on `ip:port`, such as 127.0.0.1:9876, holding -topics; other programs reach it there")
	topics := fs.String("topics", "", "parent `topics`, comma-separated (required): the first level of every MQTT topic served, each an existing RocketMQ topic")
	fs.StringVar(&o.cfg.Namespace, "namespace", "", "RocketMQ `namespace` of -topics and of the gateway's consumer group, for a RocketMQ that has namespaces (a hosted instance's ID); RocketMQ names them namespace%name")
	fs.StringVar(&o.cfg.InstanceID, "instance-id", "", "this gateway's `name` among those sharing one RocketMQ; keep it across restarts (default: the host name)")
	fs.StringVar(&o.cfg.UplinkTag, "uplink-tag", gateway.UplinkTag, "RocketMQ `tag` of the messages devices publish (the hosted service's dialect only)")
	dialect := fs.String("dialect", mqttrmq.AlibabaCloud.String(), "how the mapping is written on RocketMQ: "+mqttrmq.AlibabaCloud.String()+" (the hosted service's properties) or "+mqttrmq.ApacheRocketMQMQTT.String()+" (Apache RocketMQ-MQTT's, tag MQTT_COMMON both ways)")
	auth := fs.String("auth", "signature", "`mode`: signature (the hosted service's Signature and DeviceCredential modes, checked against the AccessKeys) or allow-all (anyone, for trials)")
	keys := fs.String("access-keys", "", "AccessKeys for -auth signature, `id:secret`[,id:secret...]; prefer -access-keys-file, as command lines are visible to other users")
	keysFile := fs.String("access-keys-file", "", "`file` of AccessKeys for -auth signature, one id:secret a line; blank lines and lines starting with # are skipped")
	instance := fs.String("mqtt-instance", "", "with -auth signature, the instance `ID` every username must name (Mode|AccessKeyID|InstanceID)")
	fs.BoolVar(&o.cfg.RequireHostedClientID, "require-hosted-client-id", false, "refuse client IDs not of the form GroupID@@@DeviceID")
	fs.IntVar(&o.cfg.MaxPayload, "max-payload", gateway.DefaultMaxPayload, "largest payload a device may publish, in `bytes`")
	fs.IntVar(&o.cfg.MaxSubscriptionsPerClient, "max-subscriptions", 0, "subscriptions allowed per client; 0 for no limit (the hosted service allows 30)")
	fs.DurationVar(&o.cfg.SendTimeout, "send-timeout", gateway.DefaultSendTimeout, "bound on one send to RocketMQ")
	fs.DurationVar(&o.cfg.SendLinger, "send-linger", gateway.DefaultSendLinger, "how long a device's message may wait for others to go to RocketMQ with it, where messages come fast enough for that to pay (one write and one answer for many devices' messages: less CPU at a fleet's pace, up to this much more latency); 0 sends each at once")
	fs.DurationVar(&o.cfg.SendRetryFor, "send-retry-for", gateway.DefaultSendRetryFor, "how long a QoS 1/2 publish RocketMQ refuses is retried before its device is disconnected unacknowledged")
	fs.DurationVar(&o.cfg.ConnectTimeout, "connect-timeout", gateway.DefaultConnectTimeout, "how long a new connection has to send CONNECT")
	fs.IntVar(&o.cfg.MaxInflight, "max-inflight", 32, "QoS 1/2 messages a client may have unacknowledged (an MQTT 5 client's receive maximum lowers it)")
	fs.IntVar(&o.cfg.MaxQueuedMessages, "max-queued-messages", 1000, "QoS 1/2 messages waiting for one client beyond -max-inflight; over it a connected client is disconnected as a slow consumer, an offline one loses its oldest")
	fs.IntVar(&o.cfg.MaxQueuedBytes, "max-queued-bytes", gateway.DefaultMaxQueuedBytes, "`bytes` written to a client it has not taken yet; over it the client is disconnected as a slow consumer")
	fs.IntVar(&o.cfg.ReceiveMaximum, "receive-maximum", 64, "QoS 1/2 publishes a client may have waiting for RocketMQ at once")
	fs.DurationVar(&o.cfg.ServerKeepAlive, "server-keep-alive", 0, "longest keep-alive an MQTT 5 client may have: one asking for more, or none, is told to use this; whole seconds; 0 for no limit")
	fs.DurationVar(&o.cfg.MaxSessionExpiry, "max-session-expiry", 72*time.Hour, "how long a persistent session outlives its connection at most")
	fs.StringVar(&o.cfg.Cluster, "cluster", gateway.DefaultCluster, "`name` of the cluster of gateways this instance joins: those with one name on one RocketMQ share clients' interest, persistent sessions and routing (topics {name}_directory and {name}_route)")
	fs.DurationVar(&o.cfg.SnapshotInterval, "snapshot-interval", gateway.DefaultSnapshotInterval, "how often an instance writes all it holds to the directory; silent for three times this, it is taken for dead")
	fs.IntVar(&o.cfg.MaxOfflineMessages, "max-offline-messages", gateway.DefaultMaxOfflineMessages, "most messages a persistent session gets of what came while it was away (the newest)")
	fs.StringVar(&o.metrics, "metrics", "", "serve counters in Prometheus's text format at http://`address`/metrics, e.g. :9100")
	fs.BoolVar(&o.pprof, "pprof", false, "also serve Go's runtime profiles (net/http/pprof) at /debug/pprof/ on the -metrics address; for diagnosis, not for a listener the public reaches")
	fs.BoolVar(&o.verbose, "v", false, "log everything (-log-level debug)")
	o.operator.define(fs)
	access := accessFlagsOn(fs) // presence, tokens, permissions: access.go
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, usageHead)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
		}
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := o.operator.load(); err != nil {
		return o, err
	}
	defer func() { err = o.operator.located(err) }() // a value from the file: its line

	if _, _, err := net.SplitHostPort(*listen); err != nil {
		return o, fmt.Errorf("-listen %q: want host:port, such as :1883: %w", *listen, err)
	}
	o.cfg.Listen = *listen
	switch {
	case *namesrv != "" && o.trial != "":
		return o, errors.New("give -namesrv or -rocketmqtest, not both")
	case o.trial != "":
		if _, err := netip.ParseAddrPort(o.trial); err != nil {
			return o, fmt.Errorf("-rocketmqtest %q: want ip:port, such as 127.0.0.1:9876", o.trial)
		}
	case *namesrv == "":
		return o, errors.New("-namesrv is required: the RocketMQ name servers, ip:port[,ip:port]")
	default:
		ns, err := parseNameServers(*namesrv)
		if err != nil {
			return o, err
		}
		o.cfg.NameServer = ns
	}
	if *topics == "" {
		return o, errors.New("-topics is required: the parent topics, comma-separated")
	}
	for _, t := range strings.Split(*topics, ",") {
		t = strings.TrimSpace(t)
		if err := mqttrmq.ValidateParentTopic(t); err != nil {
			return o, fmt.Errorf("-topics: %w", err)
		}
		o.cfg.ParentTopics = append(o.cfg.ParentTopics, t)
		if o.cfg.Namespace != "" {
			if _, err := mqttrmq.NamespaceTopic(o.cfg.Namespace, t); err != nil {
				return o, fmt.Errorf("-namespace: %w", err)
			}
		}
	}
	if o.cfg.Dialect, err = mqttrmq.ParseDialect(*dialect); err != nil {
		return o, fmt.Errorf("-dialect: %w", err)
	}
	uplinkTagSet := false
	fs.Visit(func(f *flag.Flag) { uplinkTagSet = uplinkTagSet || f.Name == "uplink-tag" })
	if uplinkTagSet && o.cfg.Dialect == mqttrmq.ApacheRocketMQMQTT {
		return o, fmt.Errorf("-uplink-tag does not apply to -dialect %s, which tags every message %s", o.cfg.Dialect, o.cfg.Dialect.DownlinkTag())
	}
	if o.metrics != "" {
		if _, _, err := net.SplitHostPort(o.metrics); err != nil {
			return o, fmt.Errorf("-metrics %q: want host:port, such as :9100: %w", o.metrics, err)
		}
	}
	if o.pprof && o.metrics == "" {
		return o, errors.New("-pprof serves on the -metrics address: give -metrics too")
	}
	if o.cfg.MaxPayload <= 0 {
		return o, fmt.Errorf("-max-payload %d: want a positive number of bytes", o.cfg.MaxPayload)
	}
	if o.cfg.SendLinger < 0 || o.cfg.SendLinger > time.Second {
		return o, fmt.Errorf("-send-linger %v: want 0 (none) up to 1s", o.cfg.SendLinger)
	}
	if o.cfg.SendLinger == 0 {
		o.cfg.SendLinger = -1 // none, in gateway.Config's words
	}
	if o.cfg.MaxSubscriptionsPerClient < 0 {
		return o, fmt.Errorf("-max-subscriptions %d: want 0 (no limit) or more", o.cfg.MaxSubscriptionsPerClient)
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"-send-timeout", o.cfg.SendTimeout}, {"-send-retry-for", o.cfg.SendRetryFor}, {"-connect-timeout", o.cfg.ConnectTimeout}, {"-max-session-expiry", o.cfg.MaxSessionExpiry}} {
		if d.v <= 0 {
			return o, fmt.Errorf("%s %v: want a positive duration", d.flag, d.v)
		}
	}

	for _, l := range []struct{ flag, addr string }{{"-listen-tls", o.cfg.ListenTLS}, {"-listen-ws", o.cfg.ListenWebSocket}, {"-listen-wss", o.cfg.ListenSecureWebSocket}} {
		if _, _, err := net.SplitHostPort(l.addr); l.addr != "" && err != nil {
			return o, fmt.Errorf("%s %q: want host:port: %w", l.flag, l.addr, err)
		}
	}
	if *tlsCert != "" || *tlsKey != "" {
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			return o, fmt.Errorf("-tls-cert, -tls-key: %w", err)
		}
		o.cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	if (o.cfg.ListenTLS != "" || o.cfg.ListenSecureWebSocket != "") && o.cfg.TLS == nil {
		return o, errors.New("-listen-tls and -listen-wss need -tls-cert and -tls-key")
	}
	for _, n := range []struct {
		flag string
		v    int
	}{{"-max-inflight", o.cfg.MaxInflight}, {"-max-queued-messages", o.cfg.MaxQueuedMessages}, {"-max-queued-bytes", o.cfg.MaxQueuedBytes}, {"-receive-maximum", o.cfg.ReceiveMaximum}} {
		if n.v <= 0 {
			return o, fmt.Errorf("%s %d: want a positive number", n.flag, n.v)
		}
	}
	if o.cfg.MaxInflight > 65535 || o.cfg.ReceiveMaximum > 65535 {
		return o, errors.New("-max-inflight and -receive-maximum are at most 65535")
	}
	if k := o.cfg.ServerKeepAlive; k < 0 || k > 65535*time.Second || k%time.Second != 0 {
		return o, fmt.Errorf("-server-keep-alive %v: want whole seconds, at most 65535s", k)
	}

	switch *auth {
	case "allow-all":
		if (*keys != "" || *keysFile != "" || *instance != "") && !access.tokens() {
			return o, errors.New("-access-keys, -access-keys-file and -mqtt-instance need -auth signature (or -token-revocation-topic); -auth allow-all checks nothing")
		}
		o.cfg.Auth = gateway.AllowAll{}
	case "signature":
		secrets, err := accessKeys(*keys, *keysFile)
		if err != nil {
			return o, err
		}
		if len(secrets) == 0 {
			return o, errors.New("-auth signature needs AccessKeys: -access-keys-file or -access-keys (or -auth allow-all, for trials)")
		}
		if strings.Contains(*instance, "|") {
			return o, fmt.Errorf("-mqtt-instance %q: an instance ID holds no '|'", *instance)
		}
		o.cfg.Auth = gateway.Signature{Secrets: secrets, InstanceID: *instance}
	default:
		return o, fmt.Errorf("-auth %q: want signature or allow-all", *auth)
	}
	var secrets map[string]string
	if access.tokens() {
		if secrets, err = accessKeys(*keys, *keysFile); err != nil {
			return o, err
		}
	}
	if err := access.apply(&o, secrets, *instance); err != nil {
		return o, err
	}
	return o, o.operator.apply(&o.cfg)
}

// parseNameServers reads a comma-separated list of ip:port. The RocketMQ
// client does not resolve host names (it refuses localhost), so neither
// does this.
func parseNameServers(s string) ([]string, error) {
	var out []string
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		ap, err := netip.ParseAddrPort(a)
		if err != nil || ap.Port() == 0 {
			return nil, fmt.Errorf("-namesrv %q: want ip:port, such as 10.0.0.5:9876 (the RocketMQ client does not resolve host names)", a)
		}
		out = append(out, ap.String())
	}
	return out, nil
}

// accessKeys reads the AccessKey table from the flag's list and the file.
func accessKeys(list, file string) (map[string]string, error) {
	secrets := map[string]string{}
	add := func(where, entry string) error {
		id, secret, ok := strings.Cut(entry, ":")
		id, secret = strings.TrimSpace(id), strings.TrimSpace(secret)
		switch {
		case !ok || id == "" || secret == "":
			return fmt.Errorf("%s: want id:secret", where)
		case strings.Contains(id, "|"):
			return fmt.Errorf("%s: AccessKey ID %q holds '|', which separates the username's fields", where, id)
		case secrets[id] != "":
			return fmt.Errorf("%s: AccessKey ID %q given twice", where, id)
		}
		secrets[id] = secret
		return nil
	}
	if list != "" {
		for i, e := range strings.Split(list, ",") {
			if err := add(fmt.Sprintf("-access-keys entry %d", i+1), e); err != nil {
				return nil, err
			}
		}
	}
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("-access-keys-file: %w", err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if err := add(fmt.Sprintf("-access-keys-file %s line %d", file, n), line); err != nil {
				return nil, err
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("-access-keys-file %s: %w", file, err)
		}
	}
	return secrets, nil
}
