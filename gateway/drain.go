package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mqttrmq/mqttrmq/internal/broker"
)

// DefaultDrainGrace is how long Drain gives MQTT 3.1.1 clients by default.
const DefaultDrainGrace = 10 * time.Second

// Drain takes the gateway out of service without losing a message, as a
// deploy or a scale-down needs, and then closes it:
//
//  1. it turns unready (Ready returns ErrDraining) and stops accepting
//     connections; a CONNECT already on its way is refused (MQTT 5: with
//     Config.ServerReference, 0x9C or 0x9D and the reference);
//  2. it tells every MQTT 5 client why it is disconnected, in a DISCONNECT
//     with 0x8B (server shutting down), or with 0x9C (use another server)
//     or 0x9D (server moved, Config.ServerMoved) and
//     Config.ServerReference when one is configured, and closes it;
//  3. it closes the MQTT 3.1.1 clients, which cannot be told, one by one
//     and evenly over Config.DrainGrace, so that they reconnect elsewhere
//     gradually rather than all at once; until its turn comes each keeps
//     publishing and receiving, and one that leaves on its own goes
//     sooner;
//  4. it waits for every publish already read to reach RocketMQ or to be
//     given up (its device then got no acknowledgement, and resends it
//     wherever it reconnects): the sender's lanes and retries run dry;
//  5. it closes the gateway (Close).
//
// A QoS 1 or 2 publish is acknowledged only once RocketMQ took it, so a
// device that reconnects elsewhere loses none: what it had no
// acknowledgement for, it sends again (some may then be stored twice).
// ctx bounds steps 3 and 4: when it is done the rest are closed at once,
// what is still on its way is answered as closed, and Drain returns
// ctx's error joined with Close's. A gateway that was never started is
// simply closed.
func (g *Gateway) Drain(ctx context.Context) error {
	if !g.up.Load() || !g.draining.CompareAndSwap(false, true) {
		return g.Close()
	}
	start := time.Now()
	g.net.StopAccepting()
	code := broker.ServerShuttingDown
	if g.cfg.ServerReference != "" {
		code = broker.UseAnotherServer
		if g.cfg.ServerMoved {
			code = broker.ServerMoved
		}
	}
	rest := g.broker.Drain(code, g.cfg.ServerReference)
	g.log.Info("draining", "code", code, "serverReference", g.cfg.ServerReference, "mqtt311", len(rest), "grace", g.cfg.DrainGrace)

	err := g.evict(ctx, rest)
	if err == nil {
		err = g.waitForSends(ctx)
	}
	if err != nil {
		err = fmt.Errorf("gateway: drain: %w", err)
	}
	g.log.Info("drained", "took", time.Since(start).Round(time.Millisecond), "uplinkPending", g.stats.uplinkPending.Load(), "error", err)
	return errors.Join(err, g.Close())
}

// evict closes clients evenly over the drain grace period.
func (g *Gateway) evict(ctx context.Context, clients []*broker.Client) error {
	if len(clients) == 0 {
		return nil
	}
	step := g.cfg.DrainGrace / time.Duration(len(clients))
	t := time.NewTimer(step)
	defer t.Stop()
	for i, c := range clients {
		if c.IsClosed() {
			continue // gone on its own
		}
		select {
		case <-t.C:
			t.Reset(step)
		case <-ctx.Done():
			for _, c := range clients[i:] {
				c.Disconnect(broker.ServerShuttingDown, "drain cut short")
			}
			return ctx.Err()
		}
		c.Disconnect(broker.ServerShuttingDown, "drained")
	}
	return nil
}

// waitForSends waits until no publish is on its way to RocketMQ.
func (g *Gateway) waitForSends(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for g.stats.uplinkPending.Load() > 0 {
		select {
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("%d publishes still on their way to RocketMQ: %w", g.stats.uplinkPending.Load(), ctx.Err())
		}
	}
	return nil
}

// sendStarted and sendEnded bracket a publish on its way to RocketMQ, from
// the moment it joins a lane to the moment it was taken or given up.
func (g *Gateway) sendStarted() { g.stats.uplinkPending.Add(1) }
func (g *Gateway) sendEnded()   { g.stats.uplinkPending.Add(-1) }
