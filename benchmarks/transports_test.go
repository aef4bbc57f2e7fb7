package benchmarks

import (
	"crypto/tls"
	"fmt"
	"testing"

	"github.com/mqttrmq/mqttrmq/internal/mqttload"
	"github.com/mqttrmq/mqttrmq/internal/serverproc"
	"github.com/mqttrmq/mqttrmq/internal/testenv"
)

// transports are the ways a client reaches the gateway, each with the
// flags that open its listener and what the load client needs to speak it.
var transports = []struct {
	name      string
	flag      string // the gateway's listener flag
	tls       bool
	websocket bool
}{
	{"tcp", "-listen", false, false},
	{"tls", "-listen-tls", true, false},
	{"ws", "-listen-ws", false, true},
	{"wss", "-listen-wss", true, true},
}

// BenchmarkIdleTransports measures what an idle connection costs the
// gateway on each transport: TCP, TLS, WebSocket on /mqtt and secure
// WebSocket, 10,000 clients each (at full size) subscribed to a filter of
// their own, as BenchmarkIdleConnections connects them, over a RocketMQ in
// a process of its own. It reports the gateway's resident memory per
// connection over its idle figure, in KB, and each transport's over TCP's.
// TLS is TLS 1.3 with an ECDSA P-256 certificate, as Go's client and
// server agree on it by default.
//
//	go test -run '^$' -bench IdleTransports -count 3 ./benchmarks/
func BenchmarkIdleTransports(b *testing.B) {
	var r results
	ca := testenv.NewCA(b)
	for _, tr := range transports {
		b.Run("transport="+tr.name, func(b *testing.B) {
			sz := prepare(b)
			n := sz.idleConns[0]
			for range b.N {
				rmq := startRocketMQ(b)
				addr := freeAddr(b)
				args := []string{
					"-namesrv", rmq.Addr, "-topics", parentTopic, "-auth", "allow-all",
					"-instance-id", fmt.Sprintf("bench%d", instanceSeq.Add(1)),
					"-tls-cert", ca.CertFile, "-tls-key", ca.KeyFile,
				}
				if tr.flag != "-listen" {
					args = append(args, "-listen", freeAddr(b)) // the TCP listener is always on
				}
				args = append(args, tr.flag, addr)
				p := startProcess(b, serverproc.Spec{Name: "gateway", Path: serverBinary(b, "examples/gateway"), Addr: addr, Args: args})
				s := &server{name: "gateway", addr: addr, proc: p, rocketmq: rmq, goServer: true}
				base := settledRSS(b, sz, p)
				d := s.dialer(b)
				if tr.tls {
					d.TLS = &tls.Config{RootCAs: ca.Pool, ServerName: "127.0.0.1"}
				}
				if tr.websocket {
					d.WebSocket = "/mqtt"
				}
				conns := connectSubscribers(b, d, 0, n, "bench-"+tr.name, func(i int) string { return fmt.Sprintf("%s/idle/%d/cmd", parentTopic, i) }, mqttload.AtLeastOnce)
				for _, c := range conns {
					c.Idle()
				}
				rss := settledRSS(b, sz, p)
				checkHolding(b, s, n)
				kb := float64(rss-base) / 1024 / float64(n)
				b.ReportMetric(kb, fmt.Sprintf("KB/conn@%d", n))
				r.set(tr.name, kb)
				mqttload.CloseAll(conns)
			}
			b.ReportMetric(0, "ns/op")
		})
	}
	r.report(b, []ratio{{"tls/tcp-KB", "tls", "tcp"}, {"ws/tcp-KB", "ws", "tcp"}, {"wss/tcp-KB", "wss", "tcp"}})
}
