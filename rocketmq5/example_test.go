package rocketmq5_test

import (
	"fmt"
	"maps"
	"slices"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/rocketmq5"
)

// A device's publish as a message of the RocketMQ 5 gRPC client, in
// Apache RocketMQ-MQTT's dialect: the dialect's TAGS property becomes the
// message's tag, every other key a property.
func ExampleNewMessage() {
	var subs mqttrmq.FilterSet
	if err := subs.Add("vehicles/+/gps"); err != nil {
		fmt.Println(err)
		return
	}
	p := mqttrmq.Publish{Topic: "vehicles/v1/gps", QoS: 1, ClientID: "GID_car@@@v1", Payload: []byte("31.2,121.5")}
	msg, err := rocketmq5.NewMessage(mqttrmq.ApacheRocketMQMQTT.WithFilters(&subs), p)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("topic:", msg.Topic, "tag:", *msg.GetTag())
	props := msg.GetProperties()
	for _, k := range slices.Sorted(maps.Keys(props)) {
		fmt.Printf("%s=%s\n", k, props[k])
	}
	// Output:
	// topic: vehicles tag: MQTT_COMMON
	// INNER_MULTI_DISPATCH=%LMQ%vehicles%v1%gps%,%LMQ%vehicles%+%gps%
	// IS_EMPTY_MSG=false
	// cleanSessionFlag=true
	// clientId=GID_car@@@v1
	// extData={"qosLevel":"1"}
	// originMqttTopic=vehicles/v1/gps
	// qosLevel=1
	// retryTimes=0
}
