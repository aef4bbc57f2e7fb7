package mqttrmq_test

import (
	"errors"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq"
)

// nilMessages are the nil messages a caller can pass by mistake: an untyped
// nil, and nil pointers of both message types, on which any method call
// panics.
var nilMessages = []struct {
	name string
	m    mqttrmq.Properties
}{
	{"nil", nil},
	{"(*primitive.Message)(nil)", (*primitive.Message)(nil)},
	{"(*primitive.MessageExt)(nil)", (*primitive.MessageExt)(nil)},
}

// checkNilRefused calls every function that takes a message with the nil
// message m and the other arguments given: none may panic, every one with an
// error result refuses with ErrInvalidProperty, and the accessors without one
// read no property.
func checkNilRefused(t testing.TB, name string, m mqttrmq.Properties, topic, s string, q mqttrmq.QoS) {
	t.Helper()
	refused := func(call string, err error) {
		t.Helper()
		if !errors.Is(err, mqttrmq.ErrInvalidProperty) {
			t.Fatalf("%s on %s = %v; want ErrInvalidProperty", call, name, err)
		}
	}
	p := mqttrmq.Publish{Topic: topic, QoS: q, ClientID: s}
	_, err := mqttrmq.ToRocketMQ(p, m)
	refused("ToRocketMQ", err)
	_, err = mqttrmq.FromRocketMQ(topic, m, nil)
	refused("FromRocketMQ", err)
	refused("SetQoS", mqttrmq.SetQoS(m, q))
	refused("SetCleanSession", mqttrmq.SetCleanSession(m, true))
	refused("SetSecondTopic", mqttrmq.SetSecondTopic(m, s))
	refused("SetRealTopic", mqttrmq.SetRealTopic(m, topic))
	refused("SetP2P", mqttrmq.SetP2P(m, s))
	_, err = mqttrmq.SetTopic(m, topic)
	refused("SetTopic", err)
	refused("SetRetain", mqttrmq.SetRetain(m, true))
	refused("SetUserProperties", mqttrmq.SetUserProperties(m, []mqttrmq.UserProperty{{Key: s, Value: topic}}))
	_, err = mqttrmq.RetainOf(m)
	refused("RetainOf", err)
	_, err = mqttrmq.UserPropertiesOf(m)
	refused("UserPropertiesOf", err)
	_, err = mqttrmq.QoSOf(m)
	refused("QoSOf", err)
	_, err = mqttrmq.CleanSessionOf(m)
	refused("CleanSessionOf", err)
	refused("SetMessageExpiry", mqttrmq.SetMessageExpiry(m, mqttrmq.ExpiresAfter(1)))
	refused("SetPayloadUTF8", mqttrmq.SetPayloadUTF8(m, true))
	refused("SetContentType", mqttrmq.SetContentType(m, s))
	refused("SetResponseTopic", mqttrmq.SetResponseTopic(m, topic))
	refused("SetCorrelationData", mqttrmq.SetCorrelationData(m, []byte(s)))
	_, err = mqttrmq.MessageExpiryOf(m)
	refused("MessageExpiryOf", err)
	_, err = mqttrmq.PayloadUTF8Of(m)
	refused("PayloadUTF8Of", err)
	_, err = mqttrmq.ContentTypeOf(m)
	refused("ContentTypeOf", err)
	_, err = mqttrmq.ResponseTopicOf(m)
	refused("ResponseTopicOf", err)
	_, err = mqttrmq.CorrelationDataOf(m)
	refused("CorrelationDataOf", err)
	if born, ok := mqttrmq.BornTime(m); ok || !born.IsZero() {
		t.Fatalf("BornTime(%s) = %v, %v; want nothing", name, born, ok)
	}
	if got := mqttrmq.ClientIDOf(m) + mqttrmq.SecondTopicOf(m) + mqttrmq.RealTopicOf(m); got != "" {
		t.Fatalf("the accessors on %s read %q; want nothing", name, got)
	}
	if id, ok := mqttrmq.P2PTargetOf(m); ok || id != "" {
		t.Fatalf("P2PTargetOf(%s) = %q, %v; want not P2P", name, id, ok)
	}
	for _, d := range []*mqttrmq.Dialect{nil, mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
		_, err := d.ToRocketMQ(p, m)
		refused(d.String()+".ToRocketMQ", err)
		_, err = d.FromRocketMQ(topic, m, nil)
		refused(d.String()+".FromRocketMQ", err)
		_, err = d.QoSOf(m)
		refused(d.String()+".QoSOf", err)
		_, err = d.CleanSessionOf(m)
		refused(d.String()+".CleanSessionOf", err)
		_, err = d.UserPropertiesOf(m)
		refused(d.String()+".UserPropertiesOf", err)
		_, err = d.RetainOf(m)
		refused(d.String()+".RetainOf", err)
		refused(d.String()+".SetQoS", d.SetQoS(m, q))
		refused(d.String()+".SetCleanSession", d.SetCleanSession(m, false))
		_, err = d.SetTopic(m, topic)
		refused(d.String()+".SetTopic", err)
		refused(d.String()+".SetP2P", d.SetP2P(m, s))
		refused(d.String()+".SetRealTopic", d.SetRealTopic(m, topic))
		refused(d.String()+".SetRetain", d.SetRetain(m, false))
		refused(d.String()+".SetUserProperties", d.SetUserProperties(m, nil))
		refused(d.String()+".SetMessageExpiry", d.SetMessageExpiry(m, mqttrmq.Expiry{}))
		refused(d.String()+".SetPayloadUTF8", d.SetPayloadUTF8(m, false))
		refused(d.String()+".SetContentType", d.SetContentType(m, ""))
		refused(d.String()+".SetResponseTopic", d.SetResponseTopic(m, ""))
		refused(d.String()+".SetCorrelationData", d.SetCorrelationData(m, nil))
		_, err = d.MessageExpiryOf(m)
		refused(d.String()+".MessageExpiryOf", err)
		_, err = d.PayloadUTF8Of(m)
		refused(d.String()+".PayloadUTF8Of", err)
		_, err = d.ContentTypeOf(m)
		refused(d.String()+".ContentTypeOf", err)
		_, err = d.ResponseTopicOf(m)
		refused(d.String()+".ResponseTopicOf", err)
		_, err = d.CorrelationDataOf(m)
		refused(d.String()+".CorrelationDataOf", err)
		if id := d.ClientIDOf(m); id != "" {
			t.Fatalf("%v.ClientIDOf(%s) = %q", d, name, id)
		}
		if id, ok := d.P2PTargetOf(m); ok || id != "" {
			t.Fatalf("%v.P2PTargetOf(%s) = %q, %v; want not P2P", d, name, id, ok)
		}
	}
}

// TestTypedNilsAreRefused: every entry point refuses a nil message with an
// error, a typed nil such as (*primitive.Message)(nil) as much as an untyped
// one, instead of calling a method on it and panicking (SetQoS, SetP2P did),
// answering a default (QoSOf did) or doing nothing (SetCleanSession did).
// A nil *FilterSet is empty, and refuses to take filters.
func TestTypedNilsAreRefused(t *testing.T) {
	for _, n := range nilMessages {
		checkNilRefused(t, n.name, n.m, "vehicles/p2p/GID_car@@@v1", "GID_car@@@v1", mqttrmq.AtLeastOnce)
	}

	var fs *mqttrmq.FilterSet
	if err := fs.Add("a/#"); !errors.Is(err, mqttrmq.ErrInvalidFilter) {
		t.Errorf("(*FilterSet)(nil).Add = %v; want ErrInvalidFilter", err)
	}
	if err := fs.Replace("a", []string{"a/+"}); !errors.Is(err, mqttrmq.ErrInvalidFilter) {
		t.Errorf("(*FilterSet)(nil).Replace = %v; want ErrInvalidFilter", err)
	}
	if fs.Remove("a/#") || fs.Len() != 0 || fs.Filters() != nil {
		t.Errorf("a nil *FilterSet is not empty")
	}
	if got, err := fs.AppendMatches(nil, "a/b"); got != nil || err != nil {
		t.Errorf("(*FilterSet)(nil).AppendMatches = %q, %v; want nothing", got, err)
	}
	if got, err := fs.Queues("a/b"); len(got) != 1 || err != nil {
		t.Errorf("(*FilterSet)(nil).Queues = %q, %v; want the topic's own queue", got, err)
	}
	// What a nil set refuses, it refuses for the filter first: a bad filter
	// is named as such.
	if err := fs.Add("a/#/b"); !errors.Is(err, mqttrmq.ErrInvalidFilter) {
		t.Errorf("(*FilterSet)(nil).Add(a/#/b) = %v; want ErrInvalidFilter", err)
	}
}
