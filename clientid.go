package mqttrmq

import (
	"strings"
	"unicode/utf8"
)

// ClientID is a client ID of the hosted service's form, GroupID@@@DeviceID:
// the group names the kind of device or application, the device ID names one
// instance of it.
type ClientID struct {
	GroupID  string // "GID_" or "GID-" then letters, digits, '-' and '_'; 7–64 characters
	DeviceID string // at least one of letters, digits, '-' and '_'
}

// clientIDSeparator joins the group and the device ID.
const clientIDSeparator = "@@@"

// maxClientIDLen is the hosted service's limit on a whole client ID.
const maxClientIDLen = 64

// String returns the client ID as a device connects with it,
// GroupID@@@DeviceID. It does not validate; see Validate.
func (c ClientID) String() string { return c.GroupID + clientIDSeparator + c.DeviceID }

// Validate reports whether c is a client ID the hosted service accepts;
// it refuses what ParseClientID refuses.
func (c ClientID) Validate() error {
	_, err := parseClientID("ClientID.Validate", c.String())
	return err
}

// ParseClientID splits a client ID of the form GroupID@@@DeviceID. It
// refuses, with an error wrapping ErrInvalidClientID:
//   - a client ID longer than 64 characters (characters, not bytes, as the
//     service counts them; a valid one is ASCII, so they are bytes too), or
//     without "@@@";
//   - a group ID that does not start with "GID_" or "GID-", is shorter than 7
//     or longer than 64 characters, or holds anything but letters, digits,
//     '-' and '_';
//   - an empty device ID, or one holding anything but letters, digits, '-'
//     and '_' (so a second "@@@" is refused too).
//
// Plain MQTT brokers take any client ID; only the hosted service's form needs
// this check. P2PTopic does not require it.
func ParseClientID(s string) (ClientID, error) {
	return parseClientID("ParseClientID", s)
}

func parseClientID(op, s string) (ClientID, error) {
	fail := func(at int, reason string) (ClientID, error) {
		return ClientID{}, &Error{Op: op, Input: s, Offset: at, Reason: reason, Err: ErrInvalidClientID}
	}
	if len(s) > maxClientIDLen && utf8.RuneCountInString(s) > maxClientIDLen {
		return fail(runeOffset(s, maxClientIDLen), "longer than 64 characters")
	}
	sep := strings.Index(s, clientIDSeparator)
	if sep < 0 {
		return fail(-1, `no "@@@" between group ID and device ID`)
	}
	group, device := s[:sep], s[sep+len(clientIDSeparator):]
	switch {
	case !strings.HasPrefix(group, "GID_") && !strings.HasPrefix(group, "GID-"):
		return fail(0, `group ID does not start with "GID_" or "GID-"`)
	case len(group) < 7:
		return fail(0, "group ID shorter than 7 characters")
	}
	if i := indexNotIDByte(group); i >= 0 {
		return fail(i, "group ID may hold only letters, digits, '-' and '_'")
	}
	if device == "" {
		return fail(len(s), "empty device ID")
	}
	if i := indexNotIDByte(device); i >= 0 {
		return fail(sep+len(clientIDSeparator)+i, "device ID may hold only letters, digits, '-' and '_'")
	}
	return ClientID{GroupID: group, DeviceID: device}, nil
}

// runeOffset returns the byte offset of character n (0-based) of s, which
// has more than n characters.
func runeOffset(s string, n int) int {
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}
