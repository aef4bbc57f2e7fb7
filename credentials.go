package mqttrmq

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"strings"
)

// The authentication modes of the hosted service; each is the first field
// of the MQTT username, Mode|AccessKeyID|InstanceID.
const (
	ModeSignature        = "Signature"
	ModeToken            = "Token"
	ModeDeviceCredential = "DeviceCredential"
)

// credentialSeparator separates the fields of a username and of a token password.
const credentialSeparator = "|"

// SignatureCredentials returns the MQTT username and password of the hosted
// service's Signature mode: "Signature|{accessKeyID}|{instanceID}" and
// Base64(HMAC-SHA1(key=accessKeySecret, data=clientID)).
//
// It refuses, with an error wrapping ErrInvalidCredentials, what
// TokenCredentials refuses in a username (an empty accessKeyID or instanceID,
// and one holding '|', which would make a username ParseUsername and the
// service refuse), an empty accessKeySecret (an HMAC key anyone can guess),
// and an empty clientID (the service signs the client ID the device connects
// with, and a device without one has nothing to sign).
func SignatureCredentials(accessKeyID, accessKeySecret, instanceID, clientID string) (username, password string, err error) {
	return signedCredentials("SignatureCredentials", ModeSignature, accessKeyID, accessKeySecret, instanceID, clientID)
}

// DeviceCredentials returns the MQTT username and password of the hosted
// service's DeviceCredential mode: "DeviceCredential|{deviceAccessKeyID}|{instanceID}"
// and Base64(HMAC-SHA1(key=deviceAccessKeySecret, data=clientID)). It refuses
// what SignatureCredentials refuses.
func DeviceCredentials(deviceAccessKeyID, deviceAccessKeySecret, instanceID, clientID string) (username, password string, err error) {
	return signedCredentials("DeviceCredentials", ModeDeviceCredential, deviceAccessKeyID, deviceAccessKeySecret, instanceID, clientID)
}

// signedCredentials checks and builds the credentials of a mode whose
// password signs the client ID.
func signedCredentials(op, mode, accessKeyID, secret, instanceID, clientID string) (username, password string, err error) {
	if err := checkUsername(op, accessKeyID, instanceID); err != nil {
		return "", "", err
	}
	if secret == "" {
		return "", "", newError(op, "", "empty secret", ErrInvalidCredentials)
	}
	if clientID == "" {
		return "", "", newError(op, "", "empty client ID: the password signs it", ErrInvalidCredentials)
	}
	return mode + credentialSeparator + accessKeyID + credentialSeparator + instanceID, Sign(secret, clientID), nil
}

// checkUsername checks the fields of a username Mode|AccessKeyID|InstanceID.
func checkUsername(op, accessKeyID, instanceID string) error {
	for _, s := range [...]string{accessKeyID, instanceID} {
		if s == "" || strings.Contains(s, credentialSeparator) {
			return newError(op, s, "access key ID and instance ID must be non-empty and free of '|'", ErrInvalidCredentials)
		}
	}
	return nil
}

// Sign returns Base64(HMAC-SHA1(key=secret, data=clientID)), the password of
// the Signature and DeviceCredential modes.
func Sign(secret, clientID string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(clientID))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// VerifySignature reports, in constant time, whether password is
// Sign(secret, clientID): what a gateway checks for the Signature and
// DeviceCredential modes.
func VerifySignature(secret, clientID, password string) bool {
	return hmac.Equal([]byte(Sign(secret, clientID)), []byte(password))
}

// Token is one token of the hosted service's Token mode.
type Token struct {
	Type  string // "R" (subscribe), "W" (publish) or "RW" (both)
	Value string // the token the service issued
}

// TokenCredentials returns the MQTT username and password of the hosted
// service's Token mode: "Token|{accessKeyID}|{instanceID}" and the tokens as
// Type|Value pairs joined by '|', e.g. "R|abc|W|def".
//
// It refuses, with an error wrapping ErrInvalidCredentials, an empty
// accessKeyID or instanceID, no tokens, a type other than R, W and RW, a type
// given twice, an empty token value, and any part holding '|' (which would
// shift every later field).
func TokenCredentials(accessKeyID, instanceID string, tokens ...Token) (username, password string, err error) {
	const op = "TokenCredentials"
	if err := checkUsername(op, accessKeyID, instanceID); err != nil {
		return "", "", err
	}
	if len(tokens) == 0 {
		return "", "", newError(op, "", "no token", ErrInvalidCredentials)
	}
	var seen [3]bool
	var b strings.Builder
	for i, t := range tokens {
		var slot int
		switch t.Type {
		case "R":
			slot = 0
		case "W":
			slot = 1
		case "RW":
			slot = 2
		default:
			return "", "", newError(op, t.Type, `token type must be "R", "W" or "RW"`, ErrInvalidCredentials)
		}
		if seen[slot] {
			return "", "", newError(op, t.Type, "token type given twice", ErrInvalidCredentials)
		}
		seen[slot] = true
		if t.Value == "" || strings.Contains(t.Value, credentialSeparator) {
			return "", "", newError(op, t.Value, "token value must be non-empty and free of '|'", ErrInvalidCredentials)
		}
		if i > 0 {
			b.WriteString(credentialSeparator)
		}
		b.WriteString(t.Type)
		b.WriteString(credentialSeparator)
		b.WriteString(t.Value)
	}
	return ModeToken + "|" + accessKeyID + "|" + instanceID, b.String(), nil
}

// Username is an MQTT username of the hosted service, Mode|AccessKeyID|InstanceID.
type Username struct {
	Mode        string // ModeSignature, ModeToken or ModeDeviceCredential
	AccessKeyID string
	InstanceID  string
}

// ParseUsername splits a hosted-service username. It refuses, with an error
// wrapping ErrInvalidCredentials, anything but three non-empty '|'-separated
// fields whose first is a known mode.
func ParseUsername(s string) (Username, error) {
	fail := func(reason string) (Username, error) {
		return Username{}, newError("ParseUsername", s, reason, ErrInvalidCredentials)
	}
	mode, rest, ok := strings.Cut(s, credentialSeparator)
	if !ok {
		return fail("not of the form Mode|AccessKeyID|InstanceID")
	}
	ak, instance, ok := strings.Cut(rest, credentialSeparator)
	if !ok || ak == "" || instance == "" || strings.Contains(instance, credentialSeparator) {
		return fail("not of the form Mode|AccessKeyID|InstanceID")
	}
	switch mode {
	case ModeSignature, ModeToken, ModeDeviceCredential:
	default:
		return fail(`mode must be "Signature", "Token" or "DeviceCredential"`)
	}
	return Username{Mode: mode, AccessKeyID: ak, InstanceID: instance}, nil
}

// String returns the username as a device sends it.
func (u Username) String() string {
	return u.Mode + credentialSeparator + u.AccessKeyID + credentialSeparator + u.InstanceID
}
