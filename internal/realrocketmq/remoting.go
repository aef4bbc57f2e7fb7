package realrocketmq

import (
	"encoding/json"
	"regexp"
	"strconv"

	"github.com/mqttrmq/mqttrmq/internal/remoting"
)

// Request codes of RocketMQ's remoting protocol used here
// (org.apache.rocketmq.remoting.protocol.RequestCode).
const (
	codePullMessage             = 11
	codeQueryConsumerOffset     = 14
	codeUpdateAndCreateTopic    = 17
	codeGetMaxOffset            = 30
	codeGetMinOffset            = 31
	codeGetConsumerListByGroup  = 38
	codeGetRouteInfoByTopic     = 105
	codeGetBrokerClusterInfo    = 106
	codeGetConsumerConnections  = 203
	codeGetAllTopicListFromNS   = 206
	codeDeleteTopicInBroker     = 215
	codeDeleteTopicInNameServer = 216
)

// Response codes (org.apache.rocketmq.remoting.protocol.ResponseCode).
const (
	respSuccess           = 0
	respPullNotFound      = 19
	respPullRetry         = 20
	respPullOffsetMoved   = 21
	respQueryNotFound     = 22
	respTopicNotExist     = 17
	respConsumerNotOnline = 206
)

// RemoteError is a response other than the one a request wanted.
type RemoteError = remoting.Error

// conn is one connection to a name server or broker: the project's
// remoting client (internal/remoting).
type conn = remoting.Conn

// intKeys quotes the integer keys the broker's JSON writer leaves bare
// (a map keyed by queue ID), which encoding/json refuses.
var intKeys = regexp.MustCompile(`([{,])(-?\d+):`)

func decodeJSON(body []byte, v any) error {
	return json.Unmarshal(intKeys.ReplaceAll(body, []byte(`$1"$2":`)), v)
}

func itoa(n int) string { return strconv.Itoa(n) }
