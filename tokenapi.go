package mqttrmq

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The token service of the hosted service (SPEC §9) gives apps and web
// pages short-lived tokens instead of AccessKeys. An application server,
// holding the AccessKey, applies for a token over HTTP and hands it to the
// app, which connects with TokenCredentials. This file is the wire format
// of that API, shared by its clients (TokenClient) and by a server
// implementing it (package gateway's token service).

// The token service's paths; each takes a POST of form fields.
const (
	TokenApplyPath  = "/token/apply"
	TokenRevokePath = "/token/revoke"
	TokenQueryPath  = "/token/query"
)

// The actions a token grants: R to subscribe, W to publish, or both.
const (
	TokenRead      = "R"
	TokenWrite     = "W"
	TokenReadWrite = "R,W"
)

// The codes of a token service answer.
const (
	TokenOK           = 200 // done
	TokenBadParameter = 400 // a field is missing or invalid
	TokenBadSignature = 407 // unknown AccessKey, or a signature that does not match
	TokenNotCreated   = 409 // a valid application the service could not fulfil
	TokenNotRevoked   = 410 // a token that is not this AccessKey's, or already expired
)

// The check codes saying why a token does not work, in a query's answer
// and on $SYS/tokenInvalidNotice.
const (
	TokenForged           = 1 // not issued with the AccessKey it names
	TokenExpired          = 2
	TokenRevoked          = 3
	TokenResourceMismatch = 4 // it does not cover the topic
	TokenActionMismatch   = 5 // it does not grant the action
)

// The limits of a token application.
const (
	MaxTokenResources = 100
	MinTokenLifetime  = 60 * time.Second
	MaxTokenLifetime  = 30 * 24 * time.Hour
)

// tokenServiceName is the serviceName every application carries.
const tokenServiceName = "mq"

// The form fields of the token service.
const (
	fieldResources   = "resources"
	fieldActions     = "actions"
	fieldExpireTime  = "expireTime"
	fieldServiceName = "serviceName"
	fieldInstanceID  = "instanceId"
	fieldProxyType   = "proxyType"
	fieldAccessKey   = "accessKey"
	fieldSignature   = "signature"
	fieldToken       = "token"
)

// TokenApplication is what an application server asks the token service
// for.
type TokenApplication struct {
	// Resources are the topics and filters the token covers, wildcards
	// allowed: a W token lets its holder publish to every topic one of
	// them matches, an R token subscribe to every filter one of them
	// covers. At most 100.
	Resources []string
	// Actions is TokenRead, TokenWrite or TokenReadWrite.
	Actions string
	// ExpireTime is when the token stops working: 60 s to 30 days ahead.
	// The form carries it in milliseconds.
	ExpireTime time.Time
	// InstanceID, when set, names the instance the token is for. The
	// hosted service's current demos send and sign it; the legacy shape
	// has no such field.
	InstanceID string
}

// Validate checks an application against the service's rules at the time
// now. It refuses, with an error wrapping ErrTokenAPI, no resources or
// more than 100, a resource that is not a valid MQTT topic filter (see
// ValidateTopicFilter) or is a shared subscription's, holds ',' (the
// list's separator) or is given twice, actions other than "R", "W" and
// "R,W", an expiry less than 60 s or more than 30 days after now, and an
// instance ID holding a control character or '|'.
func (a TokenApplication) Validate(now time.Time) error {
	return a.validate("TokenApplication.Validate", now)
}

func (a TokenApplication) validate(op string, now time.Time) error {
	fail := func(input, reason string) error { return newError(op, input, reason, ErrTokenAPI) }
	if len(a.Resources) == 0 || len(a.Resources) > MaxTokenResources {
		return fail(strconv.Itoa(len(a.Resources)), "a token covers 1 to 100 resources")
	}
	seen := make(map[string]bool, len(a.Resources))
	for _, r := range a.Resources {
		if err := ValidateTopicFilter(r); err != nil {
			reason := err.Error()
			if e := (*Error)(nil); errors.As(err, &e) {
				reason = e.Reason
			}
			return fail(r, "resource is not a topic filter: "+reason)
		}
		if strings.HasPrefix(r, "$share/") {
			return fail(r, "resource is a shared subscription; name its filter")
		}
		if strings.Contains(r, ",") {
			return fail(r, "resource holds ',', which separates resources")
		}
		if seen[r] {
			return fail(r, "resource given twice")
		}
		seen[r] = true
	}
	if !validTokenActions(a.Actions) {
		return fail(a.Actions, `actions must be "R", "W" or "R,W"`)
	}
	if left := a.ExpireTime.Sub(now); left < MinTokenLifetime || left > MaxTokenLifetime {
		return fail(a.ExpireTime.String(), "expireTime must be 60 s to 30 days ahead")
	}
	if !validText(a.InstanceID) || strings.Contains(a.InstanceID, credentialSeparator) {
		return fail(a.InstanceID, "instance ID holds a control character or '|'")
	}
	return nil
}

func validTokenActions(s string) bool {
	return s == TokenRead || s == TokenWrite || s == TokenReadWrite
}

// TokenActionsAllow reports whether a token's actions (TokenRead,
// TokenWrite, TokenReadWrite) grant the action of a token type of the
// password, R or W.
func TokenActionsAllow(actions, action string) bool {
	switch action {
	case TokenRead:
		return actions == TokenRead || actions == TokenReadWrite
	case TokenWrite:
		return actions == TokenWrite || actions == TokenReadWrite
	}
	return false
}

// Form returns the signed form of POST /token/apply, as the hosted
// service's demos send it: resources sorted and comma-joined, actions,
// expireTime in milliseconds, serviceName=mq, instanceId when set, all
// signed (TokenSignature), then proxyType=MQTT, accessKey and signature.
// It refuses what Validate refuses at the time now, and an empty AccessKey
// ID or secret, with an error wrapping ErrTokenAPI.
func (a TokenApplication) Form(accessKeyID, accessKeySecret string, now time.Time) (url.Values, error) {
	const op = "TokenApplication.Form"
	if err := a.validate(op, now); err != nil {
		return nil, err
	}
	if accessKeyID == "" || accessKeySecret == "" {
		return nil, newError(op, accessKeyID, "empty AccessKey ID or secret", ErrTokenAPI)
	}
	res := slices.Clone(a.Resources)
	slices.Sort(res)
	form := url.Values{
		fieldResources:   {strings.Join(res, ",")},
		fieldActions:     {a.Actions},
		fieldExpireTime:  {strconv.FormatInt(a.ExpireTime.UnixMilli(), 10)},
		fieldServiceName: {tokenServiceName},
	}
	if a.InstanceID != "" {
		form[fieldInstanceID] = []string{a.InstanceID}
	}
	return signForm(TokenApplyPath, form, accessKeyID, accessKeySecret), nil
}

// TokenRevokeForm returns the signed form of POST /token/revoke for a
// token, and TokenQueryForm that of POST /token/query: the token, signed,
// and the AccessKey ID. Each refuses, with an error wrapping ErrTokenAPI,
// an empty token, one holding a control character, and an empty AccessKey
// ID or secret.
func TokenRevokeForm(accessKeyID, accessKeySecret, token string) (url.Values, error) {
	return tokenForm("TokenRevokeForm", TokenRevokePath, accessKeyID, accessKeySecret, token)
}

// TokenQueryForm: see TokenRevokeForm.
func TokenQueryForm(accessKeyID, accessKeySecret, token string) (url.Values, error) {
	return tokenForm("TokenQueryForm", TokenQueryPath, accessKeyID, accessKeySecret, token)
}

func tokenForm(op, path, accessKeyID, accessKeySecret, token string) (url.Values, error) {
	if token == "" || !validText(token) {
		return nil, newError(op, token, "token is empty or holds a control character", ErrTokenAPI)
	}
	if accessKeyID == "" || accessKeySecret == "" {
		return nil, newError(op, accessKeyID, "empty AccessKey ID or secret", ErrTokenAPI)
	}
	return signForm(path, url.Values{fieldToken: {token}}, accessKeyID, accessKeySecret), nil
}

func signForm(path string, form url.Values, accessKeyID, accessKeySecret string) url.Values {
	form[fieldSignature] = []string{TokenSignature(accessKeySecret, TokenSignedParameters(path, form))}
	form[fieldAccessKey] = []string{accessKeyID}
	if path == TokenApplyPath {
		form[fieldProxyType] = []string{"MQTT"}
	}
	return form
}

// TokenSignedParameters returns the fields of a token service form that
// its signature covers: for /token/apply actions, expireTime, resources and
// serviceName, and instanceId when the form has one; for /token/revoke and
// /token/query the token. Fields the form lacks are left out; the
// accessKey, proxyType and signature fields never count. Any other path
// has none.
func TokenSignedParameters(path string, form url.Values) url.Values {
	var keys []string
	switch path {
	case TokenApplyPath:
		keys = []string{fieldActions, fieldExpireTime, fieldInstanceID, fieldResources, fieldServiceName}
	case TokenRevokePath, TokenQueryPath:
		keys = []string{fieldToken}
	}
	signed := url.Values{}
	for _, k := range keys {
		if v, ok := form[k]; ok {
			signed[k] = v
		}
	}
	return signed
}

// TokenSignature returns the token service's signature of the given
// parameters: Base64(HMAC-SHA1(key=accessKeySecret, data)), where data is
// every parameter as key=value, sorted, joined by '&', a parameter given
// several values having them sorted and joined by ','. Values are signed
// as they are, not URL-encoded.
func TokenSignature(accessKeySecret string, signed url.Values) string {
	pairs := make([]string, 0, len(signed))
	for k, vs := range signed {
		vs = slices.Clone(vs)
		slices.Sort(vs)
		pairs = append(pairs, k+"="+strings.Join(vs, ","))
	}
	slices.Sort(pairs)
	mac := hmac.New(sha1.New, []byte(accessKeySecret))
	mac.Write([]byte(strings.Join(pairs, "&")))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// VerifyTokenSignature reports, in constant time, whether a form posted
// to path carries the signature of its signed parameters (see
// TokenSignedParameters) under accessKeySecret, and only one.
func VerifyTokenSignature(path string, form url.Values, accessKeySecret string) bool {
	sig := form[fieldSignature]
	if len(sig) != 1 {
		return false
	}
	want := TokenSignature(accessKeySecret, TokenSignedParameters(path, form))
	return hmac.Equal([]byte(want), []byte(sig[0]))
}

// ParseTokenApplication reads the form of POST /token/apply, as a token
// service does once it checked the signature, at the time now. It refuses,
// with an error wrapping ErrTokenAPI, a field other than accessKey and
// signature given more than once, resources, actions or expireTime
// missing, an expireTime that is not milliseconds, a serviceName other than
// "mq", a proxyType other than "MQTT", and what Validate refuses.
func ParseTokenApplication(form url.Values, now time.Time) (TokenApplication, error) {
	const op = "ParseTokenApplication"
	fail := func(input, reason string) (TokenApplication, error) {
		return TokenApplication{}, newError(op, input, reason, ErrTokenAPI)
	}
	one := func(k string) (string, bool, error) {
		v, ok := form[k]
		switch {
		case !ok:
			return "", false, nil
		case len(v) != 1:
			_, err := fail(k, "field given more than once")
			return "", true, err
		}
		return v[0], true, nil
	}
	var a TokenApplication
	res, ok, err := one(fieldResources)
	if err != nil {
		return TokenApplication{}, err
	}
	if !ok || res == "" {
		return fail(fieldResources, "no resources")
	}
	a.Resources = strings.Split(res, ",")
	if a.Actions, ok, err = one(fieldActions); err != nil {
		return TokenApplication{}, err
	} else if !ok {
		return fail(fieldActions, "no actions")
	}
	exp, ok, err := one(fieldExpireTime)
	if err != nil {
		return TokenApplication{}, err
	}
	ms, perr := strconv.ParseInt(exp, 10, 64)
	if !ok || perr != nil || ms <= 0 {
		return fail(exp, "expireTime is not a time in milliseconds")
	}
	a.ExpireTime = time.UnixMilli(ms)
	if sn, _, err := one(fieldServiceName); err != nil {
		return TokenApplication{}, err
	} else if sn != tokenServiceName {
		return fail(sn, `serviceName must be "mq"`)
	}
	if pt, ok, err := one(fieldProxyType); err != nil {
		return TokenApplication{}, err
	} else if ok && pt != "MQTT" {
		return fail(pt, `proxyType must be "MQTT"`)
	}
	if a.InstanceID, _, err = one(fieldInstanceID); err != nil {
		return TokenApplication{}, err
	}
	if err := a.validate(op, now); err != nil {
		return TokenApplication{}, err
	}
	return a, nil
}

// TokenAnswer is the token service's JSON answer:
//
//	{"success":true,"message":"…","code":200,"tokenData":"…"}
//
// An application's answer carries the token in tokenData; a query's
// carries what the service knows of the token, as an object.
type TokenAnswer struct {
	Success   bool
	Code      int    // TokenOK, TokenBadParameter, ...
	Message   string // what happened, for a person
	TokenData string // the token an application got; "" otherwise
	// Status is a query's answer: what the service knows of the token.
	Status *TokenStatus
}

// TokenStatus is what the token service knows of a token.
type TokenStatus struct {
	// Valid says whether the token works now.
	Valid bool
	// CheckCode says why not: TokenForged, TokenExpired or TokenRevoked;
	// 0 for a valid token.
	CheckCode int
	// Resources, Actions and ExpireTime are the token's; a forged token
	// has none.
	Resources  []string
	Actions    string
	ExpireTime time.Time
}

// AppendJSON appends the answer's JSON to dst.
func (a TokenAnswer) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"success":`...)
	dst = strconv.AppendBool(dst, a.Success)
	dst = append(dst, `,"message":`...)
	dst = appendJSONString(dst, a.Message)
	dst = append(dst, `,"code":`...)
	dst = strconv.AppendInt(dst, int64(a.Code), 10)
	dst = append(dst, `,"tokenData":`...)
	if s := a.Status; s != nil {
		dst = append(dst, `{"valid":`...)
		dst = strconv.AppendBool(dst, s.Valid)
		dst = append(dst, `,"checkCode":`...)
		dst = strconv.AppendInt(dst, int64(s.CheckCode), 10)
		dst = append(dst, `,"resources":[`...)
		for i, r := range s.Resources {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, r)
		}
		dst = append(dst, `],"actions":`...)
		dst = appendJSONString(dst, s.Actions)
		dst = append(dst, `,"expireTime":`...)
		var ms int64
		if !s.ExpireTime.IsZero() {
			ms = s.ExpireTime.UnixMilli()
		}
		dst = strconv.AppendInt(dst, ms, 10)
		dst = append(dst, '}')
	} else {
		dst = appendJSONString(dst, a.TokenData)
	}
	return append(dst, '}')
}

// ParseTokenAnswer reads the token service's JSON answer. It refuses, with
// an error wrapping ErrTokenAPI, a body that is not one JSON object
// (strictly, as ParsePresenceEvent reads), a key given twice, success
// missing or not a boolean, code missing or not a whole number, a message
// that is not a string, and a tokenData that is neither a string, null,
// nor a query's object (whose fields have the types AppendJSON writes).
// Other keys are skipped.
func ParseTokenAnswer(body []byte) (TokenAnswer, error) {
	const op = "ParseTokenAnswer"
	s := string(body)
	fail := func(reason string) (TokenAnswer, error) {
		return TokenAnswer{}, newError(op, s, reason, ErrTokenAPI)
	}
	var a TokenAnswer
	var seenSuccess, seenCode bool
	seen := map[string]bool{}
	r := &jsonReader{s: s}
	err := r.object(func(key string) (bool, string) {
		if seen[key] {
			return false, "key " + strconv.Quote(key) + " given twice"
		}
		seen[key] = true
		switch key {
		case "success":
			v, ok := r.boolean()
			a.Success, seenSuccess = v, true
			return ok, "success is not a boolean"
		case "code":
			v, ok := r.wholeNumber()
			a.Code, seenCode = int(v), true
			return ok && v == int64(int(v)), "code is not a whole number"
		case "message":
			v, ok := r.str()
			a.Message = v
			return ok, "message is not a JSON string of valid UTF-8"
		case "tokenData":
			r.ws()
			switch {
			case r.literal("null"):
				return true, ""
			case r.i < len(r.s) && r.s[r.i] == '{':
				st, reason := r.tokenStatus()
				a.Status = st
				return st != nil, reason
			}
			v, ok := r.str()
			a.TokenData = v
			return ok, "tokenData is neither a string nor an object"
		}
		return r.skipValue(0), "not a JSON object"
	})
	switch {
	case err != "":
		return fail(err)
	case !seenSuccess:
		return fail("no success")
	case !seenCode:
		return fail("no code")
	}
	return a, nil
}

// tokenStatus reads a query answer's tokenData object; on failure it
// returns nil and why.
func (r *jsonReader) tokenStatus() (*TokenStatus, string) {
	st := &TokenStatus{}
	seen := map[string]bool{}
	err := r.objectValue(func(key string) (bool, string) {
		if seen[key] {
			return false, "tokenData key " + strconv.Quote(key) + " given twice"
		}
		seen[key] = true
		switch key {
		case "valid":
			v, ok := r.boolean()
			st.Valid = v
			return ok, "tokenData valid is not a boolean"
		case "checkCode":
			v, ok := r.wholeNumber()
			st.CheckCode = int(v)
			return ok && v >= 0 && v <= TokenActionMismatch, "tokenData checkCode is not 0 to 5"
		case "resources":
			v, ok := r.stringArray()
			st.Resources = v
			return ok, "tokenData resources is not an array of strings"
		case "actions":
			v, ok := r.str()
			st.Actions = v
			return ok, "tokenData actions is not a string"
		case "expireTime":
			v, ok := r.wholeNumber()
			if v > 0 {
				st.ExpireTime = time.UnixMilli(v)
			}
			return ok && v >= 0, "tokenData expireTime is not milliseconds"
		}
		return r.skipValue(1), "tokenData is not a JSON object"
	})
	if err != "" {
		return nil, err
	}
	return st, ""
}

// object reads one whole JSON object and nothing after it, calling field
// with the reader at each value; field reads the value and reports whether
// it could, and if not why. It returns "" or why the object was refused.
func (r *jsonReader) object(field func(key string) (bool, string)) string {
	if why := r.objectValue(field); why != "" {
		return why
	}
	if !r.end() {
		return "more than one JSON value"
	}
	return ""
}

// objectValue reads one JSON object; see object.
func (r *jsonReader) objectValue(field func(key string) (bool, string)) string {
	if !r.consume('{') {
		return "not a JSON object"
	}
	if r.consume('}') {
		return ""
	}
	for {
		key, ok := r.str()
		if !ok || !r.consume(':') {
			return "not a JSON object"
		}
		if ok, why := field(key); !ok {
			return why
		}
		if r.consume('}') {
			return ""
		}
		if !r.consume(',') {
			return "not a JSON object"
		}
	}
}

func (r *jsonReader) boolean() (bool, bool) {
	r.ws()
	switch {
	case r.literal("true"):
		return true, true
	case r.literal("false"):
		return false, true
	}
	return false, false
}

// stringArray reads a JSON array of strings.
func (r *jsonReader) stringArray() ([]string, bool) {
	if !r.consume('[') {
		return nil, false
	}
	var out []string // nil for [], as for an absent array
	if r.consume(']') {
		return out, true
	}
	for {
		s, ok := r.str()
		if !ok {
			return nil, false
		}
		out = append(out, s)
		if r.consume(']') {
			return out, true
		}
		if !r.consume(',') {
			return nil, false
		}
	}
}

// TokenAPIError is a token service's refusal: an answer whose success is
// false, with its code and message. It unwraps to ErrTokenAPI.
type TokenAPIError struct {
	Op      string // the method that asked, e.g. "TokenClient.Apply"
	Code    int    // TokenBadParameter, TokenBadSignature, ...
	Message string // the service's message
}

func (e *TokenAPIError) Error() string {
	return "mqttrmq: " + e.Op + ": " + ErrTokenAPI.Error() + " refused with code " + strconv.Itoa(e.Code) + ": " + e.Message
}

// Unwrap returns ErrTokenAPI.
func (e *TokenAPIError) Unwrap() error { return ErrTokenAPI }
