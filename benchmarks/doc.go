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
// Each benchmark's last sub-benchmark, "ratios", reports the gateway's
// figures over the baselines' measured in the same run (and logs them);
// absolute figures vary with the machine and whatever else runs on it, so
// compare ratios and run a benchmark several times (-count) to see its
// spread. Nothing asserts a time. A sub-benchmark whose server is not
// installed skips, saying what to install, unless MQTTRMQ_REQUIRE_MOSQUITTO
// is set (as CI sets it): then it fails. Linux only (/proc).
//
// # Running them
//
//	go test -run '^$' -bench IdleConnections -count 3 -timeout 30m ./benchmarks/
package benchmarks
