package gateway_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/gateway"
	"github.com/mqttrmq/mqttrmq/internal/broker"
	"github.com/mqttrmq/mqttrmq/internal/packet"
)

const permissionFile = `# What each kind of client may do.
# effect  action     subject            filter
allow     publish    group:GID_car      vehicles/+/status
allow     subscribe  group:GID_car      vehicles/cmd/#
allow     all        key:LTAI5tAdmin    #
deny      subscribe  *                  vehicles/cmd/secret/#
deny	publish	key:LTAI5tAdmin	vehicles/cmd/secret/x
`

func mustPermissions(t testing.TB, text string) *gateway.Permissions {
	t.Helper()
	p, err := gateway.ParsePermissions(strings.NewReader(text), "test")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPermissionsDecide: deny wins, and what no rule allows is denied;
// a subscription is allowed when an allow rule covers it and no deny rule
// can match what it matches.
func TestPermissionsDecide(t *testing.T) {
	p := mustPermissions(t, permissionFile)
	if p.Len() != 5 {
		t.Errorf("Len = %d; want 5", p.Len())
	}
	for _, c := range []struct {
		key, group, topic string
		want              bool
	}{
		{"LTAI5tCar", "GID_car", "vehicles/v1/status", true},
		{"LTAI5tCar", "GID_car", "vehicles/v1/status/extra", false}, // + is one level
		{"LTAI5tCar", "GID_car", "vehicles/v1/location", false},     // no rule allows it
		{"LTAI5tCar", "GID_bus", "vehicles/v1/status", false},       // another group
		{"", "", "vehicles/v1/status", false},                       // no subject at all
		{"LTAI5tAdmin", "", "chat/room", true},
		{"LTAI5tAdmin", "GID_car", "vehicles/cmd/secret/x", false}, // the key's deny wins over its allow
		{"LTAI5tAdmin", "", "$SYS/x", false},                       // # matches no $ topic
	} {
		if got := p.Publish(c.key, c.group, c.topic); got != c.want {
			t.Errorf("Publish(%q, %q, %q) = %v; want %v", c.key, c.group, c.topic, got, c.want)
		}
	}
	for _, c := range []struct {
		key, group, filter string
		want               bool
	}{
		{"", "GID_car", "vehicles/cmd/v1", true},
		{"", "GID_car", "vehicles/cmd/+", false},          // matches vehicles/cmd/secret, which vehicles/cmd/secret/# matches
		{"", "GID_car", "vehicles/cmd", true},             // vehicles/cmd/# covers its parent level
		{"", "GID_car", "vehicles/cmd/#", false},          // could match vehicles/cmd/secret/...
		{"", "GID_car", "vehicles/cmd/secret/a", false},   // denied to everyone
		{"", "GID_car", "vehicles/+/v1", false},           // reaches beyond vehicles/cmd
		{"", "GID_car", "$share/g/vehicles/cmd/v1", true}, // judged by its filter
		{"", "GID_car", "$share/g/vehicles/cmd/#", false}, // and refused by it
		{"LTAI5tAdmin", "", "vehicles/#", false},          // overlaps the deny for everyone
		{"LTAI5tAdmin", "", "vehicles/cmd/secret", false}, // vehicles/cmd/secret/# matches its parent level
		{"LTAI5tAdmin", "", "vehicles/cmd/public", true},
		{"LTAI5tAdmin", "", "+/status", true},
		{"LTAI5tAdmin", "", "vehicles/cmd/+/x", false}, // matches vehicles/cmd/secret/x
	} {
		if got := p.Subscribe(c.key, c.group, c.filter); got != c.want {
			t.Errorf("Subscribe(%q, %q, %q) = %v; want %v", c.key, c.group, c.filter, got, c.want)
		}
	}
	var none *gateway.Permissions
	if !none.Publish("", "", "a") || !none.Subscribe("", "", "#") || none.Len() != 0 {
		t.Errorf("a nil table refuses")
	}
}

// TestParsePermissionsRefused: every bad line is refused at start, naming
// its line.
func TestParsePermissionsRefused(t *testing.T) {
	for _, c := range []struct{ line, reason string }{
		{"allow publish group:GID_car vehicles/#/x", "filter"},
		{"allow publish group:GID_car vehicles/a+", "filter"},
		{"allow publish group:GID_car vehicles/\x01", "filter"},
		{"allow subscribe * $share/g/vehicles/#", "shared subscription"},
		{"allow publish group:GID_car", "4 fields"},
		{"allow publish group:GID_car vehicles/# extra", "4 fields"},
		{"permit publish * #", "effect"},
		{"allow write * #", "action"},
		{"allow publish GID_car #", "subject"},
		{"allow publish group:car #", "Group ID"},
		{"allow publish key: #", "AccessKey ID"},
		{"allow publish key:a|b #", "AccessKey ID"},
	} {
		text := "# a comment\n\nallow publish * chat/#\n" + c.line + "\n"
		_, err := gateway.ParsePermissions(strings.NewReader(text), "perms.txt")
		if !errors.Is(err, gateway.ErrConfig) || !strings.Contains(err.Error(), "perms.txt line 4") || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("ParsePermissions(%q) = %v; want ErrConfig naming line 4 and %q", c.line, err, c.reason)
		}
	}
	if _, err := gateway.ParsePermissions(strings.NewReader("# nothing\n"), "empty"); !errors.Is(err, gateway.ErrConfig) {
		t.Errorf("ParsePermissions(no rules) = %v; want ErrConfig", err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "perms.txt")
	os.WriteFile(file, []byte(permissionFile), 0o600)
	if p, err := gateway.LoadPermissions(file); err != nil || p.Len() != 5 {
		t.Errorf("LoadPermissions = %v, %v", p, err)
	}
	if _, err := gateway.LoadPermissions(filepath.Join(dir, "missing")); !errors.Is(err, gateway.ErrConfig) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadPermissions(missing) = %v; want ErrConfig wrapping ErrNotExist", err)
	}
}

// TestPermissions: the table, end to end: paho devices signed in with
// their AccessKeys publish and subscribe, a rocketmq-client-go backend
// reads what got through and sends commands; a refused subscription gets
// 0x80, a refused publish is acknowledged (MQTT 3.1.1) but never reaches
// RocketMQ; a refused will neither; an MQTT 5 client hears 0x87 for both.
func TestPermissions(t *testing.T) {
	onBoth(t, permissions)
}

func permissions(t *testing.T, s rocketMQ) {
	keys := map[string]string{"LTAI5tCar": "car-secret", "LTAI5tAdmin": "admin-secret"}
	g := startGateway(t, s, func(c *gateway.Config) {
		c.Auth = gateway.Signature{Secrets: keys}
		c.Permissions = mustPermissions(t, permissionFile)
	})
	backend := collect(t, s, "vehicles", gateway.UplinkTag)
	be := newBackend(t, s)
	signed := func(key, id string) deviceOpt {
		user, pass, err := mqttrmq.SignatureCredentials(key, keys[key], "mqtt-cn-test", id)
		if err != nil {
			t.Fatal(err)
		}
		return credentials(user, pass)
	}

	car := connect(t, g, "GID_car@@@v1", signed("LTAI5tCar", "GID_car@@@v1"))
	for filter, want := range map[string]byte{
		"vehicles/cmd/v1":       1,
		"vehicles/cmd/#":        0x80, // overlaps vehicles/cmd/secret/#
		"vehicles/cmd/secret/a": 0x80,
		"vehicles/v1/status":    0x80, // the group may publish there, not subscribe
	} {
		if got := car.subscribe(t, filter, 1); got != want {
			t.Errorf("car subscribes %s: %#x; want %#x", filter, got, want)
		}
	}
	car.publish(t, "vehicles/v1/location", 1, "refused")     // acknowledged, not forwarded
	car.publish(t, "vehicles/v1/location", 0, "refused too") // QoS 0
	car.publish(t, "vehicles/v1/status", 1, "allowed")

	admin := connect(t, g, "GID_ops@@@a1", signed("LTAI5tAdmin", "GID_ops@@@a1"))
	if got := admin.subscribe(t, "vehicles/#", 0); got != 0x80 {
		t.Errorf("admin subscribes vehicles/#: %#x; want 0x80 (the deny for everyone wins)", got)
	}
	admin.mustSubscribe(t, "vehicles/+/status", 1)
	admin.publish(t, "vehicles/cmd/secret/x", 1, "refused: the key's own deny")
	admin.publish(t, "vehicles/cmd/v1", 1, "allowed: the key may publish anywhere else")

	// Wills are publishes too: a refused one is not forwarded.
	for _, w := range []struct{ id, topic string }{{"GID_car@@@v2", "vehicles/v2/location"}, {"GID_car@@@v3", "vehicles/v3/status"}} {
		nw := newNetwork(t, g.Addr())
		connect(t, g, w.id, signed("LTAI5tCar", w.id), nw.through(), func(o *paho.ClientOptions) { o.SetWill(w.topic, "gone", 1, false) })
		nw.cut()
	}

	// The MQTT 5 client hears why.
	v5 := dialV5(t, g.Addr(), "GID_car@@@v5", signed5(t, "LTAI5tCar", keys["LTAI5tCar"], "GID_car@@@v5"))
	if codes := v5.subscribe(t, "vehicles/cmd/#", "vehicles/cmd/v5"); codes[0] != byte(broker.NotAuthorized) || codes[1] != 1 {
		t.Errorf("MQTT 5 SUBACK codes %#x; want 0x87 then granted QoS 1", codes)
	}
	if code := v5.publish(t, "vehicles/v5/location", "refused"); code != byte(broker.NotAuthorized) {
		t.Errorf("MQTT 5 PUBACK %#x for a refused publish; want 0x87", code)
	}
	if code := v5.publish(t, "vehicles/v5/status", "allowed"); code != 0 {
		t.Errorf("MQTT 5 PUBACK %#x for an allowed publish; want 0", code)
	}

	// What got through: two status messages (a publish and a will), the
	// admin's command, the MQTT 5 client's status, and nothing else.
	got := backend.wait(t, 4)
	want := map[string]string{"/v1/status": "allowed", "/cmd/v1": "allowed: the key may publish anywhere else", "/v3/status": "gone", "/v5/status": "allowed"}
	for _, m := range got {
		if want[mqttrmq.SecondTopicOf(m)] != string(m.Body) {
			t.Errorf("backend read %s %q; want only what the table allows", mqttrmq.SecondTopicOf(m), m.Body)
		}
	}
	if len(got) != 4 {
		t.Errorf("backend read %d messages; want 4", len(got))
	}
	// The admin's subscription gets the car's status; the car gets its
	// command through its allowed subscription.
	statuses := map[string]bool{}
	for range 2 {
		statuses[admin.next(t).Topic] = true
	}
	if !statuses["vehicles/v3/status"] || !statuses["vehicles/v5/status"] {
		t.Errorf("admin got %v; want the two statuses that got through after it subscribed", statuses)
	}
	be.send(t, command(t, "unlock", func(m *primitive.Message) error { return mqttrmq.SetSecondTopic(m, "/cmd/v1") }))
	for {
		m := car.next(t)
		if m.Payload == "unlock" {
			break
		}
	}

	eventually(t, "every refusal counted", func() bool {
		st := g.AccessStats()
		return st.PublishesRefused == 5 && st.SubscribesRefused == 5
	})
	// The broker counts them too, by packet and reason code: the QoS 0
	// publish with the acknowledged ones, the will not at all.
	if r := g.Stats().Refusals; r[broker.Refusal{Packet: "SUBACK", Code: broker.NotAuthorized}] != 5 || r[broker.Refusal{Packet: "PUBACK", Code: broker.NotAuthorized}] != 4 {
		t.Errorf("broker refusals %v; want 5 SUBACK and 4 PUBACK 0x87", r)
	}
}

// mqtt5 is a bare MQTT 5 client on the project's packet codec: enough to
// read the reason codes a paho 3.1.1 client never hears.
type mqtt5 struct {
	conn net.Conn
	buf  []byte
	id   uint16
}

type v5Credentials struct{ user, pass string }

func signed5(t *testing.T, key, secret, id string) v5Credentials {
	t.Helper()
	user, pass, err := mqttrmq.SignatureCredentials(key, secret, "mqtt-cn-test", id)
	if err != nil {
		t.Fatal(err)
	}
	return v5Credentials{user, pass}
}

func dialV5(t *testing.T, addr, id string, cred v5Credentials) *mqtt5 {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Write(packet.AppendDisconnect(nil, 0, "", "")); conn.Close() })
	c := &mqtt5{conn: conn}
	cp := &packet.Connect{Version: packet.V5, ClientID: id, CleanStart: true, KeepAlive: 30}
	if cred.user != "" {
		cp.Username, cp.Password = packet.Some(cred.user), packet.Some([]byte(cred.pass))
	}
	c.write(t, packet.AppendConnect(nil, cp))
	h, body := c.read(t)
	if h.Type != packet.CONNACK {
		t.Fatalf("MQTT 5 client: %s; want CONNACK", h.Type)
	}
	if _, code, _, err := packet.DecodeConnack(packet.V5, h, body); err != nil || code != 0 {
		t.Fatalf("MQTT 5 CONNACK %#x, %v", code, err)
	}
	return c
}

func (c *mqtt5) write(t *testing.T, b []byte) {
	t.Helper()
	if _, err := c.conn.Write(b); err != nil {
		t.Fatal(err)
	}
}

// read returns the next packet.
func (c *mqtt5) read(t *testing.T) (packet.Header, []byte) {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(deadline))
	for {
		h, ok, err := packet.ReadHeader(c.buf)
		if err != nil {
			t.Fatal(err)
		}
		if ok && len(c.buf) >= h.Size+h.Remaining {
			body := append([]byte(nil), c.buf[h.Size:h.Size+h.Remaining]...)
			c.buf = c.buf[h.Size+h.Remaining:]
			return h, body
		}
		more := make([]byte, 4096)
		n, err := c.conn.Read(more)
		if err != nil {
			t.Fatalf("MQTT 5 client: %v", err)
		}
		c.buf = append(c.buf, more[:n]...)
	}
}

// next returns the next packet of a type, skipping others.
func (c *mqtt5) next(t *testing.T, typ packet.Type) (packet.Header, []byte) {
	t.Helper()
	for {
		if h, body := c.read(t); h.Type == typ {
			return h, body
		}
	}
}

func (c *mqtt5) subscribe(t *testing.T, filters ...string) []byte {
	t.Helper()
	c.id++
	s := &packet.Subscribe{PacketID: c.id}
	for _, f := range filters {
		s.Filters = append(s.Filters, packet.Subscription{Filter: f, QoS: 1})
	}
	c.write(t, packet.AppendSubscribe(nil, packet.V5, s))
	h, body := c.next(t, packet.SUBACK)
	_, codes, _, err := packet.DecodeSuback(packet.V5, h, body)
	// DecodeSuback returns its *packet.Error as an error even when nil.
	if pe := (*packet.Error)(nil); errors.As(err, &pe) && pe != nil {
		t.Fatal(err)
	}
	return codes
}

// publish publishes at QoS 1 and returns the PUBACK's reason code.
func (c *mqtt5) publish(t *testing.T, topic, payload string) byte {
	t.Helper()
	c.id++
	c.write(t, packet.AppendPublish(nil, packet.V5, &packet.Publish{Topic: topic, QoS: 1, PacketID: c.id, Payload: []byte(payload)}))
	h, body := c.next(t, packet.PUBACK)
	a, err := packet.DecodeAck(packet.V5, h, body)
	if err != nil {
		t.Fatal(err)
	}
	return a.Code
}

// BenchmarkPermissions: the check a publish and a subscription make, on a
// table of 100 rules per group for 100 groups.
func BenchmarkPermissions(b *testing.B) {
	var text strings.Builder
	for g := range 100 {
		for r := range 100 {
			fmt.Fprintf(&text, "allow publish group:GID_g%03d vehicles/g%d/d%d/+\n", g, g, r)
		}
	}
	text.WriteString("deny all * vehicles/secret/#\nallow subscribe group:GID_g042 vehicles/g42/#\n")
	p := mustPermissions(b, text.String())
	// The floor it is measured against: mqttrmq.MatchTopic over the same
	// 101 filters the publish looks at.
	var filters []string
	for r := range 100 {
		filters = append(filters, fmt.Sprintf("vehicles/g42/d%d/+", r))
	}
	filters = append(filters, "vehicles/secret/#")
	b.Run("MatchTopic-loop", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n := 0
			for _, f := range filters {
				if mqttrmq.MatchTopic(f, "vehicles/g42/d99/status") {
					n++
				}
			}
			if n != 1 {
				b.Fatal(n)
			}
		}
	})
	b.Run("publish", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !p.Publish("LTAI5tKey", "GID_g042", "vehicles/g42/d99/status") {
				b.Fatal("refused")
			}
		}
	})
	b.Run("subscribe", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !p.Subscribe("LTAI5tKey", "GID_g042", "vehicles/g42/d7/+") {
				b.Fatal("refused")
			}
		}
	})
}
