package gateway

import (
	"errors"
	"fmt"

	"github.com/mqttrmq/mqttrmq"
)

// Authenticator decides whether a client may connect. Authenticate returns
// nil to let it in, or an error saying why not (logged, never sent to the
// client, which only learns "bad user name or password").
type Authenticator interface {
	Authenticate(clientID, username string, password []byte) error
}

// AllowAll lets every client in. It is meant for demos and tests.
type AllowAll struct{}

// Authenticate always returns nil.
func (AllowAll) Authenticate(string, string, []byte) error { return nil }

// ErrAuth is what every refusal of the shipped authenticators unwraps to.
var ErrAuth = errors.New("gateway: not authenticated")

// Signature checks the hosted service's Signature and DeviceCredential
// modes, so that a device using mqttrmq.SignatureCredentials or
// mqttrmq.DeviceCredentials connects unchanged: the username is
// Mode|AccessKeyID|InstanceID and the password Base64(HMAC-SHA1(secret, clientID)).
type Signature struct {
	// Secrets maps each AccessKey ID to its secret.
	Secrets map[string]string
	// InstanceID, when set, must be the username's instance ID.
	InstanceID string
}

// Authenticate refuses, with an error wrapping ErrAuth, a username that is
// not a Signature or DeviceCredential username, an unknown AccessKey ID, a
// different instance ID, and a password that is not the client ID's
// signature.
func (s Signature) Authenticate(clientID, username string, password []byte) error {
	u, err := mqttrmq.ParseUsername(username)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrAuth, err)
	}
	if u.Mode != mqttrmq.ModeSignature && u.Mode != mqttrmq.ModeDeviceCredential {
		return fmt.Errorf("%w: mode %s is not supported", ErrAuth, u.Mode)
	}
	if s.InstanceID != "" && u.InstanceID != s.InstanceID {
		return fmt.Errorf("%w: instance %q is not %q", ErrAuth, u.InstanceID, s.InstanceID)
	}
	secret, ok := s.Secrets[u.AccessKeyID]
	if !ok {
		return fmt.Errorf("%w: unknown AccessKey ID %q", ErrAuth, u.AccessKeyID)
	}
	if !mqttrmq.VerifySignature(secret, clientID, string(password)) {
		return fmt.Errorf("%w: signature does not match client ID %q", ErrAuth, clientID)
	}
	return nil
}
