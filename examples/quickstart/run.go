package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/apache/rocketmq-client-go/v2/rlog"

	"github.com/mqttrmq/mqttrmq"
)

// options are the command line's settings.
type options struct {
	nameServers []string // empty: run rocketmqtest in process
	topic       string   // the parent topic, which is the RocketMQ topic
	namespace   string   // the RocketMQ namespace of the topic and groups; empty for none
	dialect     *mqttrmq.Dialect
	vehicles    int
	messages    int // telemetry messages per vehicle
	timeout     time.Duration
	verbose     bool
}

func parseFlags(stdout io.Writer, args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned; -h prints usage below
	namesrv := fs.String("namesrv", "", "RocketMQ name servers, `ip:port`[,ip:port...]; empty runs an in-process RocketMQ (rocketmqtest). A real RocketMQ must already hold -topic.")
	fs.StringVar(&o.topic, "topic", "vehicles", "parent `topic`: the first level of every MQTT topic, and the RocketMQ topic")
	fs.StringVar(&o.namespace, "namespace", "", "RocketMQ `namespace` of -topic and of every consumer group, for a RocketMQ that has namespaces; RocketMQ names them namespace%name")
	dialect := fs.String("dialect", mqttrmq.AlibabaCloud.String(), "how the mapping is written on RocketMQ: "+mqttrmq.AlibabaCloud.String()+" (the hosted service's properties) or "+mqttrmq.ApacheRocketMQMQTT.String())
	fs.IntVar(&o.vehicles, "vehicles", 3, "number of simulated vehicles")
	fs.IntVar(&o.messages, "n", 3, "telemetry messages each vehicle publishes")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "give up when the exchange is not complete after this long")
	fs.BoolVar(&o.verbose, "v", false, "show the gateway's informational logs and the RocketMQ client's warnings")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "Usage: quickstart [flags]\n\nRuns RocketMQ, the MQTT gateway, simulated vehicles and a backend in one process.\n\nFlags:")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
		}
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if o.nameServers, err = parseNameServers(*namesrv); err != nil {
		return o, err
	}
	if err := mqttrmq.ValidateParentTopic(o.topic); err != nil {
		return o, fmt.Errorf("-topic: %w", err)
	}
	if _, err := mqttrmq.NamespaceTopic(o.namespace, o.topic); err != nil {
		return o, fmt.Errorf("-namespace: %w", err)
	}
	if o.dialect, err = mqttrmq.ParseDialect(*dialect); err != nil {
		return o, fmt.Errorf("-dialect: %w", err)
	}
	if o.vehicles < 1 || o.vehicles > 100 {
		return o, fmt.Errorf("-vehicles %d: want 1 to 100", o.vehicles)
	}
	if o.messages < 1 || o.messages > 1000 {
		return o, fmt.Errorf("-n %d: want 1 to 1000", o.messages)
	}
	if o.timeout <= 0 {
		return o, fmt.Errorf("-timeout %v: want a positive duration", o.timeout)
	}
	return o, nil
}

// parseNameServers reads a comma-separated list of ip:port. The RocketMQ
// client does not resolve host names (it refuses localhost), so neither
// does this.
func parseNameServers(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var out []string
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		ap, err := netip.ParseAddrPort(a)
		if err != nil || ap.Port() == 0 {
			return nil, fmt.Errorf("-namesrv %q: want ip:port, such as 127.0.0.1:9876 (the RocketMQ client does not resolve host names)", a)
		}
		out = append(out, ap.String())
	}
	return out, nil
}

// run runs the quickstart with the command line args, writes what happens
// to stdout, and returns nil only when every message arrived.
func run(ctx context.Context, stdout io.Writer, args []string) error {
	o, err := parseFlags(stdout, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	// The RocketMQ client logs through a process-wide logger of its own.
	if o.verbose {
		rlog.SetLogLevel("warn")
	} else {
		rlog.SetLogLevel("fatal") // it logs every retry, even after its own Shutdown
	}

	con := &console{w: stdout}
	t := newTally()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	err = exchange(ctx, con, o, t)
	con.close() // nothing late from a client's goroutine may follow the summary
	fmt.Fprintf(stdout, "quickstart: %s\n", t)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("gave up after %v (-timeout): %w", o.timeout, err)
	}
	if err != nil {
		return err
	}
	if !t.complete() {
		return fmt.Errorf("not every message arrived: %s", t)
	}
	return nil
}

// exchange starts every part, runs the scenario, and stops every part
// again, waiting at most until ctx is done for the messages to arrive.
func exchange(ctx context.Context, con *console, o options, t *tally) (err error) {
	sys := &system{opts: o, con: con, tally: t, run: runID()}
	defer func() { err = errors.Join(err, sys.close()) }()

	cars := make([]*vehicle, o.vehicles)
	for i := range cars {
		name := fmt.Sprintf("car%d", i+1)
		cars[i] = &vehicle{name: name, id: mqttrmq.ClientID{GroupID: "GID_vehicle", DeviceID: name}.String(), index: i, sys: sys}
	}
	// Every message is expected before anything starts, so that the
	// counts are exact whatever arrives first, and a run that fails early
	// says how much was missing.
	for _, c := range cars {
		for seq := 1; seq <= o.messages; seq++ {
			t.expect(uplink, c.id+" "+c.telemetryTopic()+" "+c.telemetry(seq))
		}
		p2pTopic, err := mqttrmq.P2PTopic(o.topic, c.id)
		if err != nil {
			return err
		}
		t.expect(p2p, c.id+" "+p2pTopic+" "+sys.command("unlock"))
		t.expect(broadcast, c.id+" "+o.topic+broadcastSubtopic+" "+sys.command("return-to-depot"))
	}

	if err := sys.start(ctx); err != nil {
		return err
	}
	for _, c := range cars {
		if err := c.connect(ctx); err != nil {
			return err
		}
	}
	for _, c := range cars {
		if err := c.publishTelemetry(ctx, o.messages); err != nil {
			return err
		}
	}
	if err := sys.waitFor(ctx, uplink); err != nil {
		return err
	}
	for _, c := range cars {
		if err := sys.sendP2P(ctx, c.id, sys.command("unlock")); err != nil {
			return err
		}
	}
	if err := sys.sendBroadcast(ctx, broadcastSubtopic, sys.command("return-to-depot")); err != nil {
		return err
	}
	return sys.waitFor(ctx, p2p, broadcast)
}

// Where the backend's commands go, under the parent topic.
const (
	broadcastSubtopic = "/cmd/all" // the command to every vehicle
	commandFilter     = "/cmd/#"   // what every vehicle subscribes to
)

// runID names this run's RocketMQ clients and groups, and marks its
// payloads: the client shares one connection per name in a process, and a
// new consumer group starts about when it is created, so a run that starts
// right after another may read the other's last messages, which its marks
// keep out of the counts.
func runID() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
