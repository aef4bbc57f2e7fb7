package mqttrmq_test

import (
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/google/go-cmp/cmp"

	"github.com/mqttrmq/mqttrmq"
)

// clientPropertyKeys reads every primitive.Property* constant from the
// source of the rocketmq-client-go version in go.mod, so that a key the
// client adds is noticed here.
func clientPropertyKeys(t *testing.T) map[string]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", "{{.Dir}}", "github.com/apache/rocketmq-client-go/v2/primitive").Output()
	if err != nil {
		t.Fatalf("go list rocketmq-client-go/v2/primitive: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	pkgs, err := parser.ParseDir(token.NewFileSet(), dir, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for _, pkg := range pkgs {
		for name, file := range pkg.Files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			for _, decl := range file.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok || gd.Tok != token.CONST {
					continue
				}
				for _, spec := range gd.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, id := range vs.Names {
						if !strings.HasPrefix(id.Name, "Property") || id.Name == "PropertyKeySeparator" || i >= len(vs.Values) {
							continue
						}
						lit, ok := vs.Values[i].(*ast.BasicLit)
						if !ok || lit.Kind != token.STRING {
							t.Fatalf("%s: %s is not a string literal", filepath.Base(name), id.Name)
						}
						keys[id.Name], _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
	}
	return keys
}

// TestReservedKeysCoverTheClient: no user property may take a key of
// rocketmq-client-go's primitive.Property* constants.
func TestReservedKeysCoverTheClient(t *testing.T) {
	keys := clientPropertyKeys(t)
	if len(keys) < 30 {
		t.Fatalf("found %d Property* constants in rocketmq-client-go; the source moved?", len(keys))
	}
	// The same keys, by name: this fails to compile if one is renamed.
	for _, k := range []string{primitive.PropertyKeys, primitive.PropertyTags, primitive.PropertyUniqueClientMessageIdKeyIndex,
		primitive.PropertyDelayTimeLevel, primitive.PropertyShardingKey, primitive.PropertyTransactionID, primitive.PropertyCluster} {
		if !slicesContains(keys, k) {
			t.Errorf("the parsed constants miss %q", k)
		}
	}
	for name, k := range keys {
		err := mqttrmq.ValidateUserProperties([]mqttrmq.UserProperty{{Key: k, Value: "v"}})
		if !errors.Is(err, mqttrmq.ErrInvalidProperty) {
			t.Errorf("ValidateUserProperties(key primitive.%s = %q) = %v; want ErrInvalidProperty", name, k, err)
		}
	}
}

func slicesContains(m map[string]string, v string) bool {
	for _, x := range m {
		if x == v {
			return true
		}
	}
	return false
}

func TestValidateUserProperties(t *testing.T) {
	for _, c := range []struct {
		props []mqttrmq.UserProperty
		ok    bool
	}{
		{nil, true},
		{[]mqttrmq.UserProperty{{"", ""}}, true}, // MQTT allows empty strings
		{[]mqttrmq.UserProperty{{"k", "1"}, {"k", "2"}}, true}, // duplicates kept (hosted)
		{[]mqttrmq.UserProperty{{"Tags", "x"}}, true},          // keys are case-sensitive
		{[]mqttrmq.UserProperty{{"TAGS", "x"}}, false},         // SPEC §4
		{[]mqttrmq.UserProperty{{"INNER_MULTI_DISPATCH", "x"}}, false},
		{[]mqttrmq.UserProperty{{"originMqttTopic", "x"}}, false}, // the Apache dialect's
		{[]mqttrmq.UserProperty{{"mqtt5UserProperty", "x"}}, false},
		{[]mqttrmq.UserProperty{{"k", "\x01"}}, false},   // SPEC §4
		{[]mqttrmq.UserProperty{{"k", "\u0085"}}, false}, // C1 control
		{[]mqttrmq.UserProperty{{"k", "\xff"}}, false},   // MQTT-1.5.4-1
		{[]mqttrmq.UserProperty{{"\x00", "v"}}, false},   // MQTT-1.5.4-2
		{[]mqttrmq.UserProperty{{"k", strings.Repeat("v", 65536)}}, false},
	} {
		err := mqttrmq.ValidateUserProperties(c.props)
		if (err == nil) != c.ok || err != nil && !errors.Is(err, mqttrmq.ErrInvalidProperty) {
			t.Errorf("ValidateUserProperties(%q) = %v; want ok=%v", c.props, err, c.ok)
		}
	}
}

// TestUserPropertiesLimit: the hosted service takes 8 KB of JSON.
func TestUserPropertiesLimit(t *testing.T) {
	// {"key":"k","value":"…"} is 22 bytes plus the value; with [ and ] the
	// list is exactly 8192 bytes.
	props := []mqttrmq.UserProperty{{Key: "k", Value: strings.Repeat("v", 8192-22-2)}}
	if err := mqttrmq.ValidateUserProperties(props); err != nil {
		t.Fatalf("8192 bytes of JSON: %v", err)
	}
	msg := primitive.NewMessage("", nil)
	if _, err := mqttrmq.ToRocketMQ(mqttrmq.Publish{Topic: "a", QoS: 1, UserProperties: props}, msg); err != nil {
		t.Fatal(err)
	}
	if n := len(msg.GetProperty(mqttrmq.PropUserProperties)); n != 8192 {
		t.Errorf("mqtt5UserProperty is %d bytes; want 8192", n)
	}
	props[0].Value += "v"
	if err := mqttrmq.ValidateUserProperties(props); !errors.Is(err, mqttrmq.ErrInvalidProperty) {
		t.Errorf("8193 bytes of JSON: %v; want ErrInvalidProperty", err)
	}
	// The Apache dialect has no 8 KB rule, only RocketMQ's 32767 bytes.
	msg = primitive.NewMessage("", nil)
	if _, err := mqttrmq.ApacheRocketMQMQTT.ToRocketMQ(mqttrmq.Publish{Topic: "a", QoS: 1, UserProperties: props}, msg); err != nil {
		t.Errorf("Apache ToRocketMQ with 8 KB of user properties = %v", err)
	}
	props[0].Value = strings.Repeat("v", 33000)
	if _, err := mqttrmq.ApacheRocketMQMQTT.ToRocketMQ(mqttrmq.Publish{Topic: "a", QoS: 1, UserProperties: props}, msg); !errors.Is(err, mqttrmq.ErrInvalidProperty) {
		t.Errorf("Apache ToRocketMQ with 33 KB of user properties = %v; want ErrInvalidProperty", err)
	}
}

// FuzzUserProperties sends any user properties through each dialect and the
// client's wire form, and checks that what is accepted comes back whole and
// that the JSON written is JSON encoding/json reads the same way.
func FuzzUserProperties(f *testing.F) {
	f.Add("unit", "°C", "note", "")
	f.Add("k", "1", "k", "2")
	f.Add("q\"uote", "back\\slash", "", "")
	f.Add("TAGS", "x", "k", "\x02")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		props := []mqttrmq.UserProperty{{Key: k1, Value: v1}, {Key: k2, Value: v2}}
		for _, d := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
			// What a backend sets, every reader reads back; a refusal
			// writes nothing.
			m := primitive.NewMessage("t", nil)
			if err := d.SetUserProperties(m, props); err != nil {
				if !errors.Is(err, mqttrmq.ErrInvalidProperty) || len(m.GetProperties()) != 0 {
					t.Fatalf("%v.SetUserProperties(%q) = %v, wrote %q", d, props, err, m.GetProperties())
				}
			} else if got, err := mqttrmq.UserPropertiesOf(overTheWire(m)); err != nil || !cmp.Equal(got, props) {
				t.Fatalf("UserPropertiesOf(%v.SetUserProperties(%q)) = %q, %v", d, props, got, err)
			}
			p := mqttrmq.Publish{Topic: "t/a", QoS: 1, UserProperties: props}
			_, received, ok := mapOverTheWire(t, dialectMapper(d), p, mqttrmq.ErrInvalidProperty)
			if !ok {
				continue
			}
			if mqttrmq.ValidateUserProperties(props) != nil && d == mqttrmq.AlibabaCloud {
				t.Fatalf("ToRocketMQ accepted %q, ValidateUserProperties refuses", props)
			}
			// A second opinion on the JSON.
			raw := received.GetProperty(d.UserPropertiesKey())
			if d == mqttrmq.AlibabaCloud {
				var std []mqttrmq.UserProperty
				if err := json.Unmarshal([]byte(raw), &std); err != nil || !cmp.Equal(std, props) {
					t.Fatalf("encoding/json reads %s as %q, %v", raw, std, err)
				}
			} else {
				var std map[string]string
				if err := json.Unmarshal([]byte(raw), &std); err != nil || std[k1] != v1 || std[k2] != v2 || std["qosLevel"] != "1" {
					t.Fatalf("encoding/json reads %s as %q, %v", raw, std, err)
				}
			}
		}
	})
}

// FuzzUserPropertiesJSON reads any mqtt5UserProperty and extData: no panic,
// and whatever is accepted encoding/json reads the same way.
func FuzzUserPropertiesJSON(f *testing.F) {
	f.Add(`[{"key":"k","value":"v"},{"value":"2","key":"k"}]`)
	f.Add(`{"qosLevel":"1","unit":"\u00b0C","namespace":"ns"}`)
	f.Add(`[{"key":"k","value":"v","x":[1,{"y":null},true,-2.5e3]}]`)
	f.Add(`[{"key":"k","value":"v","x":[01,1.,-.5]}]`) // numbers JSON refuses
	f.Add(`{"a":"\ud83d\ude00","b":"\ud800"}`)
	f.Add(`[{"key":"\u0002","value":""}]`)
	f.Fuzz(func(t *testing.T, raw string) {
		// Each on a message of its own: a message holding both, different,
		// is refused (one message, one reading).
		msg := primitive.NewMessage("t", nil)
		msg.WithProperty(mqttrmq.PropUserProperties, raw)
		ext := primitive.NewMessage("t", nil)
		ext.WithProperty(mqttrmq.PropExtData, raw)
		for _, n := range nilMessages {
			if _, err := mqttrmq.UserPropertiesOf(n.m); !errors.Is(err, mqttrmq.ErrInvalidProperty) {
				t.Fatalf("UserPropertiesOf(%s) = %v; want ErrInvalidProperty", n.name, err)
			}
		}
		if props, err := mqttrmq.UserPropertiesOf(msg); err != nil {
			if !errors.Is(err, mqttrmq.ErrInvalidProperty) {
				t.Fatalf("UserPropertiesOf(%q) = %v", raw, err)
			}
			_ = err.Error()
		} else if raw != "" {
			var std []mqttrmq.UserProperty
			if err := json.Unmarshal([]byte(raw), &std); err != nil || len(std) != len(props) {
				t.Fatalf("mqtt5UserProperty %q: we read %q, encoding/json %q, %v", raw, props, std, err)
			}
			for i := range props {
				if props[i] != std[i] {
					t.Fatalf("mqtt5UserProperty %q: we read %q, encoding/json %q", raw, props, std)
				}
			}
		}
		if props, err := mqttrmq.ApacheRocketMQMQTT.UserPropertiesOf(ext); err != nil {
			if !errors.Is(err, mqttrmq.ErrInvalidProperty) {
				t.Fatalf("UserPropertiesOf(extData %q) = %v", raw, err)
			}
			_ = err.Error()
		} else if raw != "" {
			var std map[string]string
			if err := json.Unmarshal([]byte(raw), &std); err != nil {
				t.Fatalf("extData %q: we read %q, encoding/json refuses: %v", raw, props, err)
			}
			for _, p := range props {
				if v, ok := std[p.Key]; !ok || v != p.Value {
					t.Fatalf("extData %q: we read %q, encoding/json %q", raw, props, std)
				}
			}
		}
	})
}
