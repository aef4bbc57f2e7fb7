package mqttrmq_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mqttrmq/mqttrmq"
)

// quotaTests follow the hosted service's quotas (SPEC §2, §6): they are
// limits of the service, checked only when asked, never mapping errors.
var quotaTests = []struct {
	p  mqttrmq.Publish
	ok bool
}{
	{mqttrmq.Publish{Topic: "p/" + strings.Repeat("a", 62), QoS: 1}, true},         // 64 characters
	{mqttrmq.Publish{Topic: "p/" + strings.Repeat("a", 63), QoS: 1}, false},        // 65
	{mqttrmq.Publish{Topic: "p/" + strings.Repeat("车", 62), QoS: 1}, true},         // characters, not bytes
	{mqttrmq.Publish{Topic: "p", Payload: make([]byte, 64*1024), QoS: 1}, true},    // 64 KB
	{mqttrmq.Publish{Topic: "p", Payload: make([]byte, 64*1024+1), QoS: 1}, false}, // over
	{mqttrmq.Publish{Topic: "p", QoS: 2}, true},                                    // QoS 2, clean
	{mqttrmq.Publish{Topic: "p", QoS: 2, PersistentSession: true}, false},          // SPEC §6: not supported
	{mqttrmq.Publish{Topic: "p", QoS: 1, PersistentSession: true}, true},           // offline messages kept
	// SPEC §3: the hosted service caps mqtt5MsgExpireInterval at 65535 s.
	{mqttrmq.Publish{Topic: "p", QoS: 1, MessageExpiry: mqttrmq.ExpiresAfter(65535)}, true},
	{mqttrmq.Publish{Topic: "p", QoS: 1, MessageExpiry: mqttrmq.ExpiresAfter(65536)}, false},
	{mqttrmq.Publish{Topic: "p", QoS: 1, MessageExpiry: mqttrmq.ExpiresAfter(0)}, true},
}

func TestHostedServiceQuota(t *testing.T) {
	for _, tt := range quotaTests {
		err := mqttrmq.HostedService.CheckPublish(tt.p)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, mqttrmq.ErrQuotaExceeded)) {
			t.Errorf("HostedService.CheckPublish(%s, QoS %v, persistent %v, %d bytes) = %v; want ok=%v",
				quoteShort(tt.p.Topic), tt.p.QoS, tt.p.PersistentSession, len(tt.p.Payload), err, tt.ok)
		}
		// The mapping itself carries every one of them.
		if _, err := mqttrmq.ToRocketMQ(tt.p, mapProps{}); err != nil {
			t.Errorf("ToRocketMQ refused what only a quota limits: %v", err)
		}
	}
	filters := make([]string, 31)
	for i := range filters {
		filters[i] = "p/" + strings.Repeat("x", i)
	}
	if err := mqttrmq.HostedService.CheckSubscriptions(filters[:30]...); err != nil {
		t.Errorf("30 subscriptions: %v", err)
	}
	if err := mqttrmq.HostedService.CheckSubscriptions(filters...); !errors.Is(err, mqttrmq.ErrQuotaExceeded) {
		t.Errorf("31 subscriptions: %v; want ErrQuotaExceeded", err)
	}
	if err := mqttrmq.HostedService.CheckSubscriptions("$share/g/p/" + strings.Repeat("a", 62)); err != nil {
		t.Errorf("a shared filter counts its inner filter only: %v", err)
	}
	// Without a valid inner filter there is nothing to leave out.
	for _, f := range []string{"$share/" + strings.Repeat("g", 65), "$share//" + strings.Repeat("a", 64)} {
		if err := mqttrmq.HostedService.CheckSubscriptions(f); !errors.Is(err, mqttrmq.ErrQuotaExceeded) {
			t.Errorf("CheckSubscriptions(%s) = %v; want ErrQuotaExceeded", quoteShort(f), err)
		}
	}
	if err := (mqttrmq.Quota{}).CheckPublish(mqttrmq.Publish{Topic: strings.Repeat("a", 1000), QoS: 2}); err != nil {
		t.Errorf("the zero Quota limits nothing: %v", err)
	}
}

// mapProps is the smallest Properties: a map.
type mapProps map[string]string

func (m mapProps) GetProperty(k string) string { return m[k] }
func (m mapProps) WithProperty(k, v string)    { m[k] = v }
