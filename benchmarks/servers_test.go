package benchmarks

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqttrmq/mqttrmq/internal/mosquitto"
	"github.com/mqttrmq/mqttrmq/internal/mqttload"
	"github.com/mqttrmq/mqttrmq/internal/serverproc"
)

// parentTopic is the one parent topic the gateway serves in every
// benchmark, and the first level of every topic they use on every server.
const parentTopic = "bench"

// sizeFlag picks the benchmarks' sizes; see sizes.
var profileFlag = flag.String("gateway-profile", "", "write a CPU profile of the gateway process, taken over BenchmarkFleetCPU's publishing period, to this `file` (go tool pprof reads it beside the gateway's binary)")

var sizeFlag = flag.String("size", "auto", "benchmark sizes: full (the figures: 10,000 and 19,000 connections, 1,000 devices, …), smoke (a few hundred connections and seconds, to check the benchmarks work), or auto: smoke at -benchtime 1x or -short, full otherwise")

// sizes are one run's dimensions.
type sizes struct {
	idleConns []int         // connection counts at which idle RSS is read, ascending
	settle    time.Duration // how long RSS must stay put to be read

	stallSubs      int           // normal subscribers
	stallRate      int           // publishes a second
	stallClean     time.Duration // the phase without the stalled subscriber
	stallStalled   time.Duration // the phase with it
	stallPayload   int           // bytes per message
	stallRcvBuf    int           // the stalled subscriber's SO_RCVBUF
	stallProbeStep time.Duration // between CONNACK probes

	fleetDevices int           // devices publishing once a second
	fleetPeriod  time.Duration // how long they publish
	fleetIdle    time.Duration // the idle interval measured before

	fanoutSubs int // subscribers of the broadcast topic
	fanoutMsgs int // messages broadcast

	uplinkDevices int // devices publishing as fast as they are acknowledged
	uplinkMsgs    int // messages in all
	uplinkWindow  int // unacknowledged publishes per device
}

var fullSizes = sizes{
	idleConns: []int{10_000, 19_000}, settle: 2 * time.Second,

	stallSubs: 100, stallRate: 50, stallClean: 10 * time.Second, stallStalled: 15 * time.Second,
	stallPayload: 16 << 10, stallRcvBuf: 4 << 10, stallProbeStep: time.Second,

	fleetDevices: 1000, fleetPeriod: 30 * time.Second, fleetIdle: 5 * time.Second,

	fanoutSubs: 1000, fanoutMsgs: 200,

	uplinkDevices: 50, uplinkMsgs: 200_000, uplinkWindow: 100,
}

var smokeSizes = sizes{
	idleConns: []int{100, 190}, settle: 500 * time.Millisecond,

	stallSubs: 100, stallRate: 50, stallClean: time.Second, stallStalled: 1500 * time.Millisecond,
	stallPayload: 16 << 10, stallRcvBuf: 4 << 10, stallProbeStep: 500 * time.Millisecond,

	fleetDevices: 100, fleetPeriod: 2 * time.Second, fleetIdle: 500 * time.Millisecond,

	fanoutSubs: 100, fanoutMsgs: 5,

	uplinkDevices: 10, uplinkMsgs: 1000, uplinkWindow: 20,
}

// size returns the sizes of this run: full unless -size smoke, or -size
// auto (the default) with -benchtime 1x or -short, as CI runs every
// benchmark once to keep it from rotting.
func size(b *testing.B) sizes {
	switch *sizeFlag {
	case "full":
		return fullSizes
	case "smoke":
		return smokeSizes
	case "auto":
		if testing.Short() {
			return smokeSizes
		}
		if f := flag.Lookup("test.benchtime"); f != nil && f.Value.String() == "1x" {
			return smokeSizes
		}
		return fullSizes
	}
	b.Fatalf("-size %q: want full, smoke or auto", *sizeFlag)
	return sizes{}
}

// goServers are the module's commands the benchmarks run.
var goServers = []string{"examples/gateway", "internal/cmd/mochibroker", "internal/cmd/rocketmqtest", "internal/cmd/mqttcore"}

// bins are the Go servers, built together on first use into binDir.
var (
	binMu  sync.Mutex
	binDir string
	bins   map[string]string
)

// removeBinaries removes what serverBinary built; TestMain calls it at the end.
func removeBinaries() {
	binMu.Lock()
	defer binMu.Unlock()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}

// serverBinary returns the executable of the module's command pkg, one of
// goServers, building them all on first use.
func serverBinary(b *testing.B, pkg string) string {
	b.Helper()
	binMu.Lock()
	defer binMu.Unlock()
	if bins == nil {
		if binDir == "" {
			d, err := os.MkdirTemp("", "mqttrmq-bench-")
			if err != nil {
				b.Fatal(err)
			}
			binDir = d
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		var paths []string
		for _, p := range goServers {
			paths = append(paths, "github.com/mqttrmq/mqttrmq/"+p)
		}
		built, err := serverproc.Build(ctx, binDir, paths...)
		if err != nil {
			missing(b, err)
		}
		bins = map[string]string{}
		for _, p := range goServers {
			bins[p] = built["github.com/mqttrmq/mqttrmq/"+p]
		}
	}
	p, ok := bins[pkg]
	if !ok {
		b.Fatalf("%s is not among the servers the benchmarks build", pkg)
	}
	return p
}

// missing ends a benchmark that lacks a program or a system facility: a
// skip that says what is missing, or a failure where MQTTRMQ_REQUIRE_MOSQUITTO
// is set (CI sets it, so that CI never skips a comparison).
func missing(b *testing.B, err error) {
	b.Helper()
	if !errors.Is(err, serverproc.ErrNotInstalled) && !errors.Is(err, serverproc.ErrUnsupported) {
		b.Fatal(err)
	}
	if os.Getenv(mosquitto.RequireEnv) != "" {
		b.Fatalf("%v, and %s is set: install it (Debian package mosquitto; .ci/run does)", err, mosquitto.RequireEnv)
	}
	b.Skipf("%v: skipping this benchmark (Debian package mosquitto; .ci/run installs it)", err)
}

// prepare raises the file limit and checks that /proc can be read, for a
// benchmark that measures servers.
func prepare(b *testing.B) sizes {
	b.Helper()
	if _, err := serverproc.ReadCPU(os.Getpid()); err != nil {
		missing(b, err)
	}
	if _, err := mqttload.RaiseFileLimit(); err != nil {
		b.Fatal(err)
	}
	return size(b)
}

// server is an MQTT server under test, in its own process.
type server struct {
	name     string
	addr     string              // MQTT address, host:port
	proc     *serverproc.Process // the MQTT server
	rocketmq *rocketMQ           // the gateway's RocketMQ; nil for the others
	pprof    string              // the gateway's profiles, http://host:port/debug/pprof/, with -gateway-profile
	goServer bool                // whose goroutines DumpGoroutines counts
}

// kind is a way to start a server.
type kind struct {
	name  string
	start func(b *testing.B) *server
}

// kinds are the servers every benchmark compares: the gateway and its
// two baselines.
var kinds = []kind{
	{"gateway", startGateway},
	{"mochi", startMochi},
	{"mosquitto", startMosquitto},
}

var instanceSeq atomic.Int64

// startProcess starts a server process for b, stopped when b ends.
func startProcess(b *testing.B, s serverproc.Spec) *serverproc.Process {
	b.Helper()
	s.LogDir = b.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := serverproc.Start(ctx, s)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Stop() })
	return p
}

func freeAddr(b *testing.B) string {
	b.Helper()
	a, err := serverproc.FreeAddr()
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// rocketMQ is the RocketMQ a gateway runs against: rocketmqtest in a
// process of its own, or, with -rocketmq, an Apache RocketMQ running
// already.
type rocketMQ struct {
	Addr string // the name server, host:port
	pid  int    // the process whose CPU is RocketMQ's: rocketmqtest, or the broker
}

// CPU returns the CPU time RocketMQ's process has used.
func (r *rocketMQ) CPU() (time.Duration, error) { return serverproc.ReadCPU(r.pid) }

var (
	rocketmqFlag    = flag.String("rocketmq", "", "run the gateways against the Apache RocketMQ whose name server is at this `host:port`, holding the topic bench, rather than each against a rocketmqtest of its own (.ci/rocketmq start bench starts one)")
	rocketmqPIDFlag = flag.Int("rocketmq-pid", 0, "with -rocketmq, the `PID` of its broker, whose CPU the benchmarks report as RocketMQ's (.ci/rocketmq.state/broker.pid)")
)

// startRocketMQ runs rocketmqtest in a process of its own, holding the
// parent topic; or, with -rocketmq, returns that one.
func startRocketMQ(b *testing.B) *rocketMQ {
	b.Helper()
	if *rocketmqFlag != "" {
		if *rocketmqPIDFlag <= 0 {
			b.Fatal("-rocketmq needs -rocketmq-pid, its broker's PID")
		}
		if _, err := serverproc.ReadCPU(*rocketmqPIDFlag); err != nil {
			b.Fatalf("-rocketmq-pid %d: %v", *rocketmqPIDFlag, err)
		}
		return &rocketMQ{Addr: *rocketmqFlag, pid: *rocketmqPIDFlag}
	}
	addr := freeAddr(b)
	p := startProcess(b, serverproc.Spec{
		Name: "rocketmqtest", Path: serverBinary(b, "internal/cmd/rocketmqtest"), Addr: addr,
		Args: []string{"-listen", addr, "-topics", parentTopic},
	})
	return &rocketMQ{Addr: p.Addr, pid: p.PID()}
}

// startGateway runs the gateway command against a RocketMQ of its own, in
// another process, with its default settings but for letting everyone in.
func startGateway(b *testing.B) *server {
	b.Helper()
	return startGatewayOn(b, startRocketMQ(b))
}

// atOnce is the gateway without a linger (-send-linger 0): every
// device's message goes to RocketMQ as soon as its lane is free, in a
// write of its own at a fleet's pace. BenchmarkFleetCPU runs it beside
// the default gateway, whose messages linger where that pays.
var atOnce = kind{"gateway-at-once", func(b *testing.B) *server {
	return startGatewayWith(b, startRocketMQ(b), "gateway-at-once", "-send-linger", "0")
}}

// lingerFlag is the -send-linger of the gateways the benchmarks start.
var lingerFlag = flag.Duration("gateway-linger", 0, "the -send-linger of every gateway the benchmarks start but server=gateway-at-once's, to measure what a linger of this `length` saves and costs; 0 leaves the gateway's default")

// startGatewayOn starts a gateway on an existing RocketMQ process.
func startGatewayOn(b *testing.B, rmq *rocketMQ) *server {
	return startGatewayWith(b, rmq, "gateway")
}

// startGatewayWith starts a gateway called name on an existing RocketMQ
// process, with the flags extra besides the benchmarks' own.
func startGatewayWith(b *testing.B, rmq *rocketMQ, name string, extra ...string) *server {
	b.Helper()
	addr := freeAddr(b)
	args := []string{
		"-listen", addr, "-namesrv", rmq.Addr, "-topics", parentTopic,
		"-auth", "allow-all", "-instance-id", fmt.Sprintf("bench%d", instanceSeq.Add(1)),
	}
	if *lingerFlag != 0 {
		args = append(args, "-send-linger", lingerFlag.String())
	}
	args = append(args, extra...) // after, to override
	pprof := ""
	if *profileFlag != "" {
		metrics := freeAddr(b)
		args = append(args, "-metrics", metrics, "-pprof")
		pprof = "http://" + metrics + "/debug/pprof/"
	}
	p := startProcess(b, serverproc.Spec{Name: name, Path: serverBinary(b, "examples/gateway"), Addr: addr, Args: args})
	return &server{name: name, addr: addr, proc: p, rocketmq: rmq, goServer: true, pprof: pprof}
}

// floor is the gateway's MQTT core with nothing behind it, acknowledging
// every publish at once (internal/cmd/mqttcore): what the gateway costs
// beyond it is the mapping and RocketMQ. It drops what is published, so
// only the benchmarks that need no delivery set it beside the others.
var floor = kind{"core", startCore}

// startCore runs internal/cmd/mqttcore.
func startCore(b *testing.B) *server { return startListener(b, "core", "internal/cmd/mqttcore") }

// startMochi runs a plain mochi-mqtt broker with its default options.
func startMochi(b *testing.B) *server { return startListener(b, "mochi", "internal/cmd/mochibroker") }

// startListener runs the module's command pkg, one of goServers, whose
// only flag is -listen, as the server called name.
func startListener(b *testing.B, name, pkg string) *server {
	b.Helper()
	addr := freeAddr(b)
	p := startProcess(b, serverproc.Spec{
		Name: name, Path: serverBinary(b, pkg), Addr: addr,
		Args: []string{"-listen", addr},
	})
	return &server{name: name, addr: addr, proc: p, goServer: true}
}

// startMosquitto runs the system's Mosquitto with its default limits.
func startMosquitto(b *testing.B) *server {
	b.Helper()
	bin, err := serverproc.Mosquitto()
	if err != nil {
		missing(b, err)
	}
	addr := freeAddr(b)
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		b.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		b.Fatal(err)
	}
	conf := filepath.Join(b.TempDir(), "mosquitto.conf")
	if err := os.WriteFile(conf, []byte(serverproc.MosquittoConfig(host, n)), 0o600); err != nil {
		b.Fatal(err)
	}
	p := startProcess(b, serverproc.Spec{Name: "mosquitto", Path: bin, Addr: addr, Args: []string{"-c", conf}})
	return &server{name: "mosquitto", addr: addr, proc: p}
}

// dialer returns a load client's dialer for s, spreading connections over
// eight loopback source addresses.
func (s *server) dialer(b *testing.B) *mqttload.Dialer {
	b.Helper()
	src, err := mqttload.LoopbackSources(8)
	if err != nil {
		b.Fatal(err)
	}
	// The write timeout only keeps a benchmark from hanging on a server
	// that stopped reading for good.
	return &mqttload.Dialer{Server: s.addr, Sources: src, Timeout: 30 * time.Second, WriteTimeout: 2 * time.Minute}
}

// cpu returns the CPU time the server process has used, and its
// RocketMQ's (zero for servers without one).
func (s *server) cpu(b *testing.B) (srv, rocketmq time.Duration) {
	b.Helper()
	srv, err := s.proc.CPU()
	if err != nil {
		b.Fatal(err)
	}
	if s.rocketmq != nil {
		if rocketmq, err = s.rocketmq.CPU(); err != nil {
			b.Fatal(err)
		}
	}
	return srv, rocketmq
}

// keepAlive is every load client's keep-alive: longer than any benchmark,
// so that idle connections need no PINGREQ, and accepted by every server
// (Mosquitto refuses 0 from MQTT 3.1.1 clients when max_keepalive is set).
const keepAlive = 600

// connectSubscribers connects n clients named prefix-i, each subscribed
// to filter(i) at qos, 32 at a time.
func connectSubscribers(b *testing.B, d *mqttload.Dialer, from, to int, prefix string, filter func(i int) string, qos mqttload.QoS) []*mqttload.Conn {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	conns, err := mqttload.ConnectMany(ctx, to-from, 32, func(ctx context.Context, i int) (*mqttload.Conn, error) {
		c, err := d.Dial(ctx, mqttload.Connect{ClientID: fmt.Sprintf("%s-%d", prefix, from+i), KeepAlive: keepAlive})
		if err != nil {
			return nil, err
		}
		if err := c.Subscribe(ctx, filter(from+i), qos); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	})
	if err != nil {
		b.Fatalf("connecting %d clients: %v", to-from, err)
	}
	return conns
}

// results collects one figure per server and key across a benchmark's
// sub-benchmarks, and across their runs (-count runs each sub-benchmark
// that many times in a row), for the ratios its last sub-benchmark
// reports.
type results struct {
	mu sync.Mutex
	v  map[string][]float64
}

func (r *results) set(key string, v float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.v == nil {
		r.v = map[string][]float64{}
	}
	r.v[key] = append(r.v[key], v)
}

// mean returns the mean of key's figures, their range, and whether there
// are any; the caller holds mu.
func (r *results) mean(key string) (mean, lo, hi float64, ok bool) {
	vs := r.v[key]
	if len(vs) == 0 {
		return 0, 0, 0, false
	}
	lo, hi = vs[0], vs[0]
	for _, v := range vs {
		mean += v
		lo, hi = min(lo, v), max(hi, v)
	}
	return mean / float64(len(vs)), lo, hi, true
}

// ratio is a figure of one server over another's: unit names it, num
// and den are results keys.
type ratio struct{ unit, num, den string }

// report runs a last sub-benchmark, "ratios", that reports, for each
// ratio whose two figures were measured in this run, the ratio of their
// means over the runs so far, and logs it with each figure's range. It
// skips when none was (a server was missing).
func (r *results) report(b *testing.B, ratios []ratio) {
	b.Run("ratios", func(b *testing.B) {
		r.mu.Lock()
		defer r.mu.Unlock()
		n := 0
		for _, q := range ratios {
			x, xlo, xhi, okx := r.mean(q.num)
			y, ylo, yhi, oky := r.mean(q.den)
			if !okx || !oky || y == 0 {
				continue
			}
			b.ReportMetric(x/y, q.unit)
			if b.N == 1 { // the framework calls again with more iterations: log once
				b.Logf("%s = %.3g: %.4g (%.4g–%.4g, %d runs) / %.4g (%.4g–%.4g, %d runs)",
					q.unit, x/y, x, xlo, xhi, len(r.v[q.num]), y, ylo, yhi, len(r.v[q.den]))
			}
			n++
		}
		if n == 0 {
			b.Skip("no ratio: a server was not measured in this run")
		}
		b.ReportMetric(0, "ns/op")
	})
}
