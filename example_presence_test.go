package mqttrmq_test

import (
	"fmt"

	"github.com/mqttrmq/mqttrmq"
)

// A backend reads the body of a message on the status topic.
func ExampleParsePresenceEvent() {
	body := []byte(`{"clientId":"GID_car@@@v1","time":1700000000000,"eventType":"connect","channelId":"gw-1-7","clientIp":"203.0.113.7:51234"}`)
	e, err := mqttrmq.ParsePresenceEvent(body)
	fmt.Println(e.ClientID, e.EventType, e.ChannelID, e.ClientIP, e.Time.UTC().Format("2006-01-02 15:04:05.000"), err)
	// Output: GID_car@@@v1 connect gw-1-7 203.0.113.7:51234 2023-11-14 22:13:20.000 <nil>
}

// A device reconnects before its old connection's tcpclean arrives: the
// old channel's event does not take it offline.
func ExamplePresenceTracker() {
	var online mqttrmq.PresenceTracker
	for _, body := range []string{
		`{"clientId":"GID_car@@@v1","time":1000,"eventType":"connect","channelId":"gw-1-7"}`,
		`{"clientId":"GID_car@@@v1","time":5000,"eventType":"connect","channelId":"gw-2-3"}`,
		`{"clientId":"GID_car@@@v1","time":5200,"eventType":"tcpclean","channelId":"gw-1-7"}`,
	} {
		e, err := mqttrmq.ParsePresenceEvent([]byte(body))
		if err != nil {
			fmt.Println(err)
			continue
		}
		online.Apply(e)
	}
	p, _ := online.Status("GID_car@@@v1")
	fmt.Println(p.Online, p.ChannelID)
	// Output: true gw-2-3
}
