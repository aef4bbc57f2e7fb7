package mqttrmq_test

import (
	"errors"
	"fmt"
	"slices"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq"
)

func ExampleSplitTopic() {
	parent, second, err := mqttrmq.SplitTopic("ACE/live/100")
	fmt.Printf("%q %q %v\n", parent, second, err)

	_, _, err = mqttrmq.SplitTopic("/no/parent")
	fmt.Println(errors.Is(err, mqttrmq.ErrInvalidTopic), err)
	// Output:
	// "ACE" "/live/100" <nil>
	// true mqttrmq: SplitTopic "/no/parent": invalid topic: empty first level: no parent topic at byte 0 (level 1)
}

func ExampleJoinTopic() {
	topic, err := mqttrmq.JoinTopic("ACE", "/live/100")
	fmt.Println(topic, err)
	// Output: ACE/live/100 <nil>
}

// A gateway maps a device's publish onto a RocketMQ message.
func ExampleToRocketMQ() {
	p := mqttrmq.Publish{
		Topic:    "vehicles/telemetry/gps",
		QoS:      mqttrmq.AtLeastOnce,
		ClientID: "GID_car@@@v1", // from the connection, never from the device's payload
		Payload:  []byte(`{"lat":31.2}`),
	}
	msg := &primitive.Message{Body: p.Payload}
	topic, err := mqttrmq.ToRocketMQ(p, msg)
	if err != nil {
		fmt.Println(err)
		return
	}
	msg.Topic = topic
	fmt.Println("topic:", msg.Topic)
	props := msg.GetProperties()
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range props {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Printf("%s=%s\n", k, props[k])
	}
	// Output:
	// topic: vehicles
	// cleansessionflag=true
	// clientId=GID_car@@@v1
	// mqttSecondTopic=/telemetry/gps
	// qoslevel=1
}

// A backend reads what a device sent, from a message its consumer received.
func ExampleFromRocketMQ() {
	received := &primitive.MessageExt{Message: primitive.Message{Topic: "vehicles", Body: []byte("42")}}
	received.WithProperty("qoslevel", "1")
	received.WithProperty("cleansessionflag", "false")
	received.WithProperty("clientId", "GID_car@@@v1")
	received.WithProperty("mqttSecondTopic", "/telemetry/speed")

	p, err := mqttrmq.FromRocketMQ(received.Topic, received, received.Body)
	fmt.Printf("%s from %s at QoS %v, persistent %v: %s %v\n", p.Topic, p.ClientID, p.QoS, p.PersistentSession, p.Payload, err)
	// Output: vehicles/telemetry/speed from GID_car@@@v1 at QoS 1, persistent true: 42 <nil>
}

// A backend sends a command to exactly one vehicle.
func ExampleSetP2P() {
	msg := primitive.NewMessage("vehicles", []byte("unlock"))
	msg.WithTag(mqttrmq.TagToMQTT) // without it, MQTT clients receive nothing
	if err := mqttrmq.SetP2P(msg, "GID_car@@@v1"); err != nil {
		fmt.Println(err)
		return
	}
	if err := mqttrmq.SetQoS(msg, mqttrmq.AtLeastOnce); err != nil {
		fmt.Println(err)
		return
	}
	// producer.SendSync(ctx, msg)
	fmt.Println(mqttrmq.SecondTopicOf(msg), msg.GetTags())
	// Output: /p2p/GID_car@@@v1 MQ2MQTT
}

// A device sends to another device, which receives it without subscribing.
func ExampleP2PTopic() {
	topic, err := mqttrmq.P2PTopic("vehicles", "GID_car@@@v2")
	fmt.Println(topic, err)

	parent, target, ok := mqttrmq.ParseP2PTopic(topic)
	fmt.Println(parent, target, ok)
	// Output:
	// vehicles/p2p/GID_car@@@v2 <nil>
	// vehicles GID_car@@@v2 true
}

func ExampleMatchTopic() {
	fmt.Println(mqttrmq.MatchTopic("vehicles/+/gps", "vehicles/v1/gps"))
	fmt.Println(mqttrmq.MatchTopic("vehicles/#", "vehicles"))
	fmt.Println(mqttrmq.MatchTopic("#", "$SYS/uptime"))
	fmt.Println(mqttrmq.MatchTopic("$share/backend/vehicles/#", "vehicles/v1/gps"))
	// Output:
	// true
	// true
	// false
	// true
}

func ExampleValidateTopicFilter() {
	fmt.Println(mqttrmq.ValidateTopicFilter("sport/tennis/#/ranking"))
	// Output: mqttrmq: ValidateTopicFilter "sport/tennis/#/ranking": invalid topic filter: '#' is not the last level at byte 13 (level 3)
}

func ExampleParseClientID() {
	id, err := mqttrmq.ParseClientID("GID_car@@@v1")
	fmt.Printf("%s %s %v\n", id.GroupID, id.DeviceID, err)

	_, err = mqttrmq.ParseClientID("car-1")
	fmt.Println(err)
	// Output:
	// GID_car v1 <nil>
	// mqttrmq: ParseClientID "car-1": invalid client ID: no "@@@" between group ID and device ID
}

// A device connects to the hosted service in Signature mode.
func ExampleSignatureCredentials() {
	clientID := mqttrmq.ClientID{GroupID: "GID_car", DeviceID: "v1"}.String()
	username, password, err := mqttrmq.SignatureCredentials("LTAI5tExampleKey", "ExampleSecret", "mqtt-cn-0pp12345", clientID)
	if err != nil {
		fmt.Println(err)
		return
	}
	// With paho: mqtt.NewClientOptions().SetClientID(clientID).SetUsername(username).SetPassword(password)
	fmt.Println(username)
	fmt.Println(password)
	// Output:
	// Signature|LTAI5tExampleKey|mqtt-cn-0pp12345
	// E3DOmssiGJnaXx57v8Hvu0asg4k=
}

func ExampleTokenCredentials() {
	username, password, err := mqttrmq.TokenCredentials("LTAI5tExampleKey", "mqtt-cn-0pp12345",
		mqttrmq.Token{Type: "R", Value: "abc"}, mqttrmq.Token{Type: "W", Value: "def"})
	fmt.Println(username, password, err)
	// Output: Token|LTAI5tExampleKey|mqtt-cn-0pp12345 R|abc|W|def <nil>
}
