package mqttrmq_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mqttrmq/mqttrmq"
)

// clientIDTests follow SPEC §5: GroupID@@@DeviceID, group 7–64 characters
// starting GID_ or GID-, whole ID at most 64.
var clientIDTests = []struct {
	in   string
	want mqttrmq.ClientID
	ok   bool
}{
	{"GID_car@@@v1", mqttrmq.ClientID{GroupID: "GID_car", DeviceID: "v1"}, true},
	{"GID-a_b-1@@@dev_1-x", mqttrmq.ClientID{GroupID: "GID-a_b-1", DeviceID: "dev_1-x"}, true},
	{"GID_" + strings.Repeat("g", 56) + "@@@d", mqttrmq.ClientID{GroupID: "GID_" + strings.Repeat("g", 56), DeviceID: "d"}, true}, // 64 in all
	{"GID_" + strings.Repeat("g", 57) + "@@@d", mqttrmq.ClientID{}, false},                                                        // 65 in all
	{"GID_ca@@@v1", mqttrmq.ClientID{}, false},                                                                                    // group shorter than 7
	{"gid_car@@@v1", mqttrmq.ClientID{}, false},                                                                                   // prefix is case-sensitive
	{"CID_car@@@v1", mqttrmq.ClientID{}, false},                                                                                   // wrong prefix
	{"GID_car@@v1", mqttrmq.ClientID{}, false},                                                                                    // two @ only
	{"GID_car@@@", mqttrmq.ClientID{}, false},                                                                                     // empty device
	{"GID_car@@@v@@@1", mqttrmq.ClientID{}, false},                                                                                // a second separator
	{"GID_car@@@v.1", mqttrmq.ClientID{}, false},                                                                                  // '.' in the device
	{"GID_c.r@@@v1", mqttrmq.ClientID{}, false},                                                                                   // '.' in the group
	{"GID_car@@@设备", mqttrmq.ClientID{}, false},                                                                                   // letters are ASCII
	{"", mqttrmq.ClientID{}, false},
	{"@@@", mqttrmq.ClientID{}, false},
}

func TestParseClientID(t *testing.T) {
	for _, tt := range clientIDTests {
		got, err := mqttrmq.ParseClientID(tt.in)
		if got != tt.want || (err == nil) != tt.ok || (err != nil && !errors.Is(err, mqttrmq.ErrInvalidClientID)) {
			t.Errorf("ParseClientID(%q) = %+v, %v; want %+v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err == nil {
			if s := got.String(); s != tt.in {
				t.Errorf("ParseClientID(%q).String() = %q", tt.in, s)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("ParseClientID(%q).Validate() = %v", tt.in, err)
			}
		}
	}
	if err := (mqttrmq.ClientID{GroupID: "GID_car", DeviceID: "a/b"}).Validate(); !errors.Is(err, mqttrmq.ErrInvalidClientID) {
		t.Errorf("Validate of device a/b = %v; want ErrInvalidClientID", err)
	}
}

// TestParseClientIDCountsCharacters: ParseClientID said "longer than 64
// characters" while it counted bytes, so that a client ID of 40 characters
// (100 bytes) was called too long instead of holding what is not a letter. It counts characters
// now, and names the character the limit falls on.
func TestParseClientIDCountsCharacters(t *testing.T) {
	// 40 characters, 100 bytes: not too long, but not ASCII letters.
	_, err := mqttrmq.ParseClientID("GID_car@@@" + strings.Repeat("设", 30))
	var e *mqttrmq.Error
	if !errors.As(err, &e) || strings.Contains(e.Reason, "longer") || !strings.Contains(e.Reason, "device ID may hold only") {
		t.Errorf("ParseClientID(40 characters, 100 bytes) = %v; want the device ID's characters refused, not its length", err)
	}
	// 65 characters of which the last is not ASCII: too long, at character 65.
	in := "GID_" + strings.Repeat("g", 56) + "@@@d" + "设"
	_, err = mqttrmq.ParseClientID(in)
	if !errors.As(err, &e) || e.Reason != "longer than 64 characters" || e.Offset != 64 {
		t.Errorf("ParseClientID(65 characters) = %+v; want longer than 64 characters at byte 64", e)
	}
	// 64 characters of ASCII are fine.
	if _, err := mqttrmq.ParseClientID("GID_" + strings.Repeat("g", 56) + "@@@d"); err != nil {
		t.Errorf("ParseClientID(64 characters) = %v", err)
	}
}
