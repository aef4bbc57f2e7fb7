package mqttrmq

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// TokenClient is an application server's client of the token service
// (SPEC §9): it applies for tokens for its apps, revokes them and asks
// after them, signing every request with its AccessKey. The zero value is
// not usable: URL and the AccessKey are needed.
type TokenClient struct {
	// URL is the token service's base URL, such as
	// "https://tokens.example.com" or "http://127.0.0.1:8080"; the paths
	// /token/apply, /token/revoke and /token/query are appended.
	URL string
	// AccessKeyID and AccessKeySecret sign every request.
	AccessKeyID     string
	AccessKeySecret string
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
}

// maxTokenAnswer bounds the answer read: a token is a few kilobytes.
const maxTokenAnswer = 1 << 20

// Apply applies for a token and returns it. It refuses what
// TokenApplication.Form refuses, now; a failed request returns its error
// wrapped; an answer that is not the service's JSON, or says success
// without a token, an error wrapping ErrTokenAPI; a refusal, a
// *TokenAPIError with its code.
func (c *TokenClient) Apply(ctx context.Context, a TokenApplication) (string, error) {
	const op = "TokenClient.Apply"
	form, err := a.Form(c.AccessKeyID, c.AccessKeySecret, time.Now())
	if err != nil {
		return "", err
	}
	ans, err := c.post(ctx, op, TokenApplyPath, form)
	if err != nil {
		return "", err
	}
	if ans.TokenData == "" {
		return "", newError(op, ans.Message, "the answer holds no token", ErrTokenAPI)
	}
	return ans.TokenData, nil
}

// Revoke revokes a token: from then on it works nowhere. It refuses what
// TokenRevokeForm refuses; its other errors are Apply's.
func (c *TokenClient) Revoke(ctx context.Context, token string) error {
	form, err := TokenRevokeForm(c.AccessKeyID, c.AccessKeySecret, token)
	if err != nil {
		return err
	}
	_, err = c.post(ctx, "TokenClient.Revoke", TokenRevokePath, form)
	return err
}

// Query asks what the service knows of a token: whether it works, and if
// not why. It refuses what TokenQueryForm refuses; an answer without the
// token's status is an error wrapping ErrTokenAPI; its other errors are
// Apply's.
func (c *TokenClient) Query(ctx context.Context, token string) (TokenStatus, error) {
	const op = "TokenClient.Query"
	form, err := TokenQueryForm(c.AccessKeyID, c.AccessKeySecret, token)
	if err != nil {
		return TokenStatus{}, err
	}
	ans, err := c.post(ctx, op, TokenQueryPath, form)
	if err != nil {
		return TokenStatus{}, err
	}
	if ans.Status == nil {
		return TokenStatus{}, newError(op, ans.Message, "the answer holds no token status", ErrTokenAPI)
	}
	return *ans.Status, nil
}

// post sends a form and reads the answer; a refusal is a *TokenAPIError.
func (c *TokenClient) post(ctx context.Context, op, path string, form url.Values) (TokenAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.URL, "/")+path, strings.NewReader(form.Encode()))
	if err != nil {
		return TokenAnswer{}, &Error{Op: op, Input: c.URL, Offset: -1, Reason: err.Error(), Err: ErrTokenAPI}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return TokenAnswer{}, err // a *url.Error naming the request
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxTokenAnswer))
	if err != nil {
		return TokenAnswer{}, err
	}
	ans, err := ParseTokenAnswer(body)
	if err != nil {
		// Not the service's answer: say what the server said instead.
		return TokenAnswer{}, newError(op, string(body), "HTTP status "+strconv.Itoa(res.StatusCode)+", and no token service answer", ErrTokenAPI)
	}
	if !ans.Success {
		return TokenAnswer{}, &TokenAPIError{Op: op, Code: ans.Code, Message: ans.Message}
	}
	return ans, nil
}
