package transport

import (
	"net"
	"syscall"

	"github.com/lesismal/nbio"
)

// A connection is closed on its poller's goroutine, never on another.
//
// nbio's Close releases the file descriptor at once, from whichever
// goroutine calls it. The poller may then still hold an event it read for
// that descriptor before the close, and meanwhile the accepting goroutine
// may have been given the same descriptor number for a new connection:
// the stale event (a hang-up, say) is then applied to the new connection,
// which closes for no reason of its own. Reconnect storms make that
// likely: every takeover closes the old connection from the goroutine of
// the new one, and the lowest free descriptor goes to the next accepted
// socket. So a close from outside shuts the socket down instead, which
// keeps the descriptor, makes the kernel report a hang-up, and lets the
// poller close it in turn.

// tcpConn is an nbio connection whose Close shuts it down for its poller
// to close.
type tcpConn struct{ *nbio.Conn }

func (c tcpConn) Close() error { return shutdown(c.Conn) }

// shutdown shuts nc's socket down, under its lock so that it cannot be
// closed (and its descriptor given to another connection) meanwhile. A
// connection nbio does not own is closed as usual.
func shutdown(nc net.Conn) error {
	c, ok := nc.(*nbio.Conn)
	if !ok {
		return nc.Close()
	}
	c.Lock()
	defer c.Unlock()
	if closed, _ := c.IsClosed(); closed {
		return nil
	}
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	raw.Control(func(fd uintptr) { serr = syscall.Shutdown(int(fd), syscall.SHUT_RDWR) })
	return serr
}

// closeOnExec marks a connection's descriptor close-on-exec. nbio
// duplicates every accepted socket without the flag, so a process the
// program starts (os/exec) would inherit the socket and keep it open
// after nbio closed it; the epoll registration of a socket still open
// somewhere outlives its descriptor, and its hang-up would then be
// reported, under the same descriptor number, for every later connection
// given that number, closing each at once. A socket nbio does not own is
// left alone: Go sets the flag on its own.
func closeOnExec(nc net.Conn) {
	c, ok := nc.(*nbio.Conn)
	if !ok {
		return
	}
	if raw, err := c.SyscallConn(); err == nil {
		raw.Control(func(fd uintptr) { syscall.CloseOnExec(int(fd)) })
	}
}
