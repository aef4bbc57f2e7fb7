package mqttrmq_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq"
)

// A backend sends a device a request: the device answers on the response
// topic with the correlation data, and its answer reaches RocketMQ on the
// parent topic vehicles, where the backend reads it.
func ExampleSetResponseTopic() {
	cmd := primitive.NewMessage("vehicles", []byte("unlock"))
	cmd.WithTag(mqttrmq.TagToMQTT)
	correlation := []byte("req-42")
	for _, err := range []error{
		mqttrmq.SetP2P(cmd, "GID_car@@@v1"),
		mqttrmq.SetResponseTopic(cmd, "vehicles/replies/backend-1"),
		mqttrmq.SetCorrelationData(cmd, correlation),
		mqttrmq.SetMessageExpiry(cmd, mqttrmq.ExpiresAfter(30)), // worthless later
	} {
		if err != nil {
			fmt.Println(err)
			return
		}
	}
	// producer.SendSync(ctx, cmd)
	fmt.Println(cmd.GetProperty(mqttrmq.PropResponseTopic), cmd.GetProperty(mqttrmq.PropCorrelationData), cmd.GetProperty(mqttrmq.PropMessageExpiry))

	// The device's answer, as the backend's consumer receives it.
	answer := &primitive.MessageExt{Message: primitive.Message{Topic: "vehicles", Body: []byte("unlocked")}}
	answer.WithProperty(mqttrmq.PropSecondTopic, "/replies/backend-1")
	answer.WithProperty(mqttrmq.PropClientID, "GID_car@@@v1")
	answer.WithProperty(mqttrmq.PropCorrelationData, "cmVxLTQy")
	p, err := mqttrmq.FromRocketMQ(answer.Topic, answer, answer.Body)
	fmt.Println(p.Topic, p.ClientID, string(p.Payload), bytes.Equal(p.CorrelationData, correlation), err)
	// Output:
	// vehicles/replies/backend-1 cmVxLTQy 30
	// vehicles/replies/backend-1 GID_car@@@v1 unlocked true <nil>
}

// A reader counts a message's expiry from when it was sent.
func ExampleExpiry_Remaining() {
	received := &primitive.MessageExt{Message: primitive.Message{Topic: "vehicles"}, BornTimestamp: 1767323045000}
	received.WithProperty(mqttrmq.PropMessageExpiry, "30")
	p, err := mqttrmq.FromRocketMQ(received.Topic, received, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, waited := range []time.Duration{0, 12500 * time.Millisecond, 30 * time.Second} {
		left, expired := p.MessageExpiry.Remaining(p.Born, p.Born.Add(waited))
		fmt.Printf("after %v: %v left, expired %v\n", waited, left, expired)
	}
	// Output:
	// after 0s: 30s left, expired false
	// after 12.5s: 18s left, expired false
	// after 30s: 0s left, expired true
}
