package gateway

import (
	"testing"
	"time"

	"github.com/mqttrmq/mqttrmq"
)

// BenchmarkTokenCheck: what a Token-mode CONNECT costs the gateway per
// token (the MAC, the claims, the revocation list), and what a PUBLISH
// costs once it is held.
func BenchmarkTokenCheck(b *testing.B) {
	a := newTokenAuthority(Tokens{Secrets: map[string]string{"k": "s"}, RevocationTopic: "r"}, "")
	res := make([]string, 20)
	for i := range res {
		res[i] = "vehicles/fleet" + string(rune('a'+i)) + "/+/status"
	}
	tok, _, err := a.issue("k", mqttrmq.TokenApplication{Resources: res, Actions: mqttrmq.TokenReadWrite, ExpireTime: time.Now().Add(time.Hour)}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	// The floor: the Signature mode's check of a CONNECT.
	sig := mqttrmq.Sign("s", "GID_app@@@u1")
	b.Run("signature", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !mqttrmq.VerifySignature("s", "GID_app@@@u1", sig) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, code := a.check("k", tok, time.Now()); code != 0 {
				b.Fatal(code)
			}
		}
	})
	h, err := a.accept("k", "", "RW", tok, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	l := &tokenLogin{a: a, held: []*heldToken{h}}
	b.Run("publish", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ok, _, _ := l.allows(mqttrmq.TokenWrite, "vehicles/fleett/v1/status", time.Now()); !ok {
				b.Fatal("refused")
			}
		}
	})
}
