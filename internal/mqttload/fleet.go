package mqttload

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
)

// ConnectMany calls connect for every i in [0, n), parallel at a time,
// and returns the connections in order of i. On the first error it stops,
// closes every connection already made and returns that error; ctx bounds
// the whole. It refuses n < 0 and parallel < 1.
func ConnectMany(ctx context.Context, n, parallel int, connect func(ctx context.Context, i int) (*Conn, error)) ([]*Conn, error) {
	if n < 0 || parallel < 1 {
		return nil, fmt.Errorf("mqttload: ConnectMany(%d, %d): want n ≥ 0 and parallel ≥ 1", n, parallel)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	conns := make([]*Conn, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(parallel, max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := connect(ctx, i)
				if err != nil {
					cancel(fmt.Errorf("connection %d: %w", i, err))
					continue
				}
				conns[i] = c
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		CloseAll(conns)
		return nil, err
	}
	return conns, nil
}

// CloseAll closes every non-nil connection, without DISCONNECT, and
// returns the errors other than "already closed".
func CloseAll(conns []*Conn) error {
	var errs []error
	for _, c := range conns {
		if c == nil {
			continue
		}
		if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
