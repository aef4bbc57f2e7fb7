package transport

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/lesismal/nbio"
)

// An nbio engine must not be stopped before each of its pollers has
// entered its loop. nbio v1.6.8's pollers clear their shutdown flag as
// they enter it (poller_epoll.go: readWriteLoop and acceptorLoop set
// p.shutdown = false), Engine.Start launches them without waiting, and
// Engine.Stop stops each by setting that flag and waking it. A poller
// that enters its loop after that clears the flag and never ends: an
// event loop spins on the wake-up it never reads, an acceptor on the
// closed listener, and Stop waits for them forever. A server closed while
// it starts, or right after, on a loaded machine (clients dialling it as
// it comes up are enough) met that.
//
// So startEngine returns only once every poller has shown it runs its
// loop: an acceptor by calling the listener's Accept, an event loop by
// reading a probe made for it. A probe is one end of a socket pair whose
// other end sent a byte and hung up; nbio hands a connection to poller
// fd % NPoller, so probes are made until each poller has one (the probes
// that would land on a poller already probed are kept open meanwhile, so
// that the next descriptor differs). Once a poller has read its probe it
// closes it, as any connection that hung up; no Handler hears of probes.

// engineSeq numbers the engines of the process, which nbio's logs name.
var engineSeq atomic.Uint64

// engineName returns a name no other engine of this process has.
func engineName(kind string) string {
	return fmt.Sprintf("mqtt-%s-%d", kind, engineSeq.Add(1))
}

// errProbes is why startEngine gave up: it could not probe every poller.
var errProbes = errors.New("transport: could not reach every event loop of a new engine")

// loopProbe is the Session, in nbio's sense, of a probe connection.
type loopProbe struct {
	read func() // called once, by the poller, as it reads the probe
	once sync.Once
}

// isProbe reports whether c is a probe: the transports' OnOpen and
// OnClose leave probes alone.
func isProbe(c *nbio.Conn) bool {
	_, ok := c.Session().(*loopProbe)
	return ok
}

// probeRead reports whether c is a probe, noting that its poller read it:
// the transports' data callbacks call it on a connection that is not
// theirs.
func probeRead(c *nbio.Conn) bool {
	p, ok := c.Session().(*loopProbe)
	if ok {
		handoff()
		p.once.Do(p.read)
	}
	return ok
}

// startEngine calls start, which starts e, then waits until every
// listener of e's (lns, nbio's acceptors) has called Accept and every one
// of e's event loops has read a probe.
func startEngine(e *nbio.Engine, start func() error, lns ...*backoffListener) error {
	if err := start(); err != nil {
		return err
	}
	for _, ln := range lns {
		<-ln.accepting
	}
	return probeLoops(e)
}

// probeLoops sends each event loop of e a probe and waits until each has
// read its own.
func probeLoops(e *nbio.Engine) error {
	n := e.NPoller
	has := make([]bool, n)
	var spacers []*nbio.Conn
	defer func() {
		for _, c := range spacers {
			c.Close() // on no poller: closed here
		}
	}()
	var wg sync.WaitGroup
	left := n
	for tries := 0; left > 0; tries++ {
		if tries >= 8*n+64 {
			return fmt.Errorf("%w: %d of %d event loops not probed after %d tries", errProbes, left, n, tries)
		}
		c, err := newProbe()
		if err != nil {
			return fmt.Errorf("%w: %w", errProbes, err)
		}
		loop := c.Hash() % n
		if has[loop] {
			spacers = append(spacers, c)
			continue
		}
		has[loop], left = true, left-1
		wg.Add(1)
		c.SetSession(&loopProbe{read: wg.Done})
		c.OnData(func(c *nbio.Conn, _ []byte) { probeRead(c) }) // what nbhttp's engine calls
		handoffHold(func() { _, err = e.AddConn(c) })
		if err != nil {
			return fmt.Errorf("%w: %w", errProbes, err)
		}
	}
	wg.Wait()
	return nil
}

// newProbe makes a connection with one byte to read, then the end of the
// stream: one end of a socket pair, the other written to and closed.
func newProbe() (*nbio.Conn, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket pair: %w", err)
	}
	_, werr := syscall.Write(fds[1], []byte{0})
	syscall.Close(fds[1])
	f := os.NewFile(uintptr(fds[0]), "event loop probe")
	nc, err := net.FileConn(f)
	f.Close()
	if werr != nil || err != nil {
		if nc != nil {
			nc.Close()
		}
		return nil, fmt.Errorf("socket pair: %w", errors.Join(werr, err))
	}
	c, err := nbio.NBConn(nc) // a duplicate of nc's descriptor; nc is closed
	if err != nil {
		nc.Close()
		return nil, err
	}
	closeOnExec(c)
	return c, nil
}
