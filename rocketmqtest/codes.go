package rocketmqtest

import "strconv"

// RequestCode identifies a remoting request. The numbers are Apache
// RocketMQ's (org.apache.rocketmq.remoting.protocol.RequestCode); the names
// are that class's names in Go spelling.
type RequestCode int16

// Request codes the server answers, or that it sends to clients
// (NotifyConsumerIdsChanged). Codes not listed here are answered with
// [CodeRequestCodeNotSupported], as a real broker answers codes it lacks.
const (
	SendMessage                   RequestCode = 10
	PullMessage                   RequestCode = 11
	QueryMessage                  RequestCode = 12
	QueryConsumerOffset           RequestCode = 14
	UpdateConsumerOffset          RequestCode = 15
	UpdateAndCreateTopic          RequestCode = 17
	SearchOffsetByTimestamp       RequestCode = 29
	GetMaxOffset                  RequestCode = 30
	GetMinOffset                  RequestCode = 31
	GetEarliestMsgStoreTime       RequestCode = 32
	ViewMessageByID               RequestCode = 33
	HeartBeat                     RequestCode = 34
	UnregisterClient              RequestCode = 35
	ConsumerSendMsgBack           RequestCode = 36
	EndTransaction                RequestCode = 37
	GetConsumerListByGroup        RequestCode = 38
	CheckTransactionState         RequestCode = 39
	NotifyConsumerIdsChanged      RequestCode = 40
	LockBatchMQ                   RequestCode = 41
	UnlockBatchMQ                 RequestCode = 42
	GetRouteInfoByTopic           RequestCode = 105
	GetBrokerClusterInfo          RequestCode = 106
	GetAllSubscriptionGroupConfig RequestCode = 201
	GetAllTopicListFromNameServer RequestCode = 206
	DeleteTopicInBroker           RequestCode = 215
	DeleteTopicInNameSrv          RequestCode = 216
	SendMessageV2                 RequestCode = 310
	SendBatchMessage              RequestCode = 320
	SendReplyMessage              RequestCode = 324
	SendReplyMessageV2            RequestCode = 325
)

var requestCodeNames = map[RequestCode]string{
	SendMessage:                   "SEND_MESSAGE",
	PullMessage:                   "PULL_MESSAGE",
	QueryMessage:                  "QUERY_MESSAGE",
	QueryConsumerOffset:           "QUERY_CONSUMER_OFFSET",
	UpdateConsumerOffset:          "UPDATE_CONSUMER_OFFSET",
	UpdateAndCreateTopic:          "UPDATE_AND_CREATE_TOPIC",
	SearchOffsetByTimestamp:       "SEARCH_OFFSET_BY_TIMESTAMP",
	GetMaxOffset:                  "GET_MAX_OFFSET",
	GetMinOffset:                  "GET_MIN_OFFSET",
	GetEarliestMsgStoreTime:       "GET_EARLIEST_MSG_STORETIME",
	ViewMessageByID:               "VIEW_MESSAGE_BY_ID",
	HeartBeat:                     "HEART_BEAT",
	UnregisterClient:              "UNREGISTER_CLIENT",
	ConsumerSendMsgBack:           "CONSUMER_SEND_MSG_BACK",
	EndTransaction:                "END_TRANSACTION",
	GetConsumerListByGroup:        "GET_CONSUMER_LIST_BY_GROUP",
	CheckTransactionState:         "CHECK_TRANSACTION_STATE",
	NotifyConsumerIdsChanged:      "NOTIFY_CONSUMER_IDS_CHANGED",
	LockBatchMQ:                   "LOCK_BATCH_MQ",
	UnlockBatchMQ:                 "UNLOCK_BATCH_MQ",
	GetRouteInfoByTopic:           "GET_ROUTEINFO_BY_TOPIC",
	GetBrokerClusterInfo:          "GET_BROKER_CLUSTER_INFO",
	GetAllSubscriptionGroupConfig: "GET_ALL_SUBSCRIPTIONGROUP_CONFIG",
	GetAllTopicListFromNameServer: "GET_ALL_TOPIC_LIST_FROM_NAMESERVER",
	DeleteTopicInBroker:           "DELETE_TOPIC_IN_BROKER",
	DeleteTopicInNameSrv:          "DELETE_TOPIC_IN_NAMESRV",
	SendMessageV2:                 "SEND_MESSAGE_V2",
	SendBatchMessage:              "SEND_BATCH_MESSAGE",
	SendReplyMessage:              "SEND_REPLY_MESSAGE",
	SendReplyMessageV2:            "SEND_REPLY_MESSAGE_V2",
}

// String returns the Java constant name, such as "PULL_MESSAGE", or the
// number for codes this package does not name.
func (c RequestCode) String() string {
	if n, ok := requestCodeNames[c]; ok {
		return n
	}
	return "RequestCode(" + strconv.Itoa(int(c)) + ")"
}

// ResponseCode is the outcome a response carries. The numbers are Apache
// RocketMQ's (RemotingSysResponseCode and ResponseCode).
type ResponseCode int16

// Response codes the server sends.
const (
	CodeSuccess                   ResponseCode = 0
	CodeSystemError               ResponseCode = 1
	CodeSystemBusy                ResponseCode = 2
	CodeRequestCodeNotSupported   ResponseCode = 3
	CodeMessageIllegal            ResponseCode = 13
	CodeServiceNotAvailable       ResponseCode = 14
	CodeNoPermission              ResponseCode = 16
	CodeTopicNotExist             ResponseCode = 17
	CodePullNotFound              ResponseCode = 19
	CodePullRetryImmediately      ResponseCode = 20
	CodePullOffsetMoved           ResponseCode = 21
	CodeQueryNotFound             ResponseCode = 22
	CodeSubscriptionParseFailed   ResponseCode = 23
	CodeSubscriptionNotExist      ResponseCode = 24
	CodeSubscriptionGroupNotExist ResponseCode = 26
	CodeInvalidParameter          ResponseCode = 29
)

var responseCodeNames = map[ResponseCode]string{
	CodeSuccess:                   "SUCCESS",
	CodeSystemError:               "SYSTEM_ERROR",
	CodeSystemBusy:                "SYSTEM_BUSY",
	CodeRequestCodeNotSupported:   "REQUEST_CODE_NOT_SUPPORTED",
	CodeMessageIllegal:            "MESSAGE_ILLEGAL",
	CodeServiceNotAvailable:       "SERVICE_NOT_AVAILABLE",
	CodeNoPermission:              "NO_PERMISSION",
	CodeTopicNotExist:             "TOPIC_NOT_EXIST",
	CodePullNotFound:              "PULL_NOT_FOUND",
	CodePullRetryImmediately:      "PULL_RETRY_IMMEDIATELY",
	CodePullOffsetMoved:           "PULL_OFFSET_MOVED",
	CodeQueryNotFound:             "QUERY_NOT_FOUND",
	CodeSubscriptionParseFailed:   "SUBSCRIPTION_PARSE_FAILED",
	CodeSubscriptionNotExist:      "SUBSCRIPTION_NOT_EXIST",
	CodeSubscriptionGroupNotExist: "SUBSCRIPTION_GROUP_NOT_EXIST",
	CodeInvalidParameter:          "INVALID_PARAMETER",
}

// String returns the Java constant name, such as "TOPIC_NOT_EXIST", or the
// number for codes this package does not name.
func (c ResponseCode) String() string {
	if n, ok := responseCodeNames[c]; ok {
		return n
	}
	return "ResponseCode(" + strconv.Itoa(int(c)) + ")"
}
