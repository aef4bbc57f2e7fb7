package gateway

import (
	"time"

	"github.com/mqttrmq/mqttrmq"
)

// IssueToken signs a token as the token service does, without the
// service's bounds on its expiry, so that tests can hold tokens that live
// seconds or expired already.
func IssueToken(g *Gateway, accessKey string, app mqttrmq.TokenApplication) (string, error) {
	tok, _, err := g.tokens.issue(accessKey, app, time.Now())
	return tok, err
}
