package remoting_test

import (
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq/internal/remoting"
	"github.com/mqttrmq/mqttrmq/internal/transport"
	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

// nobody is a transport handler with no clients to serve: the server is
// there for its event loops.
type nobody struct{}

func (nobody) Open(c transport.Conn, _ transport.Kind) transport.Session { c.Close(); return nobody{} }
func (nobody) Data([]byte) error                                         { return nil }
func (nobody) Closed(error)                                              {}

// serverLoops attaches to a transport server's raw MQTT loops.
type serverLoops struct{ s *transport.Server }

func (l serverLoops) Attach(nc net.Conn, s remoting.Session) (io.WriteCloser, error) {
	return l.s.Attach(nc, s)
}

// outcome is what a SendAsync's done heard.
type outcome struct {
	res remoting.SendResult
	err error
}

// producerOnLoops starts a fake broker serving topic, in two queues, and
// a producer of group, its attempts given timeout, whose answers are read
// by the event loops of a transport server of its own; all of them close
// with the test, the producer first.
func producerOnLoops(t *testing.T, topic, group string, timeout time.Duration) (*rocketmqtest.Server, *remoting.Producer) {
	t.Helper()
	s := rocketmqtest.NewServer(t)
	if err := s.CreateTopic(topic, 2); err != nil {
		t.Fatal(err)
	}
	ts, err := transport.Listen(transport.Config{TCP: "127.0.0.1:0"}, nobody{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })
	p := remoting.NewProducer(remoting.ProducerConfig{NameServers: []string{s.Addr()}, Group: group, Retries: 2, Timeout: timeout, Loops: serverLoops{ts}})
	t.Cleanup(func() { p.Close() })
	return s, p
}

// TestSendAsync: a lane sends without waiting once a Send opened its
// connection on the event loops; each outcome is heard once — stored,
// refused (a *Error), or to be tried again (ErrRetry: a refusal RocketMQ's
// clients retry on, no answer within the Timeout, a connection lost or
// closed); after a failure the lane falls back to Send, which opens a new
// connection; nothing is stored twice or lost.
func TestSendAsync(t *testing.T) {
	s, p := producerOnLoops(t, "remoting_async", "remoting-async", 500*time.Millisecond)
	l := p.NewAsyncLane()
	defer l.Close()

	heard := make(chan outcome, 10)
	done := func(res remoting.SendResult, err error) { heard <- outcome{res, err} }
	msg := func(body string) *primitive.Message { return primitive.NewMessage("remoting_async", []byte(body)) }
	// heardOnce returns the outcome of the send started, heard once.
	heardOnce := func(what string) outcome {
		t.Helper()
		select {
		case o := <-heard:
			select {
			case again := <-heard:
				t.Fatalf("%s: done called twice: %+v, then %+v", what, o, again)
			case <-time.After(50 * time.Millisecond):
			}
			return o
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: no outcome", what)
		}
		return outcome{}
	}
	async := func(what string, pick int, msgs ...*primitive.Message) outcome {
		t.Helper()
		if !l.SendAsync(pick, msgs, done) {
			t.Fatalf("%s: SendAsync did not start", what)
		}
		return heardOnce(what)
	}
	sendSync := func(body string) {
		t.Helper()
		if _, err := l.Send(t.Context(), 1, msg(body)); err != nil {
			t.Fatalf("Send %q: %v", body, err)
		}
	}

	if l.SendAsync(1, []*primitive.Message{msg("before any Send")}, done) {
		t.Fatal("SendAsync started with no connection on the loops")
	}
	sendSync("1")
	if o := async("a message", 1, msg("2")); o.err != nil || o.res.Queue != 1 {
		t.Errorf("a message for queue 1: %+v; want stored in queue 1", o)
	}
	if o := async("a batch", 3, msg("3a"), msg("3b"), msg("3c")); o.err != nil || o.res.Queue != 1 {
		t.Errorf("a batch for queue 3 of 2: %+v; want stored in queue 1", o)
	}
	if l.SendAsync(1, nil, done) || l.SendAsync(1, []*primitive.Message{msg("x"), primitive.NewMessage("other", nil)}, done) {
		t.Error("SendAsync started with no message, or with two topics")
	}

	s.RefuseSendsWith(1, rocketmqtest.CodeSystemBusy)
	var re *remoting.Error
	if o := async("refused as busy", 1, msg("busy")); !errors.As(o.err, &re) || re.Status != int(rocketmqtest.CodeSystemBusy) || errors.Is(o.err, remoting.ErrRetry) {
		t.Errorf("refused as busy: %v; want a *remoting.Error with status %d, not to retry", o.err, rocketmqtest.CodeSystemBusy)
	}
	s.RefuseSends(1)
	if o := async("refused as unavailable", 1, msg("unavailable")); !errors.As(o.err, &re) || !errors.Is(o.err, remoting.ErrRetry) {
		t.Errorf("refused as unavailable: %v; want a *remoting.Error to retry", o.err)
	}
	sendSync("4") // the refusal's retry, as a caller does it
	if o := async("after refusals", 1, msg("5")); o.err != nil {
		t.Errorf("after refusals: %v", o.err)
	}

	s.Pause(time.Minute)
	o := async("to a paused broker", 1, msg("paused"))
	s.Resume()
	if !errors.Is(o.err, remoting.ErrRetry) || !errors.Is(o.err, os.ErrDeadlineExceeded) {
		t.Errorf("to a paused broker: %v; want ErrRetry for want of an answer within the Timeout", o.err)
	}
	if l.SendAsync(1, []*primitive.Message{msg("6")}, done) {
		t.Error("SendAsync started on the connection it gave up on")
	}
	sendSync("6")
	if o := async("after the pause", 1, msg("7")); o.err != nil {
		t.Errorf("after the pause: %v", o.err)
	}

	s.Pause(time.Minute)
	if !l.SendAsync(1, []*primitive.Message{msg("dropped")}, done) {
		t.Fatal("SendAsync did not start")
	}
	time.Sleep(50 * time.Millisecond) // read by the broker, not answered
	s.DropConnections()
	s.Resume()
	if o := heardOnce("on a connection lost"); !errors.Is(o.err, remoting.ErrRetry) {
		t.Errorf("on a connection lost: %v; want ErrRetry", o.err)
	}
	sendSync("8")

	s.Pause(time.Minute)
	if !l.SendAsync(1, []*primitive.Message{msg("closed")}, done) {
		t.Fatal("SendAsync did not start")
	}
	l.Close()
	s.Resume()
	if o := heardOnce("on a lane closed"); !errors.Is(o.err, remoting.ErrRetry) {
		t.Errorf("on a lane closed: %v; want ErrRetry", o.err)
	}

	// A lane of NewLane, and a producer without loops, never start one.
	plain := p.NewLane()
	defer plain.Close()
	noLoops := remoting.NewProducer(remoting.ProducerConfig{NameServers: []string{s.Addr()}, Group: "remoting-async"})
	defer noLoops.Close()
	nl := noLoops.NewAsyncLane()
	defer nl.Close()
	for _, ln := range []*remoting.Lane{plain, nl} {
		if _, err := ln.Send(t.Context(), 1, msg("9")); err != nil {
			t.Fatal(err)
		}
		if ln.SendAsync(1, []*primitive.Message{msg("x")}, done) {
			t.Error("SendAsync started on a lane without event loops")
		}
	}

	var bodies []string
	for _, m := range s.Messages("remoting_async") {
		bodies = append(bodies, string(m.Body))
	}
	slices.Sort(bodies)
	// What a paused broker read may be stored: the retries' callers
	// cannot tell, and resend it.
	bodies = slices.DeleteFunc(bodies, func(b string) bool { return b == "paused" || b == "dropped" || b == "closed" })
	want := []string{"1", "2", "3a", "3b", "3c", "4", "5", "6", "7", "8", "9", "9"}
	if !slices.Equal(bodies, want) {
		t.Errorf("RocketMQ holds %q; want %q", bodies, want)
	}
}

// TestCork: the lanes of one producer share its connection to a broker;
// what they send while it is corked is written at the last Uncork, and
// not before; each send hears its own answer; a lane closed fails its own
// send in flight and no other.
func TestCork(t *testing.T) {
	s, p := producerOnLoops(t, "remoting_cork", "remoting-cork", 10*time.Second)
	a, b := p.NewAsyncLane(), p.NewAsyncLane()
	defer a.Close()
	defer b.Close()
	msg := func(body string) *primitive.Message { return primitive.NewMessage("remoting_cork", []byte(body)) }
	// Only a's Send opens the connection; b sends on it.
	if _, err := a.Send(t.Context(), 0, msg("opened")); err != nil {
		t.Fatal(err)
	}
	heardA, heardB := make(chan outcome, 2), make(chan outcome, 2)
	doneA := func(res remoting.SendResult, err error) { heardA <- outcome{res, err} }
	doneB := func(res remoting.SendResult, err error) { heardB <- outcome{res, err} }
	wait := func(what string, heard chan outcome) outcome {
		t.Helper()
		select {
		case o := <-heard:
			return o
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: no outcome", what)
		}
		return outcome{}
	}

	p.Cork()
	p.Cork()
	if !a.SendAsync(0, []*primitive.Message{msg("a1")}, doneA) || !b.SendAsync(1, []*primitive.Message{msg("b1"), msg("b2")}, doneB) {
		t.Fatal("SendAsync did not start on the shared connection")
	}
	p.Uncork()
	time.Sleep(100 * time.Millisecond) // time for a write to reach the broker, had there been one
	if n := len(s.Messages("remoting_cork")); n != 1 {
		t.Errorf("RocketMQ holds %d messages with the producer still corked; want 1, the Send's", n)
	}
	p.Uncork()
	if o := wait("a, corked", heardA); o.err != nil || o.res.Queue != 0 {
		t.Errorf("a's corked send: %+v; want stored in queue 0", o)
	}
	if o := wait("b, corked", heardB); o.err != nil || o.res.Queue != 1 {
		t.Errorf("b's corked batch: %+v; want stored in queue 1", o)
	}

	// An Uncork with no Cork to undo changes nothing: the next Cork
	// holds requests back as before.
	p.Uncork()
	p.Cork()
	if !a.SendAsync(0, []*primitive.Message{msg("held")}, doneA) {
		t.Fatal("SendAsync did not start")
	}
	time.Sleep(100 * time.Millisecond) // time for a write to reach the broker, had there been one
	if n := len(s.Messages("remoting_cork")); n != 4 {
		t.Errorf("RocketMQ holds %d messages with the producer corked after an unmatched Uncork; want 4, those before", n)
	}
	p.Uncork()
	if o := wait("a, corked after an unmatched Uncork", heardA); o.err != nil {
		t.Errorf("a's send corked after an unmatched Uncork: %v; want stored", o.err)
	}

	s.Pause(time.Minute)
	if !a.SendAsync(0, []*primitive.Message{msg("a2")}, doneA) || !b.SendAsync(1, []*primitive.Message{msg("b3")}, doneB) {
		t.Fatal("SendAsync did not start")
	}
	a.Close()
	if o := wait("a, closed", heardA); !errors.Is(o.err, remoting.ErrRetry) {
		t.Errorf("a's send with a closed: %v; want ErrRetry", o.err)
	}
	select {
	case o := <-heardB:
		t.Errorf("b's send heard %+v when a closed; want nothing yet", o)
	case <-time.After(50 * time.Millisecond):
	}
	s.Resume()
	if o := wait("b, after a closed", heardB); o.err != nil {
		t.Errorf("b's send after a closed: %v; want stored", o.err)
	}

	var bodies []string
	for _, m := range s.Messages("remoting_cork") {
		bodies = append(bodies, string(m.Body))
	}
	slices.Sort(bodies)
	// a2 was read by the paused broker: it may be stored, and its
	// caller, told to try again, cannot tell.
	bodies = slices.DeleteFunc(bodies, func(b string) bool { return b == "a2" })
	if want := []string{"a1", "b1", "b2", "b3", "held", "opened"}; !slices.Equal(bodies, want) {
		t.Errorf("RocketMQ holds %q; want %q", bodies, want)
	}
}
