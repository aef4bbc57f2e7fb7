package remoting_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq/internal/realrocketmq"
	"github.com/mqttrmq/mqttrmq/internal/remoting"
	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

// TestProducer: a message alone and a batch, each to the queue picked,
// read back with their bodies, flags and properties and a UNIQ_KEY each;
// a topic the name server does not know yet created by its first
// message; on rocketmqtest and on a real broker.
func TestProducer(t *testing.T) {
	t.Run("rocketmqtest", func(t *testing.T) {
		s := rocketmqtest.NewServer(t)
		if err := s.CreateTopic("remoting_send", 2); err != nil {
			t.Fatal(err)
		}
		produce(t, s.Addr(), "remoting_send_new")
	})
	t.Run("rocketmq", func(t *testing.T) {
		b := realrocketmq.Connect(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.ResetTopic(ctx, "remoting_send", 2); err != nil {
			t.Fatal(err)
		}
		produce(t, b.NameServer, fmt.Sprintf("remoting_send_%d", time.Now().UnixNano()))
	})
}

func produce(t *testing.T, namesrv, newTopic string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := remoting.NewProducer(remoting.ProducerConfig{NameServers: []string{namesrv}, Group: "remoting-send-test", Retries: 2})
	defer p.Close()
	l := p.NewLane()
	defer l.Close()

	alone := primitive.NewMessage("remoting_send", []byte("alone\x00\xff"))
	alone.WithProperty("mqttSecondTopic", "/a/b")
	alone.WithTag("t1")
	alone.Flag = 3
	res, err := l.Send(ctx, 1, alone)
	if err != nil {
		t.Fatal(err)
	}
	if res.Queue != 1 {
		t.Errorf("a message for queue 1 went to %+v", res)
	}
	var batch []*primitive.Message
	for i := range 3 {
		m := primitive.NewMessage("remoting_send", fmt.Appendf(nil, "batch %d", i))
		m.WithProperty("n", fmt.Sprint(i))
		batch = append(batch, m)
	}
	// Pick 2 of 2 queues: queue 0.
	if res, err := l.Send(ctx, 2, batch...); err != nil || res.Queue != 0 {
		t.Fatalf("batch: %+v, %v", res, err)
	}

	ns := remoting.NewConn(namesrv, primitive.Credentials{})
	defer ns.Close()
	route, err := remoting.GetRoute(ctx, ns, "remoting_send")
	if err != nil {
		t.Fatal(err)
	}
	var br *remoting.Conn
	for _, a := range route.Brokers {
		br = remoting.NewConn(a, primitive.Credentials{})
	}
	defer br.Close()
	pull := func(topic string, queue, want int) []*primitive.MessageExt {
		t.Helper()
		return pullUntil(ctx, t, br, "remoting-send-test", topic, queue, 0, want).Messages
	}
	got := pull("remoting_send", 1, 1)
	if len(got) != 1 || string(got[0].Body) != "alone\x00\xff" || got[0].Flag != 3 ||
		got[0].GetProperty("mqttSecondTopic") != "/a/b" || got[0].GetTags() != "t1" {
		t.Fatalf("queue 1 holds %v", got)
	}
	ids := map[string]bool{got[0].GetProperty(primitive.PropertyUniqueClientMessageIdKeyIndex): true}
	got = pull("remoting_send", 0, 3)
	if len(got) != 3 {
		t.Fatalf("queue 0 holds %d messages; want the batch's 3", len(got))
	}
	for i, m := range got {
		if string(m.Body) != fmt.Sprintf("batch %d", i) || m.GetProperty("n") != fmt.Sprint(i) {
			t.Errorf("batch message %d: %q %v", i, m.Body, m.GetProperties())
		}
		ids[m.GetProperty(primitive.PropertyUniqueClientMessageIdKeyIndex)] = true
	}
	if delete(ids, ""); len(ids) != 4 {
		t.Errorf("UNIQ_KEYs %v; want 4 different", ids)
	}

	// A topic nobody created: sent by the default topic's route, created
	// by the broker as it stores the message.
	if _, err := l.Send(ctx, 0, primitive.NewMessage(newTopic, []byte("first"))); err != nil {
		t.Fatalf("send to a new topic: %v", err)
	}
	if got := pull(newTopic, 0, 1); len(got) != 1 || string(got[0].Body) != "first" {
		t.Errorf("the new topic holds %v", got)
	}
}

// TestProducerFaults: a lost connection and a refusal RocketMQ's clients
// retry on are tried again; a refusal they do not retry on is the
// *remoting.Error of the send; a paused broker fails the send when its
// context ends.
func TestProducerFaults(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	if err := s.CreateTopic("remoting_faults", 1); err != nil {
		t.Fatal(err)
	}
	p := remoting.NewProducer(remoting.ProducerConfig{NameServers: []string{s.Addr()}, Group: "remoting-faults", Retries: 2})
	defer p.Close()
	l := p.NewLane()
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	send := func(ctx context.Context, body string) error {
		_, err := l.Send(ctx, 0, primitive.NewMessage("remoting_faults", []byte(body)))
		return err
	}
	if err := send(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	if res, err := l.Send(ctx, -3, primitive.NewMessage("remoting_faults", []byte("negative pick"))); err != nil || res.Queue != 0 {
		t.Errorf("a negative pick: %+v, %v; want queue 0", res, err)
	}
	if s.DropConnections() == 0 {
		t.Fatal("no connection to drop")
	}
	if err := send(ctx, "2"); err != nil {
		t.Errorf("send after the connection was lost: %v", err)
	}
	s.RefuseSends(2)
	if err := send(ctx, "3"); err != nil {
		t.Errorf("send after 2 refusals with 2 retries: %v", err)
	}
	s.RefuseSendsWith(1, rocketmqtest.CodeSystemBusy)
	var re *remoting.Error
	if err := send(ctx, "refused"); !errors.As(err, &re) || re.Status != int(rocketmqtest.CodeSystemBusy) {
		t.Errorf("send refused as busy: %v; want a *remoting.Error with status %d", err, rocketmqtest.CodeSystemBusy)
	}
	s.Pause(time.Minute)
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	err := send(short, "paused")
	cancelShort()
	s.Resume()
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("send to a paused broker: %v; want a deadline error", err)
	}
	if err := send(ctx, "4"); err != nil {
		t.Errorf("send after the pause: %v", err)
	}

	// A producer that has no route yet, its Timeout the only bound, and a
	// name server that does not answer: the send fails, it does not hang.
	fresh := remoting.NewProducer(remoting.ProducerConfig{NameServers: []string{s.Addr()}, Group: "remoting-faults", Timeout: 300 * time.Millisecond})
	defer fresh.Close()
	fl := fresh.NewLane()
	defer fl.Close()
	s.Pause(time.Minute)
	_, err = fl.Send(context.Background(), 0, primitive.NewMessage("remoting_faults", []byte("no route")))
	s.Resume()
	if err == nil {
		t.Error("a send with no name server answering succeeded")
	}
	var bodies []string
	for _, m := range s.Messages("remoting_faults") {
		bodies = append(bodies, string(m.Body))
	}
	// "paused" may be stored: the broker read it before it stopped answering.
	want := map[string]bool{"1": true, "negative pick": true, "2": true, "3": true, "4": true, "paused": false}
	for _, b := range bodies {
		if _, ok := want[b]; !ok {
			t.Errorf("RocketMQ holds %q", b)
		}
		want[b] = false
	}
	for b, missing := range want {
		if missing {
			t.Errorf("RocketMQ lost %q (holds %q)", b, bodies)
		}
	}
}
