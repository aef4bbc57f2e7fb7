package gateway

import (
	"crypto/rand"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq/internal/remoting"
	"github.com/mqttrmq/mqttrmq/internal/transport"
	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

// TestSenderBatchFits: messages that queued up together are batched only
// while the batch stays within maxBatchBytes, so a big message behind a
// small one does not make a batch RocketMQ refuses whole.
func TestSenderBatchFits(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	if err := s.CreateTopic("vehicles", 1); err != nil {
		t.Fatal(err)
	}
	p := remoting.NewProducer(remoting.ProducerConfig{NameServers: []string{s.Addr()}, Group: "sender-test", Timeout: 30 * time.Second})
	defer p.Close()

	// Queued before the lanes start, so that they are all there for the
	// first batch: a small message, one just under maxBatchBytes, and one
	// that together with them is over RocketMQ's 4 MB limit.
	snd := newSender(p, 30*time.Second, 0)
	sizes := []int{100, maxBatchBytes - 200, 3<<20 + 512<<10}
	reports := make(chan error, len(sizes))
	for _, n := range sizes {
		body := make([]byte, n)
		rand.Read(body)
		m := primitive.NewMessage("vehicles", body)
		snd.sendAndForget("GID_car@@@v1", m, nil, nil, nil, func(err error) { reports <- err })
	}
	snd.start()
	defer snd.close()
	for range sizes {
		if err := <-reports; err != nil {
			t.Errorf("send: %v", err)
		}
	}
	if got := len(s.Messages("vehicles")); got != len(sizes) {
		t.Errorf("RocketMQ holds %d messages; want %d", got, len(sizes))
	}
}

// recordingHolder records the holds and releases of a client's
// acknowledgements, and the reports between them.
type recordingHolder struct {
	name string
	log  *[]string
}

func (h recordingHolder) HoldAcks()    { *h.log = append(*h.log, "hold "+h.name) }
func (h recordingHolder) ReleaseAcks() { *h.log = append(*h.log, "release "+h.name) }

// TestReportAllHoldsAcks: the answers to a batch are given with each
// client's acknowledgements held, once a client, so that a client with
// several publishes in the batch gets their acknowledgements in one write.
func TestReportAllHoldsAcks(t *testing.T) {
	var log []string
	a, b := recordingHolder{"a", &log}, recordingHolder{"b", &log}
	req := func(h ackHolder, name string) *sendRequest {
		return &sendRequest{acks: h, report: func(error) { log = append(log, "report "+name) }}
	}
	reportAll([]*sendRequest{req(a, "a1"), req(b, "b1"), req(a, "a2"), req(nil, "presence")}, nil)
	want := []string{"hold a", "hold b", "report a1", "report b1", "report a2", "report presence", "release a", "release b"}
	if !slices.Equal(log, want) {
		t.Errorf("reportAll did %q; want %q", log, want)
	}
	log = nil
	reportAll([]*sendRequest{req(a, "alone")}, nil)
	if want := []string{"report alone"}; !slices.Equal(log, want) {
		t.Errorf("reportAll of one did %q; want %q", log, want)
	}
}

// TestSenderStoredBeforeCopies: stored hears that RocketMQ took a message
// before its routed copies are sent, so that what must hold before anyone
// has a copy (a retained will kept here) holds; report hears after them.
func TestSenderStoredBeforeCopies(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	for _, topic := range []string{"vehicles", "copies"} {
		if err := s.CreateTopic(topic, 1); err != nil {
			t.Fatal(err)
		}
	}
	p := remoting.NewProducer(remoting.ProducerConfig{NameServers: []string{s.Addr()}, Group: "sender-test", Timeout: 30 * time.Second})
	defer p.Close()
	snd := newSender(p, 30*time.Second, 0).start()
	defer snd.close()
	var atStored, atReport [2]int
	done := make(chan error, 1)
	held := func() [2]int { return [2]int{len(s.Messages("vehicles")), len(s.Messages("copies"))} }
	snd.sendAndForget("GID_car@@@v1", primitive.NewMessage("vehicles", []byte("will")),
		[]*primitive.Message{primitive.NewMessage("copies", []byte("will"))}, nil,
		func() { atStored = held() },
		func(err error) { atReport = held(); done <- err })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if atStored != [2]int{1, 0} || atReport != [2]int{1, 1} {
		t.Errorf("RocketMQ held (message, copy) %v when stored was called and %v at report; want [1 0] and [1 1]", atStored, atReport)
	}
}

// nobody is a transport handler with no clients to serve: the server is
// there for its event loops.
type nobody struct{}

func (nobody) Open(c transport.Conn, _ transport.Kind) transport.Session { c.Close(); return nobody{} }
func (nobody) Data([]byte) error                                         { return nil }
func (nobody) Closed(error)                                              {}

// producerOnLoops returns a RocketMQ with the topic vehicles, a queue a
// lane, and a producer sending to it within timeout, with event loops to
// send on attached as the gateway attaches them; both end with t.
func producerOnLoops(t *testing.T, timeout time.Duration) (*rocketmqtest.Server, *remoting.Producer) {
	t.Helper()
	s := rocketmqtest.NewServer(t)
	if err := s.CreateTopic("vehicles", numLanes); err != nil {
		t.Fatal(err)
	}
	ts, err := transport.Listen(transport.Config{TCP: "127.0.0.1:0"}, nobody{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })
	loops := new(mqttLoops)
	loops.net.Store(ts)
	p := remoting.NewProducer(remoting.ProducerConfig{NameServers: []string{s.Addr()}, Group: "sender-test", Retries: 2, Timeout: timeout, Loops: loops})
	t.Cleanup(p.Close)
	return s, p
}

// awaitReports waits for n sends' reports, each within 30 s, and fails
// the test on any that is an error.
func awaitReports(t *testing.T, reports <-chan error, n int) {
	t.Helper()
	for range n {
		select {
		case err := <-reports:
			if err != nil {
				t.Errorf("send: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("a send was not reported")
		}
	}
}

// TestSenderOnLoops: once a lane has sent to its broker, its batches go
// out on the event loops; each client's messages keep their order in
// RocketMQ, each is reported once, and nothing is lost or stored twice;
// a refused attempt is retried by the lane's goroutine, which hands the
// lane back to the loops; a sender closed with a send in flight answers
// it before close returns. All of it with a linger, too.
func TestSenderOnLoops(t *testing.T) {
	for _, linger := range []time.Duration{0, 5 * time.Millisecond} {
		t.Run(fmt.Sprintf("linger=%v", linger), func(t *testing.T) { testSenderOnLoops(t, linger) })
	}
}

func testSenderOnLoops(t *testing.T, linger time.Duration) {
	s, p := producerOnLoops(t, 2*time.Second)
	snd := lingerAlways(newSender(p, 2*time.Second, linger)).start()
	closed := false
	defer func() {
		if !closed {
			snd.close()
		}
	}()

	clients := []string{"GID_car@@@a", "GID_car@@@b", "GID_car@@@c"}
	const each = 300
	reports := make(chan error, len(clients)*each+10)
	report := func(err error) { reports <- err }
	wait := func(n int) { t.Helper(); awaitReports(t, reports, n) }
	for _, c := range clients { // the first sends open the lanes' connections
		snd.sendAndForget(c, primitive.NewMessage("vehicles", []byte(c+" warm")), nil, nil, nil, report)
	}
	wait(len(clients))
	for i := range each {
		for _, c := range clients {
			snd.sendAndForget(c, primitive.NewMessage("vehicles", fmt.Appendf(nil, "%s %d", c, i)), nil, nil, nil, report)
		}
	}
	wait(len(clients) * each)
	if snd.onLoops.Load() == 0 {
		t.Error("no batch went out on the event loops")
	}

	s.RefuseSends(1)
	snd.sendAndForget(clients[0], primitive.NewMessage("vehicles", []byte(clients[0]+" refused once")), nil, nil, nil, report)
	wait(1)
	before := snd.onLoops.Load()
	snd.sendAndForget(clients[0], primitive.NewMessage("vehicles", []byte(clients[0]+" after")), nil, nil, nil, report)
	wait(1)
	if snd.onLoops.Load() == before {
		t.Error("the lane did not go back to the event loops after a retry")
	}

	got := map[string][]string{}
	for _, m := range s.Messages("vehicles") {
		c, body, _ := strings.Cut(string(m.Body), " ")
		got[c] = append(got[c], body)
	}
	for _, c := range clients {
		want := []string{"warm"}
		for i := range each {
			want = append(want, fmt.Sprint(i))
		}
		if c == clients[0] {
			want = append(want, "refused once", "after")
		}
		if !slices.Equal(got[c], want) {
			t.Errorf("RocketMQ holds for %s, in store order, %d messages %.80q…; want %d in the order sent", c, len(got[c]), got[c], len(want))
		}
	}

	s.Pause(time.Minute)
	defer s.Resume()
	snd.sendAndForget(clients[1], primitive.NewMessage("vehicles", []byte("in flight")), nil, nil, nil, report)
	time.Sleep(50 * time.Millisecond)
	snd.close()
	closed = true
	select {
	case <-reports: // RocketMQ did not answer: an error, or stored when it resumed
	default:
		t.Error("close returned before the send in flight was answered")
	}
}

// TestSenderLingerOnClose: what lingers when the sender closes is sent
// then, not dropped or left waiting for its linger: close returns with
// every lane's message stored and its client told so, well within a
// linger of a second.
func TestSenderLingerOnClose(t *testing.T) {
	s, p := producerOnLoops(t, 10*time.Second)
	snd := lingerAlways(newSender(p, 10*time.Second, maxSendLinger)).start()
	var clients []string
	for i := 0; len(clients) < numLanes; i++ { // a client on every lane
		c := fmt.Sprintf("GID_car@@@%d", i)
		if !slices.ContainsFunc(clients, func(o string) bool { return laneOf(o) == laneOf(c) }) {
			clients = append(clients, c)
		}
	}
	reports := make(chan error, len(clients))
	report := func(err error) { reports <- err }
	// The first sends, a linger later, open the connection the loops
	// read; the next go out on it.
	for _, c := range clients {
		snd.sendAndForget(c, primitive.NewMessage("vehicles", []byte(c+" first")), nil, nil, nil, report)
	}
	for range clients {
		if err := <-reports; err != nil {
			t.Fatalf("a first send: %v", err)
		}
	}
	for _, c := range clients {
		snd.sendAndForget(c, primitive.NewMessage("vehicles", []byte(c)), nil, nil, nil, report)
	}
	snd.close()
	for range clients {
		select {
		case err := <-reports:
			if err != nil {
				t.Errorf("a lingering send: %v; want stored", err)
			}
		default:
			t.Fatal("close returned before a lingering send was answered")
		}
	}
	if got := len(s.Messages("vehicles")); got != 2*len(clients) {
		t.Errorf("RocketMQ holds %d messages; want %d", got, 2*len(clients))
	}
}

// TestSenderLingerEnds: a message that comes within lingerSlack of a
// linger's end sends what lingers, itself with it, from where it was
// queued, and stops the linger's timer; a timer that fires before the
// linger under way is over arms itself for the rest, and sends nothing
// early. With a linger of a second, so that the timer fires only when
// the test has it fire.
func TestSenderLingerEnds(t *testing.T) {
	s, p := producerOnLoops(t, 10*time.Second)
	snd := lingerAlways(newSender(p, 10*time.Second, maxSendLinger)).start()
	defer snd.close()
	a, b := "GID_car@@@a", ""
	for i := 0; b == ""; i++ {
		if c := fmt.Sprintf("GID_car@@@%d", i); laneOf(c) != laneOf(a) {
			b = c
		}
	}
	reports := make(chan error, 4)
	report := func(err error) { reports <- err }
	wait := func(n int) { t.Helper(); awaitReports(t, reports, n) }
	// nearlyOver puts the linger under way within its slack of its end.
	nearlyOver := func() {
		snd.lingerUntil.Store(snd.clock() + int64(snd.lingerSlack()/2))
	}

	snd.sendAndForget(a, primitive.NewMessage("vehicles", []byte("a 1")), nil, nil, nil, report)
	nearlyOver()
	snd.sendAndForget(b, primitive.NewMessage("vehicles", []byte("b 1")), nil, nil, nil, report)
	wait(2)
	snd.lingerMu.Lock()
	armed := snd.armed
	snd.lingerMu.Unlock()
	if armed || snd.timer.Stop() {
		t.Error("the linger's timer is still armed after a message ended the linger")
	}
	if got := snd.loopEnded.Load(); got != 1 {
		t.Errorf("%d lingers ended where a message was queued; want 1", got)
	}

	// The timer fires early, as one armed for an earlier linger does.
	snd.sendAndForget(a, primitive.NewMessage("vehicles", []byte("a 2")), nil, nil, nil, report)
	snd.lingerMu.Lock()
	snd.timer.Reset(time.Millisecond)
	snd.lingerMu.Unlock()
	for snd.timerFired.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	snd.lingerMu.Lock()
	armed = snd.armed
	snd.lingerMu.Unlock()
	if !armed {
		t.Error("a timer that fired before its linger's end did not arm itself for the rest")
	}
	select {
	case err := <-reports:
		t.Errorf("a message was sent (%v) when the timer fired with its linger not over", err)
	default:
	}
	nearlyOver()
	snd.sendAndForget(b, primitive.NewMessage("vehicles", []byte("b 2")), nil, nil, nil, report)
	wait(2)
	if got := snd.loopEnded.Load(); got != 2 {
		t.Errorf("%d lingers ended where a message was queued; want 2", got)
	}
	var bodies []string
	for _, m := range s.Messages("vehicles") {
		bodies = append(bodies, string(m.Body))
	}
	slices.Sort(bodies)
	if want := []string{"a 1", "a 2", "b 1", "b 2"}; !slices.Equal(bodies, want) {
		t.Errorf("RocketMQ holds %q; want %q", bodies, want)
	}
}

// lingerAlways has snd's lingers pay at any pace (lingerPace), for the
// tests of what a linger does: the window the pace is counted over never
// ends, and the last one's pace was ten million messages a second.
func lingerAlways(snd *sender) *sender {
	snd.pace.windowStart.Store(math.MaxInt64)
	snd.pace.lastRate.Store(1000 * 1_000_000) // thousandths of a message a paceWindow
	return snd
}

// TestSenderLingerAlone: a client whose every message waits for the one
// before, alone on the sender at a pace that would pay, lingers paceRun
// times, each linger sending only its own message, and then no more: its
// next messages go at once (lingerPace).
func TestSenderLingerAlone(t *testing.T) {
	_, p := producerOnLoops(t, 10*time.Second)
	snd := lingerAlways(newSender(p, 10*time.Second, 2*time.Millisecond)).start()
	defer snd.close()
	reports := make(chan error, 1)
	report := func(err error) { reports <- err }
	sent := 0
	send := func() {
		t.Helper()
		snd.sendAndForget("GID_car@@@alone", primitive.NewMessage("vehicles", fmt.Append(nil, sent)), nil, nil, nil, report)
		sent++
		if err := <-reports; err != nil {
			t.Fatalf("send %d: %v", sent, err)
		}
	}
	for snd.lingers.Load() < paceRun {
		if sent > 2*paceRun {
			t.Fatalf("%d lingers in %d sends, one after the other; want one a send", snd.lingers.Load(), sent)
		}
		send()
	}
	for range 2 * paceRun {
		send()
	}
	// One more linger, at most: the next message may be queued before
	// the last linger is counted.
	if got := snd.lingers.Load(); got > paceRun+1 {
		t.Errorf("%d lingers in %d sends; want lingers to stop after %d that each sent one message", got, sent, paceRun)
	}
	if n, m := snd.lingers.Load(), snd.lingered.Load(); m != n {
		t.Errorf("%d lingers sent %d messages; want one each", n, m)
	}
}
