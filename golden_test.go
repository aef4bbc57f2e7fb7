package mqttrmq_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mqttrmq/mqttrmq"
)

// The golden files in testdata/ show the whole mapping at a glance; each case
// names the rule it checks.

type splitGolden struct {
	Rule   string `json:"rule"`
	Topic  string `json:"topic"`
	Parent string `json:"parent"`
	Second string `json:"second"`
	Err    string `json:"err"`
}

// publishJSON is mqttrmq.Publish as the golden files spell it: an absent
// messageExpiry is none, and correlationData is hex, absent for none.
type publishJSON struct {
	Topic             string                 `json:"topic"`
	QoS               byte                   `json:"qos"`
	Retain            bool                   `json:"retain"`
	ClientID          string                 `json:"clientId"`
	PersistentSession bool                   `json:"persistentSession"`
	UserProperties    []mqttrmq.UserProperty `json:"userProperties"`
	MessageExpiry     *uint32                `json:"messageExpiry"`
	PayloadUTF8       bool                   `json:"payloadUTF8"`
	ContentType       string                 `json:"contentType"`
	ResponseTopic     string                 `json:"responseTopic"`
	CorrelationData   hexBytes               `json:"correlationData"`
}

func (p publishJSON) publish(payload []byte) mqttrmq.Publish {
	pub := mqttrmq.Publish{Topic: p.Topic, QoS: mqttrmq.QoS(p.QoS), Retain: p.Retain,
		ClientID: p.ClientID, PersistentSession: p.PersistentSession, Payload: payload,
		UserProperties: p.UserProperties, PayloadUTF8: p.PayloadUTF8, ContentType: p.ContentType,
		ResponseTopic: p.ResponseTopic, CorrelationData: p.CorrelationData}
	if p.MessageExpiry != nil {
		pub.MessageExpiry = mqttrmq.ExpiresAfter(*p.MessageExpiry)
	}
	return pub
}

// hexBytes are bytes as the golden files spell them: a hex string.
type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	data, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	*h = append(hexBytes{}, data...)
	return nil
}

// goldenPayload is the payload a case travels with: its own, when it
// names one, else def.
func goldenPayload(own *string, def []byte) []byte {
	if own != nil {
		return []byte(*own)
	}
	return def
}

type uplinkGolden struct {
	Rule          string            `json:"rule"`
	Filters       []string          `json:"filters"` // the dialect's FilterSet
	Publish       publishJSON       `json:"publish"`
	RocketMQTopic string            `json:"rocketmqTopic"`
	Properties    map[string]string `json:"properties"`
	// Payload, when given, is the case's payload instead of the test's.
	Payload *string `json:"payload"`
	// Delivered is what FromRocketMQ reads back, when it is not Publish.
	Delivered *publishJSON `json:"delivered"`
	Err       string       `json:"err"`
}

type downlinkGolden struct {
	Rule       string            `json:"rule"`
	Topic      string            `json:"topic"`
	Properties map[string]string `json:"properties"`
	Payload    *string           `json:"payload"` // instead of the test's, when given
	Publish    publishJSON       `json:"publish"`
	Err        string            `json:"err"`
}

func loadGolden[T any](t *testing.T, name string) []T {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var cases []T
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(cases) == 0 {
		t.Fatalf("%s holds no cases", name)
	}
	return cases
}

// sentinels maps the golden files' error classes onto the package's sentinels.
var sentinels = map[string]error{
	"topic":      mqttrmq.ErrInvalidTopic,
	"filter":     mqttrmq.ErrInvalidFilter,
	"property":   mqttrmq.ErrInvalidProperty,
	"clientid":   mqttrmq.ErrInvalidClientID,
	"credential": mqttrmq.ErrInvalidCredentials,
}

// checkErr reports whether err is what a golden case's error class wants.
func checkErr(t *testing.T, call string, err error, class string) (failed bool) {
	t.Helper()
	if class == "" {
		if err != nil {
			t.Errorf("%s = %v; want no error", call, err)
			return true
		}
		return false
	}
	want, ok := sentinels[class]
	if !ok {
		t.Fatalf("golden file names unknown error class %q", class)
	}
	var e *mqttrmq.Error
	if !errors.Is(err, want) || !errors.As(err, &e) {
		t.Errorf("%s = %v; want an *Error wrapping %v", call, err, want)
	}
	return true
}
