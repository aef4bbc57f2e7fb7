package rocketmqtest

import (
	"encoding/json"
	"strings"
)

// nameServerCommands are the name server's requests: clients find the
// broker serving a topic here.
var nameServerCommands = []registration{
	{GetRouteInfoByTopic, (*Server).handleRouteInfo},
	{GetBrokerClusterInfo, (*Server).handleClusterInfo},
	{GetAllTopicListFromNameServer, (*Server).handleTopicList},
	{DeleteTopicInNameSrv, (*Server).handleDeleteTopic},
}

// routeData is TopicRouteData as the name server sends it to clients that
// accept standard JSON: broker IDs are quoted map keys.
type routeData struct {
	QueueDatas        []queueData         `json:"queueDatas"`
	BrokerDatas       []brokerData        `json:"brokerDatas"`
	FilterServerTable map[string][]string `json:"filterServerTable"`
}

type queueData struct {
	BrokerName     string `json:"brokerName"`
	ReadQueueNums  int    `json:"readQueueNums"`
	WriteQueueNums int    `json:"writeQueueNums"`
	Perm           int    `json:"perm"`
	TopicSysFlag   int    `json:"topicSysFlag"`
}

type brokerData struct {
	Cluster     string            `json:"cluster"`
	BrokerName  string            `json:"brokerName"`
	BrokerAddrs map[string]string `json:"brokerAddrs"`
}

func (s *Server) brokerData() brokerData {
	return brokerData{Cluster: ClusterName, BrokerName: BrokerName, BrokerAddrs: map[string]string{"0": s.addr}}
}

// handleRouteInfo answers GET_ROUTEINFO_BY_TOPIC. TBW102 has a route only
// while auto-creation is on; a Light Message Queue never has one. A retry topic (%RETRY%group) is created on
// first lookup; a real broker creates it at the group's first heartbeat,
// which comes after the client's first lookup, so a real consumer sees its
// retry queue only at the next route refresh (30 s). Here it sees it at once.
func (s *Server) handleRouteInfo(c *conn, req *request) *reply {
	name, ok := req.ext.lookup("topic")
	if !ok {
		return response(CodeSystemError, "the custom field <topic> is null")
	}
	var t *topic
	switch {
	case isLMQ(name):
		// The broker never registers a Light Message Queue with the
		// name server (LmqTopicConfigManager keeps no config for it).
	case strings.HasPrefix(name, retryGroupPrefix) && validateTopic(name) == "":
		t = s.store.ensure(name, 1)
	default:
		t = s.store.lookup(name)
	}
	if t == nil {
		return responsef(CodeTopicNotExist, "No topic route info in name server for the topic: %s%s", name, faqSuffix)
	}
	s.store.mu.Lock()
	n, perm := len(t.queues), t.perm
	s.store.mu.Unlock()
	body, err := json.Marshal(routeData{
		QueueDatas: []queueData{{
			BrokerName: BrokerName, ReadQueueNums: n, WriteQueueNums: n, Perm: perm,
		}},
		BrokerDatas:       []brokerData{s.brokerData()},
		FilterServerTable: map[string][]string{},
	})
	if err != nil {
		return responsef(CodeSystemError, "encode route: %v", err)
	}
	rep := response(CodeSuccess, "")
	rep.body = [][]byte{body}
	return rep
}

func (s *Server) handleClusterInfo(c *conn, req *request) *reply {
	body, err := json.Marshal(struct {
		BrokerAddrTable  map[string]brokerData `json:"brokerAddrTable"`
		ClusterAddrTable map[string][]string   `json:"clusterAddrTable"`
	}{
		BrokerAddrTable:  map[string]brokerData{BrokerName: s.brokerData()},
		ClusterAddrTable: map[string][]string{ClusterName: {BrokerName}},
	})
	if err != nil {
		return responsef(CodeSystemError, "encode cluster info: %v", err)
	}
	rep := response(CodeSuccess, "")
	rep.body = [][]byte{body}
	return rep
}

func (s *Server) handleTopicList(c *conn, req *request) *reply {
	body, err := json.Marshal(struct {
		TopicList []string `json:"topicList"`
	}{s.store.topicNames()})
	if err != nil {
		return responsef(CodeSystemError, "encode topic list: %v", err)
	}
	rep := response(CodeSuccess, "")
	rep.body = [][]byte{body}
	return rep
}
