package gateway

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/mqttrmq/mqttrmq"
)

// The token service (SPEC §9): POST /token/apply, /token/revoke and
// /token/query, form fields signed with an AccessKey of Tokens.Secrets, as
// the hosted service's token API takes them, so that an application
// server's token code works unchanged (and mqttrmq.TokenClient is a
// client). Every answer is HTTP 200 with the JSON answer, whose code says
// what happened (the hosted service's clients read the body of a 200
// only): 200 done, 400 a bad parameter, 407 an unknown AccessKey or a bad
// signature, 409 a token that cannot be made, 410 a token not revoked.
//
// A token is issued for the AccessKey that signed the application, and
// only that AccessKey can revoke it or ask after it. Serve it over TLS
// outside a trusted network: the answer carries the token.

// maxTokenForm bounds a request's body: 100 resources of a few hundred
// bytes each.
const maxTokenForm = 256 << 10

// TokenHandler returns the token service's HTTP handler, for a server of
// the program's (see examples/gateway -token-api). Without Config.Tokens
// it answers every request 404.
func (g *Gateway) TokenHandler() http.Handler { return tokenService{g} }

type tokenService struct{ g *Gateway }

func (s tokenService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g := s.g
	switch {
	case g.tokens == nil:
		http.NotFound(w, r)
		return
	case r.URL.Path != mqttrmq.TokenApplyPath && r.URL.Path != mqttrmq.TokenRevokePath && r.URL.Path != mqttrmq.TokenQueryPath:
		http.NotFound(w, r)
		return
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "the token service takes POST", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenForm)
	ans := s.serve(r)
	if !ans.Success {
		g.access.tokenAPIRefused.Add(1)
		g.log.Info("token service refused", "path", r.URL.Path, "remote", r.RemoteAddr, "code", ans.Code, "message", ans.Message)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(ans.AppendJSON(nil))
}

func refused(code int, msg string) mqttrmq.TokenAnswer {
	return mqttrmq.TokenAnswer{Code: code, Message: msg}
}

func (s tokenService) serve(r *http.Request) mqttrmq.TokenAnswer {
	g, a := s.g, s.g.tokens
	if err := r.ParseForm(); err != nil {
		return refused(mqttrmq.TokenBadParameter, "the body is not a form: "+err.Error())
	}
	form := r.PostForm
	keys := form["accessKey"]
	if len(keys) != 1 {
		return refused(mqttrmq.TokenBadSignature, "no accessKey, or more than one")
	}
	ak := keys[0]
	secret, ok := a.cfg.Secrets[ak]
	if !ok {
		return refused(mqttrmq.TokenBadSignature, "unknown AccessKey")
	}
	if !mqttrmq.VerifyTokenSignature(r.URL.Path, form, secret) {
		return refused(mqttrmq.TokenBadSignature, "the signature does not match the signed parameters")
	}
	now := time.Now()
	if r.URL.Path == mqttrmq.TokenApplyPath {
		app, err := mqttrmq.ParseTokenApplication(form, now)
		if err != nil {
			return refused(mqttrmq.TokenBadParameter, strings.TrimPrefix(err.Error(), "mqttrmq: "))
		}
		if app.InstanceID != "" && a.cfg.InstanceID != "" && app.InstanceID != a.cfg.InstanceID {
			return refused(mqttrmq.TokenBadParameter, "instanceId "+app.InstanceID+" is not this gateway's")
		}
		for _, res := range app.Resources {
			if first, _, _ := strings.Cut(res, "/"); first != "+" && first != "#" && !g.parents[first] {
				return refused(mqttrmq.TokenBadParameter, "resource "+res+": "+first+" is not a parent topic this gateway serves")
			}
		}
		tok, _, err := a.issue(ak, app, now)
		if err != nil {
			return refused(mqttrmq.TokenNotCreated, err.Error())
		}
		g.access.tokensIssued.Add(1)
		return mqttrmq.TokenAnswer{Success: true, Code: mqttrmq.TokenOK, Message: "token created", TokenData: tok}
	}
	toks := form["token"]
	if len(toks) != 1 || toks[0] == "" {
		return refused(mqttrmq.TokenBadParameter, "no token, or more than one")
	}
	claims, code := a.check(ak, toks[0], now)
	if r.URL.Path == mqttrmq.TokenQueryPath {
		st := &mqttrmq.TokenStatus{Valid: code == 0, CheckCode: code}
		if code != mqttrmq.TokenForged {
			st.Resources, st.Actions, st.ExpireTime = claims.Resources, claims.Actions, time.UnixMilli(claims.Expire)
		}
		return mqttrmq.TokenAnswer{Success: true, Code: mqttrmq.TokenOK, Message: checkCodeText(code), Status: st}
	}
	switch code {
	case mqttrmq.TokenForged:
		return refused(mqttrmq.TokenNotRevoked, "not a token of this AccessKey")
	case mqttrmq.TokenExpired:
		return refused(mqttrmq.TokenNotRevoked, "the token expired already")
	case mqttrmq.TokenRevoked:
		return mqttrmq.TokenAnswer{Success: true, Code: mqttrmq.TokenOK, Message: "revoked already"}
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.cfg.SendTimeout)
	defer cancel()
	if err := g.revoke(ctx, claims); err != nil {
		return refused(mqttrmq.TokenNotRevoked, err.Error())
	}
	return mqttrmq.TokenAnswer{Success: true, Code: mqttrmq.TokenOK, Message: "token revoked"}
}
