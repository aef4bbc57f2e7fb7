package gateway_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/gateway"
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
