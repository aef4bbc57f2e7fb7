package conformance

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"sync"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"
	paho3 "github.com/eclipse/paho.mqtt.golang"
)

// The server as devices and applications see it through the clients they
// use: paho.mqtt.golang for MQTT 3.1.1 devices, paho.golang for MQTT 5.0
// applications. The statements are the same as the packet-level cases';
// what these add is that the clients' own handling of sessions, acks and
// properties works with the server.
func deviceCases() []testCase {
	return []testCase{
		only311("devices", refs("MQTT-3.1.2-4", "MQTT-3.1.2-5", "MQTT-4.4.0-1"),
			"a paho device with clean session 0 gets the QoS 1 and 2 messages sent while it was away", deviceOfflineMessages),
		only311("devices", refs("MQTT-4.6.0-6", "MQTT-4.3.2-1", "MQTT-4.3.3-1"),
			"a paho device's pipelined QoS 1 and 2 publishes reach a paho subscriber in order", devicePipelinedOrder),
		only311("devices", refs("MQTT-3.1.2-8", "MQTT-3.1.2-17"),
			"a paho device whose network fails leaves its will, retained", deviceWill),
		only311("devices", refs("MQTT-3.3.1-6", "MQTT-3.3.1-8", "MQTT-3.3.1-10"),
			"a paho device's retained state reaches later paho subscribers until it is cleared", deviceRetained),
		only5("devices", refs("MQTT-3.3.2-17", "MQTT-3.3.2-18", "MQTT-3.3.2-20", "MQTT-3.3.2-6"),
			"paho.golang applications exchange user properties, content type and expiry unaltered", appProperties),
		only5("devices", refs("§4.8.2", "MQTT-4.8.2-3"),
			"paho.golang workers on a shared subscription split the messages between them", appSharedWorkers),
	}
}

// droppable gives a paho device a network connection the case can break,
// as a failing network would.
type droppable struct {
	mu   sync.Mutex
	conn net.Conn
}

func (d *droppable) open(uri *url.URL, _ paho3.ClientOptions) (net.Conn, error) {
	nc, err := net.DialTimeout("tcp", uri.Host, deadline)
	d.mu.Lock()
	d.conn = nc
	d.mu.Unlock()
	return nc, err
}

func (d *droppable) drop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn != nil {
		d.conn.Close()
	}
}

// deviceOfflineMessages: a paho device with clean session 0 resumes its
// session [MQTT-3.1.2-4], gets what was stored while it was away
// [MQTT-3.1.2-5, MQTT-4.4.0-1].
func deviceOfflineMessages(c *C) {
	id := c.newID()
	persist := func(o *paho3.ClientOptions) { o.SetCleanSession(false) }
	d := c.device(id, persist)
	d.mustSubscribe(c.topic("cmd"), 2)
	d.Disconnect(250)
	backend := c.device(c.newID())
	for i, qos := range []byte{1, 2, 1} {
		backend.publish(c.topic("cmd"), qos, false, fmt.Sprintf("cmd %d", i))
	}
	back := c.device(id, persist)
	got := map[string]byte{}
	for range 3 {
		m := back.next()
		got[m.Payload] = m.QoS
	}
	for i, qos := range []byte{1, 2, 1} {
		if q, ok := got[fmt.Sprintf("cmd %d", i)]; !ok || q != qos {
			c.Errorf("cmd %d: delivered %v at QoS %d; want QoS %d (got %v)", i, ok, q, qos, got)
		}
	}
}

// devicePipelinedOrder: a device keeping many publishes in flight still
// has them delivered in the order sent, per QoS [MQTT-4.6.0-6]; each is
// acknowledged [MQTT-4.3.2-1, MQTT-4.3.3-1]. The subscriber holds its
// acknowledgements until the device's publishes are all acknowledged, so
// that the server has more for it than its in-flight window allows, and
// must keep the rest until the window opens [MQTT-4.5.0-1]; without the
// hold, whether the window fills is up to the machine's timing.
func devicePipelinedOrder(c *C) {
	const n = 100
	held := make(chan struct{})
	got := make(chan message, n)
	sub := c.device(c.newID(), func(o *paho3.ClientOptions) {
		o.SetDefaultPublishHandler(func(_ paho3.Client, m paho3.Message) {
			<-held // paho acknowledges once the handler returns
			got <- message{Topic: m.Topic(), QoS: m.Qos(), Retained: m.Retained(), Payload: string(m.Payload())}
		})
	})
	sub.mustSubscribe(c.topic("telemetry"), 2)
	dev := c.device(c.newID())
	var toks []paho3.Token
	for i := range n {
		qos := byte(1 + i%2)
		toks = append(toks, dev.Publish(c.topic("telemetry"), qos, false, fmt.Sprintf("%d/%d", qos, i)))
	}
	for i, tok := range toks {
		if !tok.WaitTimeout(deadline) || tok.Error() != nil {
			close(held)
			c.Fatalf("publish %d: %v", i, tok.Error())
		}
	}
	close(held)
	last := map[byte]int{1: -1, 2: -1}
	arrived := map[int]bool{}
	for k := range n {
		var m message
		select {
		case m = <-got:
		case <-time.After(deadline):
			var missing []int
			for i := range n {
				if !arrived[i] {
					missing = append(missing, i)
				}
			}
			c.Fatalf("%d of %d acknowledged messages arrived; missing %v", k, n, missing)
		}
		var qos byte
		var i int
		if _, err := fmt.Sscanf(m.Payload, "%d/%d", &qos, &i); err != nil || qos != m.QoS {
			c.Fatalf("got %+v", m)
		}
		arrived[i] = true
		if i <= last[qos] {
			c.Errorf("QoS %d message %d arrived after %d", qos, i, last[qos])
		}
		last[qos] = i
	}
}

// deviceWill: a device whose connection fails leaves its will
// [MQTT-3.1.2-8], retained when asked [MQTT-3.1.2-17].
func deviceWill(c *C) {
	watcher := c.device(c.newID())
	watcher.mustSubscribe(c.topic("status"), 1)
	var link droppable
	c.device(c.newID(), func(o *paho3.ClientOptions) {
		o.SetWill(c.topic("status"), "offline", 1, true).SetCustomOpenConnectionFn(link.open)
	})
	link.drop()
	if m := watcher.next(); m.Payload != "offline" || m.Topic != c.topic("status") {
		c.Errorf("got %+v; want the will", m)
	}
	late := c.device(c.newID())
	late.mustSubscribe(c.topic("status"), 1)
	if m := late.next(); m.Payload != "offline" || !m.Retained {
		c.Errorf("a later subscriber got %+v; want the will, retained", m)
	}
}

// deviceRetained: a retained message goes to every new subscription
// [MQTT-3.3.1-6], marked retained [MQTT-3.3.1-8], until an empty retained
// message clears it [MQTT-3.3.1-10].
func deviceRetained(c *C) {
	dev := c.device(c.newID())
	dev.publish(c.topic("state"), 1, true, "on")
	first := c.device(c.newID())
	first.mustSubscribe(c.topic("state"), 1)
	if m := first.next(); m.Payload != "on" || !m.Retained {
		c.Errorf("got %+v; want the retained state", m)
	}
	dev.publish(c.topic("state"), 1, true, "")
	if m := first.next(); m.Payload != "" {
		c.Errorf("got %+v; want the empty message that clears the state", m)
	}
	later := c.device(c.newID())
	later.mustSubscribe(c.topic("state"), 1)
	later.none(quiet, "the retained state was cleared")
}

// appProperties: MQTT 5 applications on paho.golang get user properties
// unaltered and in order [MQTT-3.3.2-17, MQTT-3.3.2-18], the content type
// [MQTT-3.3.2-20] and the remaining expiry [MQTT-3.3.2-6].
func appProperties(c *C) {
	rx := c.app(&paho5.Connect{ClientID: c.newID(), CleanStart: true})
	rx.mustSubscribe(c.topic("events"), 1)
	tx := c.app(&paho5.Connect{ClientID: c.newID(), CleanStart: true})
	expiry := uint32(120)
	user := paho5.UserProperties{{Key: "tenant", Value: "a"}, {Key: "trace", Value: "1"}, {Key: "tenant", Value: "b"}}
	if code := tx.publish(&paho5.Publish{Topic: c.topic("events"), QoS: 1, Payload: []byte(`{"t":21.5}`),
		Properties: &paho5.PublishProperties{ContentType: "application/json", MessageExpiry: &expiry, User: user}}); code >= 0x80 {
		c.Fatalf("publish answered %s", hex(code))
	}
	m := rx.next()
	p := m.Properties
	if p == nil {
		c.Fatalf("the message arrived without properties")
	}
	if p.ContentType != "application/json" || !slices.Equal(p.User, user) {
		c.Errorf("arrived with content type %q and user properties %v; want application/json and %v", p.ContentType, p.User, user)
	}
	switch {
	case p.MessageExpiry == nil:
		c.Errorf("arrived without a Message Expiry Interval; want 1 to %d", expiry)
	case *p.MessageExpiry == 0 || *p.MessageExpiry > expiry:
		c.Errorf("arrived with Message Expiry Interval %d; want 1 to %d", *p.MessageExpiry, expiry)
	}
}

// appSharedWorkers: workers sharing a subscription each get a part of the
// messages and together all of them, once (§4.8.2), at their granted QoS
// [MQTT-4.8.2-3].
func appSharedWorkers(c *C) {
	const n = 30
	filter := "$share/" + c.slug + "workers/" + c.topic("jobs")
	var workers []*app
	for range 3 {
		w := c.app(&paho5.Connect{ClientID: c.newID(), CleanStart: true})
		w.mustSubscribe(filter, 1)
		workers = append(workers, w)
	}
	tx := c.app(&paho5.Connect{ClientID: c.newID(), CleanStart: true})
	for i := range n {
		tx.publish(&paho5.Publish{Topic: c.topic("jobs"), QoS: 1, Payload: fmt.Appendf(nil, "job %02d", i)})
	}
	seen := map[string]int{}
	end := time.Now().Add(deadline)
	for len(seen) < n && time.Now().Before(end) {
		for _, w := range workers {
			select {
			case m := <-w.got:
				seen[string(m.Payload)]++
				if m.QoS != 1 {
					c.Errorf("%s arrived at QoS %d; want 1", m.Payload, m.QoS)
				}
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	if len(seen) != n {
		c.Fatalf("%d of %d jobs arrived within %v", len(seen), n, deadline)
	}
	for job, times := range seen {
		if times != 1 {
			c.Errorf("%s reached %d workers; want one", job, times)
		}
	}
	for _, w := range workers {
		select {
		case m := <-w.got:
			c.Errorf("%s arrived again", m.Payload)
		case <-time.After(quiet / 3):
		}
	}
}
