package mqttrmq_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mqttrmq/mqttrmq"
)

var tokenNow = time.UnixMilli(1700000000000)

// TestTokenApplicationForm: the form an application server sends, signed as
// the hosted service's demos sign it [SPEC §9]. The signature was computed
// apart, by another HMAC-SHA1 implementation, over
// "actions=R,W&expireTime=1700000060000&instanceId=mqtt-cn-0pp1&resources=vehicles/#,vehicles/cmd/+&serviceName=mq".
func TestTokenApplicationForm(t *testing.T) {
	a := mqttrmq.TokenApplication{
		Resources:  []string{"vehicles/cmd/+", "vehicles/#"}, // sorted by Form
		Actions:    mqttrmq.TokenReadWrite,
		ExpireTime: tokenNow.Add(time.Minute),
		InstanceID: "mqtt-cn-0pp1",
	}
	form, err := a.Form("LTAI5tKey", "s3cret", tokenNow)
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{
		"resources":   {"vehicles/#,vehicles/cmd/+"},
		"actions":     {"R,W"},
		"expireTime":  {"1700000060000"},
		"serviceName": {"mq"},
		"instanceId":  {"mqtt-cn-0pp1"},
		"proxyType":   {"MQTT"},
		"accessKey":   {"LTAI5tKey"},
		"signature":   {"JfiPSMh6d9XBxtnHjRpBeL4Vf6g="},
	}
	if diff := cmp.Diff(want, form); diff != "" {
		t.Errorf("Form (-want +got):\n%s", diff)
	}
	if !mqttrmq.VerifyTokenSignature(mqttrmq.TokenApplyPath, form, "s3cret") {
		t.Errorf("VerifyTokenSignature refused the form's own signature")
	}
	back, err := mqttrmq.ParseTokenApplication(form, tokenNow)
	if err != nil || back.Actions != a.Actions || !back.ExpireTime.Equal(a.ExpireTime) || back.InstanceID != a.InstanceID || strings.Join(back.Resources, ",") != "vehicles/#,vehicles/cmd/+" {
		t.Errorf("ParseTokenApplication = %+v, %v", back, err)
	}

	// The legacy shape signs no instanceId.
	a.InstanceID = ""
	legacy, err := a.Form("LTAI5tKey", "s3cret", tokenNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := legacy["instanceId"]; ok || legacy.Get("signature") == form.Get("signature") || !mqttrmq.VerifyTokenSignature(mqttrmq.TokenApplyPath, legacy, "s3cret") {
		t.Errorf("legacy form %v: want no instanceId, a signature of its own, verified", legacy)
	}

	rev, err := mqttrmq.TokenRevokeForm("LTAI5tKey", "s3cret", "abc")
	if err != nil || rev.Get("token") != "abc" || rev.Get("signature") != "amIfQ2sqRoA+7h1+Rtmw5v86aIw=" || rev.Get("accessKey") != "LTAI5tKey" {
		t.Errorf("TokenRevokeForm = %v, %v; want the token signed alone", rev, err)
	}
	q, err := mqttrmq.TokenQueryForm("LTAI5tKey", "s3cret", "abc")
	if err != nil || q.Get("signature") != rev.Get("signature") || !mqttrmq.VerifyTokenSignature(mqttrmq.TokenQueryPath, q, "s3cret") {
		t.Errorf("TokenQueryForm = %v, %v", q, err)
	}
}

// TestVerifyTokenSignature: a signature over other parameters, another
// secret, a second signature, are all refused.
func TestVerifyTokenSignature(t *testing.T) {
	a := mqttrmq.TokenApplication{Resources: []string{"chat/#"}, Actions: "R", ExpireTime: tokenNow.Add(time.Hour)}
	form, err := a.Form("k", "s3cret", tokenNow)
	if err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(url.Values){
		"other resources":   func(f url.Values) { f.Set("resources", "chat/#,vehicles/#") },
		"other actions":     func(f url.Values) { f.Set("actions", "R,W") },
		"later expiry":      func(f url.Values) { f.Set("expireTime", "1700003600001") },
		"an instance added": func(f url.Values) { f.Set("instanceId", "x") },
		"no signature":      func(f url.Values) { f.Del("signature") },
		"two signatures":    func(f url.Values) { f.Add("signature", f.Get("signature")) },
		"signed for revoke": func(f url.Values) { f.Set("signature", mqttrmq.TokenSignature("s3cret", url.Values{"token": {"x"}})) },
		"another secret": func(f url.Values) {
			f.Set("signature", mqttrmq.TokenSignature("other", mqttrmq.TokenSignedParameters(mqttrmq.TokenApplyPath, f)))
		},
		"signature of Sign()": func(f url.Values) { f.Set("signature", mqttrmq.Sign("s3cret", "chat/#")) },
	} {
		f := url.Values{}
		for k, v := range form {
			f[k] = append([]string(nil), v...)
		}
		edit(f)
		if mqttrmq.VerifyTokenSignature(mqttrmq.TokenApplyPath, f, "s3cret") {
			t.Errorf("%s: VerifyTokenSignature accepted %v", name, f)
		}
	}
	// What the signature does not cover may change.
	form.Set("accessKey", "anyone")
	form.Set("proxyType", "MQTT")
	if !mqttrmq.VerifyTokenSignature(mqttrmq.TokenApplyPath, form, "s3cret") {
		t.Errorf("VerifyTokenSignature refused a form whose unsigned fields changed")
	}
}

func TestTokenApplicationRefused(t *testing.T) {
	many := make([]string, 101)
	for i := range many {
		many[i] = "t/" + strings.Repeat("x", i)
	}
	ok := mqttrmq.TokenApplication{Resources: []string{"a/#"}, Actions: "W", ExpireTime: tokenNow.Add(time.Hour)}
	for _, c := range []struct {
		name   string
		edit   func(*mqttrmq.TokenApplication)
		reason string
	}{
		{"no resources", func(a *mqttrmq.TokenApplication) { a.Resources = nil }, "1 to 100"},
		{"101 resources", func(a *mqttrmq.TokenApplication) { a.Resources = many }, "1 to 100"},
		{"a malformed filter", func(a *mqttrmq.TokenApplication) { a.Resources = []string{"a/#/b"} }, "not a topic filter"},
		{"an empty resource", func(a *mqttrmq.TokenApplication) { a.Resources = []string{""} }, "not a topic filter"},
		{"a comma", func(a *mqttrmq.TokenApplication) { a.Resources = []string{"a,b"} }, "','"},
		{"a shared subscription", func(a *mqttrmq.TokenApplication) { a.Resources = []string{"$share/g/a"} }, "shared"},
		{"a resource twice", func(a *mqttrmq.TokenApplication) { a.Resources = []string{"a", "a"} }, "twice"},
		{"actions W,R", func(a *mqttrmq.TokenApplication) { a.Actions = "W,R" }, "actions"},
		{"actions RW (a password's type, not an action)", func(a *mqttrmq.TokenApplication) { a.Actions = "RW" }, "actions"},
		{"59 s ahead", func(a *mqttrmq.TokenApplication) { a.ExpireTime = tokenNow.Add(59 * time.Second) }, "60 s to 30 days"},
		{"in the past", func(a *mqttrmq.TokenApplication) { a.ExpireTime = tokenNow.Add(-time.Hour) }, "60 s to 30 days"},
		{"30 days and a second", func(a *mqttrmq.TokenApplication) { a.ExpireTime = tokenNow.Add(30*24*time.Hour + time.Second) }, "60 s to 30 days"},
		{"instance with '|'", func(a *mqttrmq.TokenApplication) { a.InstanceID = "a|b" }, "'|'"},
	} {
		a := ok
		c.edit(&a)
		err := a.Validate(tokenNow)
		if !errors.Is(err, mqttrmq.ErrTokenAPI) || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: Validate = %v; want ErrTokenAPI saying %q", c.name, err, c.reason)
		}
		if _, err := a.Form("k", "s", tokenNow); !errors.Is(err, mqttrmq.ErrTokenAPI) {
			t.Errorf("%s: Form = %v; want ErrTokenAPI", c.name, err)
		}
	}
	if err := ok.Validate(tokenNow); err != nil {
		t.Errorf("Validate(%+v) = %v", ok, err)
	}
	if _, err := ok.Form("", "s", tokenNow); !errors.Is(err, mqttrmq.ErrTokenAPI) {
		t.Errorf("Form without an AccessKey ID = %v; want ErrTokenAPI", err)
	}
	if _, err := mqttrmq.TokenRevokeForm("k", "s", ""); !errors.Is(err, mqttrmq.ErrTokenAPI) {
		t.Errorf("TokenRevokeForm(empty token) = %v; want ErrTokenAPI", err)
	}
	if _, err := mqttrmq.TokenQueryForm("k", "", "t"); !errors.Is(err, mqttrmq.ErrTokenAPI) {
		t.Errorf("TokenQueryForm(no secret) = %v; want ErrTokenAPI", err)
	}
}

func TestParseTokenApplicationRefused(t *testing.T) {
	base := url.Values{"resources": {"a/#"}, "actions": {"R"}, "expireTime": {"1700000600000"}, "serviceName": {"mq"}}
	for _, c := range []struct {
		name   string
		edit   func(url.Values)
		reason string
	}{
		{"no resources", func(f url.Values) { f.Del("resources") }, "no resources"},
		{"empty resources", func(f url.Values) { f.Set("resources", "") }, "no resources"},
		{"an empty entry", func(f url.Values) { f.Set("resources", "a/#,,b") }, "not a topic filter"},
		{"resources twice", func(f url.Values) { f.Add("resources", "b") }, "more than once"},
		{"no actions", func(f url.Values) { f.Del("actions") }, "no actions"},
		{"no expireTime", func(f url.Values) { f.Del("expireTime") }, "milliseconds"},
		{"expireTime in seconds", func(f url.Values) { f.Set("expireTime", "1700000600") }, "60 s to 30 days"},
		{"expireTime a date", func(f url.Values) { f.Set("expireTime", "2023-11-14") }, "milliseconds"},
		{"another service", func(f url.Values) { f.Set("serviceName", "ons") }, "serviceName"},
		{"no service", func(f url.Values) { f.Del("serviceName") }, "serviceName"},
		{"another proxy type", func(f url.Values) { f.Set("proxyType", "HTTP") }, "proxyType"},
	} {
		f := url.Values{}
		for k, v := range base {
			f[k] = append([]string(nil), v...)
		}
		c.edit(f)
		_, err := mqttrmq.ParseTokenApplication(f, tokenNow)
		if !errors.Is(err, mqttrmq.ErrTokenAPI) || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: ParseTokenApplication(%v) = %v; want ErrTokenAPI saying %q", c.name, f, err, c.reason)
		}
	}
	if _, err := mqttrmq.ParseTokenApplication(base, tokenNow); err != nil {
		t.Errorf("ParseTokenApplication(%v) = %v", base, err)
	}
}

func TestParseTokenAnswer(t *testing.T) {
	for _, c := range []struct {
		body string
		want mqttrmq.TokenAnswer
	}{
		{`{"success":true,"message":"ok","code":200,"tokenData":"tok-1"}`, mqttrmq.TokenAnswer{Success: true, Code: 200, Message: "ok", TokenData: "tok-1"}},
		{`{"success":false,"message":"bad signature","code":407,"tokenData":null}`, mqttrmq.TokenAnswer{Code: 407, Message: "bad signature"}},
		{`{"code":410,"success":false,"requestId":"x"}`, mqttrmq.TokenAnswer{Code: 410}},
		{`{"success":true,"code":200,"tokenData":{"valid":false,"checkCode":3,"resources":["a/#","b"],"actions":"R,W","expireTime":1700000060000,"more":1}}`,
			mqttrmq.TokenAnswer{Success: true, Code: 200, Status: &mqttrmq.TokenStatus{CheckCode: 3, Resources: []string{"a/#", "b"}, Actions: "R,W", ExpireTime: time.UnixMilli(1700000060000)}}},
	} {
		got, err := mqttrmq.ParseTokenAnswer([]byte(c.body))
		if err != nil {
			t.Errorf("ParseTokenAnswer(%s): %v", c.body, err)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("ParseTokenAnswer(%s) (-want +got):\n%s", c.body, diff)
		}
		again, err := mqttrmq.ParseTokenAnswer(got.AppendJSON(nil))
		if err != nil || !cmp.Equal(got, again) {
			t.Errorf("round trip of %s: %s gives %+v, %v", c.body, got.AppendJSON(nil), again, err)
		}
	}
	for _, c := range []struct{ body, reason string }{
		{``, "not a JSON object"},
		{`{"success":true}`, "no code"},
		{`{"code":200}`, "no success"},
		{`{"success":"true","code":200}`, "success is not a boolean"},
		{`{"success":true,"code":"200"}`, "code is not a whole number"},
		{`{"success":true,"code":200.5}`, "code is not a whole number"},
		{`{"success":true,"code":200,"code":400}`, "given twice"},
		{`{"success":true,"code":200,"tokenData":5}`, "neither a string nor an object"},
		{`{"success":true,"code":200,"tokenData":{"resources":"a"}}`, "resources is not an array"},
		{`{"success":true,"code":200,"tokenData":{"checkCode":9}}`, "checkCode"},
		{`{"success":true,"code":200} x`, "more than one"},
		{`<html>502 Bad Gateway</html>`, "not a JSON object"},
	} {
		_, err := mqttrmq.ParseTokenAnswer([]byte(c.body))
		if !errors.Is(err, mqttrmq.ErrTokenAPI) || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("ParseTokenAnswer(%s) = %v; want ErrTokenAPI saying %q", c.body, err, c.reason)
		}
	}
}

func TestParseTokenPassword(t *testing.T) {
	for _, tc := range tokenTests {
		_, pass, err := mqttrmq.TokenCredentials("k", "i", tc.tokens...)
		if err != nil {
			continue
		}
		got, err := mqttrmq.ParseTokenPassword(pass)
		if err != nil || !cmp.Equal(got, tc.tokens) {
			t.Errorf("ParseTokenPassword(%q) = %v, %v; want %v", pass, got, err, tc.tokens)
		}
	}
	for _, pass := range []string{"", "R", "R|", "|abc", "X|abc", "R|a|R|b", "R|a|W", "R|a|W|b|RW|c|R|d", "rw|abc"} {
		if _, err := mqttrmq.ParseTokenPassword(pass); !errors.Is(err, mqttrmq.ErrInvalidCredentials) {
			t.Errorf("ParseTokenPassword(%q) = %v; want ErrInvalidCredentials", pass, err)
		}
	}
}

// TestTokenClientAnswers: what the client makes of the answers a server
// may give. (The client against the real token service is tested in
// package gateway.)
func TestTokenClientAnswers(t *testing.T) {
	var lastForm url.Values
	answer := `{"success":true,"code":200,"message":"ok","tokenData":"tok"}`
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		lastForm = r.PostForm
		w.WriteHeader(status)
		w.Write([]byte(answer))
	}))
	defer srv.Close()
	c := &mqttrmq.TokenClient{URL: srv.URL + "/", AccessKeyID: "k", AccessKeySecret: "s"}
	ctx := context.Background()
	app := mqttrmq.TokenApplication{Resources: []string{"a/#"}, Actions: "R", ExpireTime: time.Now().Add(time.Hour)}
	if tok, err := c.Apply(ctx, app); err != nil || tok != "tok" || !mqttrmq.VerifyTokenSignature(mqttrmq.TokenApplyPath, lastForm, "s") {
		t.Errorf("Apply = %q, %v (form %v); want the token, from a signed form", tok, err, lastForm)
	}

	answer = `{"success":false,"code":407,"message":"bad signature"}`
	var apiErr *mqttrmq.TokenAPIError
	if err := c.Revoke(ctx, "tok"); !errors.As(err, &apiErr) || apiErr.Code != 407 || !errors.Is(err, mqttrmq.ErrTokenAPI) {
		t.Errorf("Revoke refused = %v; want a TokenAPIError with code 407", err)
	}
	answer = `{"success":true,"code":200,"tokenData":"not a status"}`
	if _, err := c.Query(ctx, "tok"); !errors.Is(err, mqttrmq.ErrTokenAPI) {
		t.Errorf("Query answered without a status = %v; want ErrTokenAPI", err)
	}
	answer, status = `<html>gateway timeout</html>`, http.StatusGatewayTimeout
	if _, err := c.Apply(ctx, app); !errors.Is(err, mqttrmq.ErrTokenAPI) || !strings.Contains(err.Error(), "504") {
		t.Errorf("Apply answered by a proxy = %v; want ErrTokenAPI naming the status", err)
	}
	if _, err := c.Apply(ctx, mqttrmq.TokenApplication{}); !errors.Is(err, mqttrmq.ErrTokenAPI) {
		t.Errorf("Apply(invalid) = %v; want ErrTokenAPI before any request", err)
	}
	down := &mqttrmq.TokenClient{URL: "http://127.0.0.1:1", AccessKeyID: "k", AccessKeySecret: "s"}
	var ue *url.Error
	if err := down.Revoke(ctx, "tok"); !errors.As(err, &ue) {
		t.Errorf("Revoke to nothing = %v; want the request's *url.Error", err)
	}
}
