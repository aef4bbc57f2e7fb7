package mqttrmq_test

import (
	"errors"
	"testing"

	"github.com/mqttrmq/mqttrmq"
)

func TestSign(t *testing.T) {
	// RFC 2202, HMAC-SHA1 test case 2, in Base64.
	if got, want := mqttrmq.Sign("Jefe", "what do ya want for nothing?"), "7/zfauXrL6LSdBbV8YTfnCWafHk="; got != want {
		t.Errorf("Sign(RFC 2202 case 2) = %q; want %q", got, want)
	}
}

func TestSignatureCredentials(t *testing.T) {
	user, pass, err := mqttrmq.SignatureCredentials("LTAI5tAK", "Jefe", "mqtt-cn-0pp1", "what do ya want for nothing?")
	if user != "Signature|LTAI5tAK|mqtt-cn-0pp1" || pass != "7/zfauXrL6LSdBbV8YTfnCWafHk=" || err != nil {
		t.Errorf("SignatureCredentials = %q, %q, %v", user, pass, err)
	}
	if !mqttrmq.VerifySignature("Jefe", "what do ya want for nothing?", pass) {
		t.Errorf("VerifySignature refused its own signature")
	}
	if mqttrmq.VerifySignature("Jefe", "another client", pass) {
		t.Errorf("VerifySignature accepted a signature for another client ID")
	}
	u, err := mqttrmq.ParseUsername(user)
	if err != nil || u != (mqttrmq.Username{Mode: mqttrmq.ModeSignature, AccessKeyID: "LTAI5tAK", InstanceID: "mqtt-cn-0pp1"}) || u.String() != user {
		t.Errorf("ParseUsername(%q) = %+v, %v", user, u, err)
	}

	user, pass, err = mqttrmq.DeviceCredentials("dak", "Jefe", "mqtt-cn-0pp1", "what do ya want for nothing?")
	if user != "DeviceCredential|dak|mqtt-cn-0pp1" || pass != "7/zfauXrL6LSdBbV8YTfnCWafHk=" || err != nil {
		t.Errorf("DeviceCredentials = %q, %q, %v", user, pass, err)
	}
}

// TestSignedCredentialsValidateLikeTokens: SignatureCredentials and
// DeviceCredentials validated nothing while TokenCredentials did, so that an
// access key ID holding '|' made a username the service refuses, and an empty
// secret or client ID a password anyone could compute. They refuse what
// TokenCredentials refuses in a username, and an empty secret or client ID.
func TestSignedCredentialsValidateLikeTokens(t *testing.T) {
	for name, credentials := range map[string]func(ak, sk, instance, clientID string) (string, string, error){
		"SignatureCredentials": mqttrmq.SignatureCredentials,
		"DeviceCredentials":    mqttrmq.DeviceCredentials,
	} {
		for _, c := range [][4]string{
			{"a|k", "sk", "inst", "GID_car@@@v1"},
			{"ak", "sk", "i|nst", "GID_car@@@v1"},
			{"", "sk", "inst", "GID_car@@@v1"},
			{"ak", "sk", "", "GID_car@@@v1"},
			{"ak", "", "inst", "GID_car@@@v1"},
			{"ak", "sk", "inst", ""},
		} {
			user, pass, err := credentials(c[0], c[1], c[2], c[3])
			if !errors.Is(err, mqttrmq.ErrInvalidCredentials) || user != "" || pass != "" {
				t.Errorf("%s(%q) = %q, %q, %v; want ErrInvalidCredentials", name, c, user, pass, err)
			}
			// TokenCredentials refuses the same username fields.
			if _, _, terr := mqttrmq.TokenCredentials(c[0], c[2], mqttrmq.Token{Type: "R", Value: "x"}); (terr == nil) != (c[1] == "" || c[3] == "") {
				t.Errorf("TokenCredentials(%q, %q) = %v, %s = %v: the usernames are checked differently", c[0], c[2], terr, name, err)
			}
		}
		// A '|' in the secret is fine: it is an HMAC key, in no field.
		if _, _, err := credentials("ak", "s|k", "inst", "GID_car@@@v1"); err != nil {
			t.Errorf("%s with '|' in the secret = %v", name, err)
		}
	}
}

var tokenTests = []struct {
	tokens []mqttrmq.Token
	want   string
	ok     bool
}{
	{[]mqttrmq.Token{{"R", "abc"}, {"W", "def"}}, "R|abc|W|def", true}, // SPEC §7 example
	{[]mqttrmq.Token{{"RW", "xyz"}}, "RW|xyz", true},
	{nil, "", false},
	{[]mqttrmq.Token{{"X", "abc"}}, "", false},
	{[]mqttrmq.Token{{"r", "abc"}}, "", false},
	{[]mqttrmq.Token{{"R", ""}}, "", false},
	{[]mqttrmq.Token{{"R", "a|W"}}, "", false}, // would read as two tokens
	{[]mqttrmq.Token{{"R", "a"}, {"R", "b"}}, "", false},
}

func TestTokenCredentials(t *testing.T) {
	for _, tt := range tokenTests {
		user, pass, err := mqttrmq.TokenCredentials("ak", "inst", tt.tokens...)
		if (err == nil) != tt.ok || pass != tt.want || (err != nil && !errors.Is(err, mqttrmq.ErrInvalidCredentials)) {
			t.Errorf("TokenCredentials(%v) = %q, %v; want %q, ok=%v", tt.tokens, pass, err, tt.want, tt.ok)
		}
		if err == nil && user != "Token|ak|inst" {
			t.Errorf("TokenCredentials username = %q", user)
		}
	}
	for _, c := range [][2]string{{"a|k", "inst"}, {"ak", "i|nst"}, {"", "inst"}, {"ak", ""}} {
		if _, _, err := mqttrmq.TokenCredentials(c[0], c[1], mqttrmq.Token{"R", "x"}); !errors.Is(err, mqttrmq.ErrInvalidCredentials) {
			t.Errorf("TokenCredentials(%q, %q) = %v; want ErrInvalidCredentials", c[0], c[1], err)
		}
	}
}

func TestParseUsernameRefuses(t *testing.T) {
	for _, s := range []string{"", "Signature", "Signature|ak", "Signature||inst", "Signature|ak|", "Signature|ak|i|x", "Basic|ak|inst"} {
		if u, err := mqttrmq.ParseUsername(s); !errors.Is(err, mqttrmq.ErrInvalidCredentials) {
			t.Errorf("ParseUsername(%q) = %+v, %v; want ErrInvalidCredentials", s, u, err)
		}
	}
}
