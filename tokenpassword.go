package mqttrmq

import "strings"

// ParseTokenPassword splits the password of the hosted service's Token
// mode, the Type|Value pairs that TokenCredentials joins ("R|abc|W|def"),
// so that a server can check each token. It refuses, with an error
// wrapping ErrInvalidCredentials, what TokenCredentials refuses to build:
// no pairs, a field missing, a type other than R, W and RW, a type given
// twice, and an empty token value.
func ParseTokenPassword(password string) ([]Token, error) {
	const op = "ParseTokenPassword"
	fail := func(reason string) ([]Token, error) {
		return nil, newError(op, password, reason, ErrInvalidCredentials)
	}
	if password == "" {
		return fail("no token")
	}
	fields := strings.Split(password, credentialSeparator)
	if len(fields)%2 != 0 || len(fields) > 6 {
		return fail("not of the form Type|Token[|Type|Token...]")
	}
	tokens := make([]Token, 0, len(fields)/2)
	for i := 0; i < len(fields); i += 2 {
		t := Token{Type: fields[i], Value: fields[i+1]}
		switch t.Type {
		case "R", "W", "RW":
		default:
			return fail(`token type must be "R", "W" or "RW"`)
		}
		for _, u := range tokens {
			if u.Type == t.Type {
				return fail("token type given twice")
			}
		}
		if t.Value == "" {
			return fail("empty token value")
		}
		tokens = append(tokens, t)
	}
	return tokens, nil
}
