package rocketmqtest

import (
	"strconv"
	"sync"
	"time"
)

// Fault injection, for testing what a client does when the broker
// misbehaves: refused sends, a broker that stops answering, lost
// connections.

type faults struct {
	mu          sync.Mutex
	refuseCount int
	refuseCode  ResponseCode
	// paused is non-nil while the server is paused; it is closed on resume.
	paused      chan struct{}
	resumeTimer *time.Timer
	stopped     bool
}

// RefuseSends makes the broker refuse the next n send requests (SEND_MESSAGE,
// SEND_MESSAGE_V2, SEND_BATCH_MESSAGE) with SERVICE_NOT_AVAILABLE, a code
// rocketmq-client-go's producer retries on: with its default three retries
// (producer.WithRetry), RefuseSends(3) delays a SendSync and RefuseSends(4)
// fails it. Refused sends store nothing. A later call replaces the count;
// n <= 0 cancels.
func (s *Server) RefuseSends(n int) {
	s.RefuseSendsWith(n, CodeServiceNotAvailable)
}

// RefuseSendsWith is RefuseSends with the response code to refuse with. The
// producer retries on SYSTEM_ERROR, SERVICE_NOT_AVAILABLE, NO_PERMISSION
// and TOPIC_NOT_EXIST; any other code (SYSTEM_BUSY, say) fails the send at
// once. It rejects nothing: a CodeSuccess refusal answers success without
// storing, the way a lost store would look to the client.
func (s *Server) RefuseSendsWith(n int, code ResponseCode) {
	s.faults.mu.Lock()
	s.faults.refuseCount = max(n, 0)
	s.faults.refuseCode = code
	s.faults.mu.Unlock()
	s.log.Info("rocketmqtest: refusing sends", "count", n, "code", code.String())
}

// takeRefusal consumes one refusal, if any are left.
func (f *faults) takeRefusal() (ResponseCode, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuseCount <= 0 {
		return 0, false
	}
	f.refuseCount--
	return f.refuseCode, true
}

// Pause makes the server stop answering for d: requests are read but not
// processed, and nothing is written, so clients see timeouts. When the pause
// ends the server processes what it read, in order, and answers — late
// answers the client has already given up on, just as a stalled broker
// would give. A later call replaces the pause; d <= 0 resumes at once.
func (s *Server) Pause(d time.Duration) {
	f := &s.faults
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return
	}
	if f.resumeTimer != nil {
		f.resumeTimer.Stop()
		f.resumeTimer = nil
	}
	if d <= 0 {
		f.resumeLocked()
		return
	}
	if f.paused == nil {
		f.paused = make(chan struct{})
	}
	ch := f.paused
	f.resumeTimer = time.AfterFunc(d, func() {
		f.mu.Lock()
		if f.paused == ch {
			f.resumeLocked()
		}
		f.mu.Unlock()
	})
	s.log.Info("rocketmqtest: paused", "for", d.String())
}

// Resume ends a pause early.
func (s *Server) Resume() { s.Pause(0) }

func (f *faults) resumeLocked() {
	if f.paused != nil {
		close(f.paused)
		f.paused = nil
	}
}

// waitUnpaused blocks while the server is paused. It returns false if done
// is closed first.
func (f *faults) waitUnpaused(done <-chan struct{}) bool {
	for {
		f.mu.Lock()
		p := f.paused
		f.mu.Unlock()
		if p == nil {
			return true
		}
		select {
		case <-p:
		case <-done:
			return false
		}
	}
}

func (f *faults) isPaused() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.paused != nil
}

// stop ends any pause for good; Close calls it.
func (f *faults) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = true
	if f.resumeTimer != nil {
		f.resumeTimer.Stop()
		f.resumeTimer = nil
	}
	f.resumeLocked()
}

// DropConnections closes every client connection at once, as a broker
// restart or a network fault would. Clients reconnect on their next
// request; consumers on the dropped connections leave their groups until
// their next heartbeat. It returns the number of connections closed.
func (s *Server) DropConnections() int {
	s.connMu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.connMu.Unlock()
	for _, c := range conns {
		c.close()
	}
	s.log.Info("rocketmqtest: dropped connections", "count", strconv.Itoa(len(conns)))
	return len(conns)
}
