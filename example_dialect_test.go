package mqttrmq_test

import (
	"fmt"
	"slices"
	"strings"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq"
)

// A gateway in Apache RocketMQ-MQTT's dialect maps a device's publish and
// fans it out to the queues of the wildcard subscriptions that match it.
func ExampleDialect_ToRocketMQ() {
	var subscriptions mqttrmq.FilterSet
	for _, f := range []string{"vehicles/+/gps", "vehicles/#", "vehicles/v2/#"} {
		if err := subscriptions.Add(f); err != nil {
			fmt.Println(err)
			return
		}
	}
	d := mqttrmq.ApacheRocketMQMQTT.WithFilters(&subscriptions)

	p := mqttrmq.Publish{
		Topic:          "vehicles/v1/gps",
		QoS:            mqttrmq.AtLeastOnce,
		ClientID:       "GID_car@@@v1",
		Payload:        []byte(`{"lat":31.2}`),
		UserProperties: []mqttrmq.UserProperty{{Key: "unit", Value: "deg"}},
	}
	msg := &primitive.Message{Body: p.Payload}
	topic, err := d.ToRocketMQ(p, msg)
	if err != nil {
		fmt.Println(err)
		return
	}
	msg.Topic = topic
	fmt.Println("topic:", msg.Topic, "tag:", msg.GetTags())
	fmt.Println("originMqttTopic:", msg.GetProperty(mqttrmq.PropOriginTopic))
	fmt.Println("extData:", msg.GetProperty(mqttrmq.PropExtData))
	for _, q := range strings.Split(msg.GetProperty(mqttrmq.PropDispatch), ",") {
		fmt.Println("queue:", q)
	}
	// Output:
	// topic: vehicles tag: MQTT_COMMON
	// originMqttTopic: vehicles/v1/gps
	// extData: {"qosLevel":"1","unit":"deg"}
	// queue: %LMQ%vehicles%v1%gps%
	// queue: %LMQ%vehicles%#%
	// queue: %LMQ%vehicles%+%gps%
}

// A message from RocketMQ-MQTT's own RocketMQProducer example names its
// topic in INNER_MULTI_DISPATCH alone.
func ExampleDialect_FromRocketMQ() {
	received := &primitive.MessageExt{Message: primitive.Message{Topic: "firstTopic", Body: []byte("MQ_1")}}
	received.WithProperty(mqttrmq.PropDispatch, "%LMQ%firstTopic%r%+%,%LMQ%firstTopic%r%wc%")

	p, err := mqttrmq.ApacheRocketMQMQTT.FromRocketMQ(received.Topic, received, received.Body)
	fmt.Printf("%s at QoS %v: %s %v\n", p.Topic, p.QoS, p.Payload, err)
	// Output: firstTopic/r/wc at QoS 1: MQ_1 <nil>
}

func ExampleLMQQueue() {
	q, err := mqttrmq.LMQQueue("a/b/c")
	fmt.Println(q, err)

	topic, err := mqttrmq.ParseLMQQueue(q)
	fmt.Println(topic, err)

	// a/b/ would share a/b's queue: refused rather than collide.
	_, err = mqttrmq.LMQQueue("a/b/")
	fmt.Println(err)
	// Output:
	// %LMQ%a%b%c% <nil>
	// a/b/c <nil>
	// mqttrmq: LMQQueue "a/b/": invalid topic: trailing '/': RocketMQ-MQTT gives a/b and a/b/ the same queue at byte 3 (level 2)
}

// RocketMQ-MQTT keeps the wildcard filters of each first-level topic in the
// name server's KV configuration, comma-separated; Replace loads one list.
func ExampleFilterSet_Replace() {
	var fs mqttrmq.FilterSet
	kvValue := "test/+,test/a/#" // namespace "LMQ", key "test"
	if err := fs.Replace("test", strings.Split(kvValue, ",")); err != nil {
		fmt.Println(err)
		return
	}
	queues, err := fs.Queues("test/a")
	fmt.Println(queues, err)
	// Output: [%LMQ%test%a% %LMQ%test%a%#% %LMQ%test%+%] <nil>
}

// A backend addresses MQTT clients of RocketMQ-MQTT: the message must list
// the queue of every matching wildcard subscription, or test/# subscribers
// never receive it.
func ExampleFilterSet_AppendDispatch() {
	var fs mqttrmq.FilterSet
	for _, f := range []string{"test/#", "test/+/cmd"} {
		if err := fs.Add(f); err != nil {
			fmt.Println(err)
			return
		}
	}
	buf := make([]byte, 0, 256) // reused from message to message: no allocation
	buf, err := fs.AppendDispatch(buf[:0], "test/v1/cmd")
	if err != nil {
		fmt.Println(err)
		return
	}
	msg := primitive.NewMessage("test", []byte("unlock"))
	msg.WithProperty(mqttrmq.PropDispatch, string(buf))
	fmt.Println(msg.GetProperty(mqttrmq.PropDispatch))
	// Output: %LMQ%test%v1%cmd%,%LMQ%test%#%,%LMQ%test%+%cmd%
}

// A backend of Apache RocketMQ-MQTT sends a command to exactly one vehicle,
// with the setters of its dialect: the same as the hosted service's.
func ExampleDialect_SetP2P() {
	d := mqttrmq.ApacheRocketMQMQTT
	msg := primitive.NewMessage("vehicles", []byte("unlock"))
	msg.WithTag(d.DownlinkTag())
	if err := d.SetP2P(msg, "GID_car@@@v1"); err != nil {
		fmt.Println(err)
		return
	}
	if err := d.SetQoS(msg, mqttrmq.AtLeastOnce); err != nil {
		fmt.Println(err)
		return
	}
	// producer.SendSync(ctx, msg)
	fmt.Println(msg.GetTags(), msg.GetProperty(mqttrmq.PropDispatch), msg.GetProperty(mqttrmq.PropExtData))
	// Output: MQTT_COMMON %LMQ%%p2p%GID_car@@@v1% {"qosLevel":"1"}
}

// A backend addresses the subscribers of a topic, in either dialect: SetTopic
// writes what the dialect reads the topic from, and returns the RocketMQ
// topic to send to.
func ExampleDialect_SetTopic() {
	for _, d := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
		msg := primitive.NewMessage("", []byte("return to depot"))
		msg.WithTag(d.DownlinkTag())
		topic, err := d.SetTopic(msg, "vehicles/cmd/all")
		if err != nil {
			fmt.Println(err)
			return
		}
		msg.Topic = topic
		fmt.Println(d, msg.Topic, msg.GetProperty(d.TopicKey()))
	}
	// Output:
	// alibaba-cloud vehicles /cmd/all
	// apache-rocketmq-mqtt vehicles vehicles/cmd/all
}

// A gateway finds the subscriptions a message reaches: the filters, as
// registered, that match its topic.
func ExampleFilterSet_AppendFilters() {
	var fs mqttrmq.FilterSet
	for _, f := range []string{"vehicles/+/gps", "$share/backend/vehicles/#", "chat/#"} {
		if err := fs.Add(f); err != nil {
			fmt.Println(err)
			return
		}
	}
	buf := make([]string, 0, 16) // reused from message to message: no allocation
	filters, err := fs.AppendFilters(buf[:0], "vehicles/v1/gps")
	slices.Sort(filters)
	fmt.Println(filters, err)
	// Output: [vehicles/# vehicles/+/gps] <nil>
}

func ExampleParseDialect() {
	d, err := mqttrmq.ParseDialect("apache-rocketmq-mqtt") // from a -dialect flag
	fmt.Println(d, d.QoSKey(), d.TopicKey(), d.DownlinkTag(), err)
	fmt.Println(d == mqttrmq.ApacheRocketMQMQTT, d.WithFilters(nil).Is(mqttrmq.ApacheRocketMQMQTT))
	// Output:
	// apache-rocketmq-mqtt qosLevel originMqttTopic MQTT_COMMON <nil>
	// true true
}
