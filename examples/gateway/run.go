package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"time"

	"github.com/apache/rocketmq-client-go/v2/rlog"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/gateway"
	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

// startTimeout bounds the gateway's start-up: connecting to RocketMQ and
// starting its clients.
const startTimeout = 30 * time.Second

// run runs the gateway with the command line args until ctx is done, then
// drains it (see gateway.Gateway.Drain), within -drain-timeout. It logs to
// stdout.
func run(ctx context.Context, stdout io.Writer, args []string) error {
	o, err := parseFlags(stdout, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if o.operator.printConfig {
		o.operator.writeConfig(stdout)
		return nil
	}
	if o.verbose {
		rlog.SetLogLevel("warn")
	} else {
		rlog.SetLogLevel("error") // the RocketMQ client's own logger, process-wide
	}
	log := o.operator.logger(stdout, o.verbose)
	o.cfg.Logger = log

	var trial *rocketmqtest.Server
	if o.trial != "" {
		srv, err := startTrialRocketMQ(o.trial, o.cfg.Namespace, slices.Concat(o.cfg.ParentTopics, o.extraTopics()))
		if err != nil {
			return err
		}
		defer srv.Close()
		trial = srv
		o.cfg.NameServer = []string{srv.Addr()}
		if o.cfg.InstanceID == "" {
			o.cfg.InstanceID = "trial"
		}
		log.Warn("RocketMQ runs in process, for trials: messages are kept in memory only", "namesrv", srv.Addr(), "topics", o.cfg.ParentTopics)
	}

	g, err := gateway.New(o.cfg)
	if err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	err = g.Start(startCtx)
	if err == nil && trial != nil {
		// In process, wait until the gateway's consumer pulls every
		// queue: its start-up is over, so stopping it at once cannot race
		// with it.
		err = trial.WaitForConsumers(startCtx, g.ConsumerGroup(), 1)
		if err != nil {
			err = errors.Join(err, g.Close())
		}
	}
	cancel()
	if err != nil {
		return err // Start closed the gateway
	}

	metricsURL := "off"
	var metrics *http.Server
	if o.metrics != "" {
		ln, err := net.Listen("tcp", o.metrics)
		if err != nil {
			return errors.Join(fmt.Errorf("-metrics: %w", err), g.Close())
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", g.MetricsHandler())
		mux.Handle("GET /healthz", g.HealthHandler())
		mux.Handle("GET /readyz", g.ReadyHandler())
		if o.pprof {
			mux.HandleFunc("GET /debug/pprof/", pprof.Index)
			mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
			mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
			mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
			mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
		}
		metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go metrics.Serve(ln)
		metricsURL = "http://" + ln.Addr().String() + "/metrics"
	}
	tokens, tokenURL, err := serveTokenAPI(o, g, log)
	if err != nil {
		if metrics != nil {
			metrics.Close()
		}
		return errors.Join(err, g.Close())
	}
	log.Info("serving", "mqtt", g.Addr(), "listeners", g.Listeners(), "metrics", metricsURL, "tokens", tokenURL, "group", g.ConsumerGroup())

	<-ctx.Done()
	log.Info("stopping", "cause", context.Cause(ctx), "drainTimeout", o.operator.drainTimeout)
	// The metrics listener stays up while the gateway drains, so that
	// /readyz says it is draining and /metrics shows the drain.
	drainCtx, cancel := context.WithTimeout(context.Background(), o.operator.drainTimeout)
	errs := []error{g.Drain(drainCtx)}
	cancel()
	for _, srv := range []*http.Server{metrics, tokens} {
		if srv != nil {
			shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			errs = append(errs, srv.Shutdown(shutdownCtx))
			cancel()
		}
	}
	return errors.Join(errs...)
}

// startTrialRocketMQ starts an in-process RocketMQ holding the topics, in
// namespace when it is not empty.
func startTrialRocketMQ(addr, namespace string, topics []string) (*rocketmqtest.Server, error) {
	srv, err := rocketmqtest.Start(rocketmqtest.WithAddr(addr))
	if err != nil {
		return nil, fmt.Errorf("-rocketmqtest: %w", err)
	}
	for _, t := range topics {
		name, err := mqttrmq.NamespaceTopic(namespace, t) // checked with the flags
		if err == nil {
			err = srv.CreateTopic(name, 4)
		}
		if err != nil {
			srv.Close()
			return nil, fmt.Errorf("-rocketmqtest: %w", err)
		}
	}
	return srv, nil
}
