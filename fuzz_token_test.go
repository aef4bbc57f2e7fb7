package mqttrmq_test

import (
	"errors"
	"net/url"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mqttrmq/mqttrmq"
)

// FuzzParseTokenAnswer: any answer is read or refused with ErrTokenAPI,
// and what is read writes back to JSON that reads the same.
func FuzzParseTokenAnswer(f *testing.F) {
	for _, s := range []string{
		`{"success":true,"message":"ok","code":200,"tokenData":"t"}`,
		`{"success":false,"code":407,"tokenData":null}`,
		`{"success":true,"code":200,"tokenData":{"valid":true,"checkCode":0,"resources":["a/#"],"actions":"R","expireTime":5}}`,
		`{"success":true,"code":1e2}`, `{"success":tru`, `[1]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := mqttrmq.ParseTokenAnswer(body)
		if err != nil {
			if !errors.Is(err, mqttrmq.ErrTokenAPI) {
				t.Fatalf("ParseTokenAnswer(%q) = %v; want ErrTokenAPI", body, err)
			}
			_ = err.Error()
			return
		}
		out := a.AppendJSON(nil)
		again, err := mqttrmq.ParseTokenAnswer(out)
		if err != nil || !cmp.Equal(a, again) {
			t.Fatalf("round trip of %q: %s gives %+v, %v; want %+v", body, out, again, err, a)
		}
	})
}

// FuzzParseTokenPassword: a password is split or refused with
// ErrInvalidCredentials, and what is split joins back to the same
// password with TokenCredentials.
func FuzzParseTokenPassword(f *testing.F) {
	for _, s := range []string{"R|a", "R|a|W|b", "RW|x", "R|a|R|b", "|", "W||R|x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pass string) {
		tokens, err := mqttrmq.ParseTokenPassword(pass)
		if err != nil {
			if !errors.Is(err, mqttrmq.ErrInvalidCredentials) {
				t.Fatalf("ParseTokenPassword(%q) = %v; want ErrInvalidCredentials", pass, err)
			}
			return
		}
		_, joined, err := mqttrmq.TokenCredentials("k", "i", tokens...)
		if err != nil || joined != pass {
			t.Fatalf("ParseTokenPassword(%q) = %v, which joins to %q, %v", pass, tokens, joined, err)
		}
	})
}

// FuzzParseTokenApplication: any form is read or refused with ErrTokenAPI,
// and an application read makes a form that reads the same.
func FuzzParseTokenApplication(f *testing.F) {
	f.Add("resources=a%2F%23%2Cb&actions=R%2CW&expireTime=1700000600000&serviceName=mq&proxyType=MQTT")
	f.Add("resources=a&actions=W&expireTime=1700000060000&serviceName=mq&instanceId=i")
	f.Add("resources=%2B%2F%23&actions=R&expireTime=99999999999999999999&serviceName=mq")
	f.Fuzz(func(t *testing.T, query string) {
		form, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		a, err := mqttrmq.ParseTokenApplication(form, tokenNow)
		if err != nil {
			if !errors.Is(err, mqttrmq.ErrTokenAPI) {
				t.Fatalf("ParseTokenApplication(%q) = %v; want ErrTokenAPI", query, err)
			}
			_ = err.Error()
			return
		}
		signed, err := a.Form("k", "s", tokenNow)
		if err != nil {
			t.Fatalf("Form(%+v) of an application read: %v", a, err)
		}
		b, err := mqttrmq.ParseTokenApplication(signed, tokenNow)
		slices.Sort(a.Resources)
		if err != nil || !slices.Equal(a.Resources, b.Resources) || a.Actions != b.Actions || !a.ExpireTime.Equal(b.ExpireTime) || a.InstanceID != b.InstanceID {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", query, b, err, a)
		}
		if !mqttrmq.VerifyTokenSignature(mqttrmq.TokenApplyPath, signed, "s") {
			t.Fatalf("Form(%+v) does not verify", a)
		}
	})
}
