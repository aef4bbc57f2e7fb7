package main

import (
	"fmt"
	"io"
	"sync"
)

// console serialises what every part of the quickstart writes: the
// vehicles' and the backend's callbacks run on their clients' goroutines,
// and the gateway's logs come from its own.
type console struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

// Write writes p whole, or drops it once the console is closed.
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return len(p), nil
	}
	return c.w.Write(p)
}

func (c *console) printf(format string, a ...any) { fmt.Fprintf(c, format, a...) }

// close drops everything written from now on, so that a client goroutine
// finishing late cannot print after the summary line.
func (c *console) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
}
