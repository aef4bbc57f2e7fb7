package main

import (
	"context"
	"net"
	"regexp"
	"testing"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"

	"github.com/mqttrmq/mqttrmq"
)

// responder is an MQTT 5 device on paho.golang that answers every request
// it gets on the request's response topic: first with the wrong
// correlation data, then with the request's.
func (e env) responder(t *testing.T, id string) chan *paho5.Publish {
	t.Helper()
	conn, err := net.DialTimeout("tcp", e.gw.Addr(), deadline)
	if err != nil {
		t.Fatal(err)
	}
	requests := make(chan *paho5.Publish, 10)
	seen := make(chan *paho5.Publish, 10)
	c := paho5.NewClient(paho5.ClientConfig{Conn: conn, PacketTimeout: deadline, OnClientError: func(error) {},
		OnPublishReceived: []func(paho5.PublishReceived) (bool, error){func(pr paho5.PublishReceived) (bool, error) {
			requests <- pr.Packet
			return true, nil
		}}})
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if _, err := c.Connect(ctx, &paho5.Connect{ClientID: id, CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case p := <-requests:
				seen <- p
				if p.Properties == nil || p.Properties.ResponseTopic == "" {
					continue
				}
				for _, cd := range [][]byte{[]byte("someone else's"), p.Properties.CorrelationData} {
					ctx, cancel := context.WithTimeout(context.Background(), deadline)
					_, err := c.Publish(ctx, &paho5.Publish{Topic: p.Properties.ResponseTopic, QoS: 1, Payload: append([]byte("parked: "), p.Payload...),
						Properties: &paho5.PublishProperties{CorrelationData: cd}})
					cancel()
					if err != nil {
						t.Errorf("answer: %v", err)
					}
				}
			case <-c.Done():
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = c.Disconnect(&paho5.Disconnect{})
		<-done
		conn.Close()
	})
	return seen
}

// TestRequest: -request sends a device a command with a response topic and
// correlation data; the device, on MQTT 5, answers on the response topic;
// the answer comes back through the gateway and RocketMQ, and the backend
// knows it by its correlation data, ignoring another answer on the same
// topic. In both dialects.
func TestRequest(t *testing.T) {
	for _, d := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
		t.Run(d.String(), func(t *testing.T) {
			e := start(t, d)
			seen := e.responder(t, "GID_vehicle@@@car1")
			out := e.backend(t, "-dialect", d.String(), "-request", "GID_vehicle@@@car1", "-msg", "status?", "-expiry", "30s", "-wait", "20s")

			var req *paho5.Publish
			select {
			case req = <-seen:
			case <-time.After(deadline):
				t.Fatal("the device got no request")
			}
			if req.Topic != "vehicles/p2p/GID_vehicle@@@car1" || string(req.Payload) != "status?" || req.Properties == nil ||
				req.Properties.MessageExpiry == nil || *req.Properties.MessageExpiry == 0 || *req.Properties.MessageExpiry > 30 {
				t.Errorf("the device got %s %q with %+v; want the request, expiring within 30 s", req.Topic, req.Payload, req.Properties)
			}
			rt := regexp.QuoteMeta(req.Properties.ResponseTopic)
			wants := []*regexp.Regexp{
				regexp.MustCompile(`→ request to GID_vehicle@@@car1: status\? \(msgId \w+\)\n`),
				regexp.MustCompile(`← ` + rt + ` from GID_vehicle@@@car1: parked: status\?, not the answer \(correlation 736f6d656f6e6520656c73652773\)\n`),
				regexp.MustCompile(`← answer from GID_vehicle@@@car1 on ` + rt + `: parked: status\? \(correlation [0-9a-f]{24}\)\n$`),
			}
			if d.Is(mqttrmq.AlibabaCloud) {
				wants = append(wants, regexp.MustCompile(`mqttSecondTopic=/p2p/GID_vehicle@@@car1 qoslevel=1 mqtt5MsgExpireInterval=30 mqtt5ResponseTopic=vehicles/replies/be-\d+-\d+ mqtt5CorrelationData=\S+\n`))
			} else {
				wants = append(wants, regexp.MustCompile(`extData=\{"qosLevel":"1","mqtt5MsgExpireInterval":"30","mqtt5ResponseTopic":"vehicles/replies/be-\d+-\d+","mqtt5CorrelationData":"\S+"\}`))
			}
			for _, want := range wants {
				if !want.MatchString(out) {
					t.Errorf("output does not match %v:\n%s", want, out)
				}
			}
		})
	}
}

// TestRequestUnanswered: a request nobody answers fails the run once -wait
// passes.
func TestRequestUnanswered(t *testing.T) {
	e := start(t, nil)
	err := run(context.Background(), &discard{}, []string{"-namesrv", e.srv.Addr(), "-topic", "vehicles", "-instance", uniq("be"),
		"-request", "GID_vehicle@@@nobody", "-msg", "status?", "-wait", "1s"})
	if want := regexp.MustCompile(`^no answer from GID_vehicle@@@nobody on vehicles/replies/be-\d+-\d+ within -wait 1s$`); err == nil || !want.MatchString(err.Error()) {
		t.Errorf("run = %v; want %v", err, want)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
