//go:build race

package transport

import "sync"

// handoff orders a connection's Open, on the accepting goroutine, before
// its Data, on a poller goroutine, and its Closed, on yet another, for the
// race detector. The kernel
// orders them already (the poller learns of the connection through epoll
// after Open returned), but the race detector cannot see through a
// system call; in a race build every Open, Data and Closed passes this lock.
func handoff() {
	handoffMu.Lock()
	handoffMu.Unlock()
}

// handoffHold runs f, which hands a connection to an event loop, under
// the lock, so that the loop's first read waits until f has returned.
func handoffHold(f func()) {
	handoffMu.Lock()
	defer handoffMu.Unlock()
	f()
}

var handoffMu sync.Mutex
