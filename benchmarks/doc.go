// Package benchmarks measures MQTT servers the way a deployment sees them:
// each server in a process of its own, loaded by a client in the benchmark
// process (package internal/mqttload: raw MQTT 3.1.1, no goroutine per idle
// connection, connections spread over the source addresses 127.0.0.2–9),
// and measured from the kernel's figures for the server process alone:
// resident memory from VmRSS in /proc/PID/status, CPU time from utime +
// stime in /proc/PID/stat, goroutines from the stack dump a Go server
// writes on SIGQUIT. The package holds benchmarks only.
//
// Every benchmark runs the gateway beside its baselines in the same run:
//
//   - gateway: the examples/gateway command with its default settings and
//     -auth allow-all, on a RocketMQ in a process of its own (the
//     internal/cmd/rocketmqtest command), so that the gateway's CPU and
//     memory are its own and RocketMQ's are reported apart;
//   - mochi: a plain mochi-mqtt v2.7.9 broker with its default options and
//     a TCP listener (the internal/cmd/mochibroker command), the library the
//     gateway embeds today;
//   - mosquitto: the system's Mosquitto (Debian package mosquitto) with its
//     default limits, anonymous access, no persistence.
//
// BenchmarkFleetCPU also runs a floor, core: the gateway's own MQTT core
// (packages internal/broker and internal/transport, the internal/cmd/mqttcore
// command) with nothing behind it, acknowledging every publish at once, so
// that what the gateway spends beyond its MQTT side — the mapping and
// RocketMQ's round trip — shows apart.
//
// Each benchmark's last sub-benchmark, "ratios", reports the gateway's
// figures over the baselines' measured in the same run (and logs them);
// absolute figures vary with the machine and whatever else runs on it, so
// compare ratios and run a benchmark several times (-count) to see its
// spread. Nothing asserts a time. A sub-benchmark whose server is not
// installed skips, saying what to install, unless MQTTRMQ_REQUIRE_MOSQUITTO
// is set (as CI sets it): then it fails. Linux only (/proc).
//
// # Sizes
//
// By default the benchmarks run at the sizes their figures are quoted at:
// 10,000 and 19,000 idle connections (the open-file limit here is 20,000
// per process; the benchmark raises its own soft limit to the hard one,
// and the servers it starts inherit it), 100 subscribers and a stalled
// one, 1,000 devices for 30 s, 1,000 subscribers of a broadcast, 50
// devices' uplink. At -benchtime 1x (CI runs every benchmark once so that
// none of them rots) or -short they run at smoke sizes instead, a few
// hundred connections and a few seconds each, which check that the
// benchmarks work and measure nothing worth quoting. The benchmarks'
// flag -size=full or -size=smoke, given after the package
// (go test ./benchmarks/ -bench . -size=full), overrides that choice.
//
// # Running them
//
// Each command runs one benchmark at full size, three times, in a few
// minutes; benchstat (golang.org/x/perf/cmd/benchstat) summarises the runs:
//
//	go test -run '^$' -bench IdleConnections -count 3 -timeout 30m ./benchmarks/ | tee idle.txt
//	go test -run '^$' -bench StalledSubscriber -count 3 -timeout 30m ./benchmarks/ | tee stall.txt
//	go test -run '^$' -bench FleetCPU -count 3 -timeout 30m ./benchmarks/ | tee fleet.txt
//	go test -run '^$' -bench Broadcast -count 3 -timeout 30m ./benchmarks/ | tee broadcast.txt
//	go test -run '^$' -bench UplinkRate -count 3 -timeout 30m ./benchmarks/ | tee uplink.txt
//	benchstat idle.txt stall.txt fleet.txt broadcast.txt uplink.txt
//
// and all of them at once:
//
//	go test -run '^$' -bench . -count 3 -timeout 60m ./benchmarks/
//
// With -rocketmq NAMESRV and -rocketmq-pid PID the gateways run against
// an Apache RocketMQ running already, holding the topic bench, rather than
// each against a rocketmqtest of its own, and RocketMQ's CPU is its
// broker's (process PID). The project's script starts one on loopback:
//
//	.ci/rocketmq start bench    # prints NAMESRV=127.0.0.1:PORT last
//	go test -run '^$' -bench 'FleetCPU/server=gateway' -count 1 ./benchmarks/ \
//		-rocketmq 127.0.0.1:PORT -rocketmq-pid "$(cat .ci/rocketmq.state/broker.pid)"
//	.ci/rocketmq stop
//
// What each reports:
//
//   - BenchmarkIdleConnections: KB of resident memory per idle connection
//     (each subscribed to a filter of its own) at 10,000 and at 19,000
//     connections, over the server's idle RSS (idle-MB), and goroutines per
//     connection for the Go servers. Target: ≤ 4 KB per connection.
//   - BenchmarkStalledSubscriber: 100 QoS 1 subscribers' p50 and p99
//     latency, deliveries per second and losses, and a new client's slowest
//     CONNACK, without ("clean") and with ("stalled") a subscriber that
//     reads nothing behind a 4 KiB receive buffer, under 50 publishes a
//     second of 16 KiB. Target: p99-stalled/clean ≤ 2, nothing lost,
//     stalled-connack-ms ≤ 200.
//   - BenchmarkFleetCPU: CPU µs per message with 1,000 devices publishing
//     one QoS 1 message a second, every PUBACK counted (unacked), and the
//     gateway's RocketMQ's apart, and the floor's. Target: ≤ 100 µs of
//     gateway CPU per message, unacked 0.
//   - BenchmarkBroadcast: deliveries per second of 200 messages to 1,000
//     subscribers of one topic, from a rocketmq-client-go backend
//     (source=backend) or a device. Target: the gateway's at least
//     Mosquitto's.
//   - BenchmarkUplinkRate: QoS 1 messages per second from 50 devices with
//     100 publishes in flight each, and CPU µs per message. Compare with
//     gateway's in-process BenchmarkUplink, whose target is ≥ 0.5× a plain
//     mochi broker.
package benchmarks
