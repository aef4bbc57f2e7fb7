package remoting

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// Request codes (org.apache.rocketmq.remoting.protocol.RequestCode).
const (
	codePullMessage          = 11
	codeQueryConsumerOffset  = 14
	codeUpdateConsumerOffset = 15
	codeSearchOffset         = 29
	codeGetMaxOffset         = 30
	codeGetRouteInfoByTopic  = 105
)

// permWrite is the permission bit of queues that take messages
// [PermName.PERM_WRITE].
const permWrite = 1 << 1

// Response codes (org.apache.rocketmq.remoting.protocol.ResponseCode).
const (
	respSuccess         = 0
	respTopicNotExist   = 17
	respPullNotFound    = 19
	respPullRetry       = 20
	respPullOffsetMoved = 21
	respQueryNotFound   = 22
)

// Route is where a topic's queues are: its brokers' master addresses.
type Route struct {
	Brokers map[string]string // broker name → master address
	Queues  map[string]int    // broker name → read queues
	// Writable is, for each broker name whose queues take messages
	// (PermName.PERM_WRITE), how many queues a producer sends to.
	Writable map[string]int
}

// GetRoute asks a name server for a topic's route.
func GetRoute(ctx context.Context, ns *Conn, topic string) (Route, error) {
	resp, err := ns.Call(ctx, codeGetRouteInfoByTopic, map[string]string{"topic": topic}, nil)
	if err != nil {
		return Route{}, err
	}
	if resp.Code != respSuccess {
		return Route{}, &Error{ns.addr, codeGetRouteInfoByTopic, resp.Code, resp.Remark}
	}
	var rd struct {
		QueueDatas []struct {
			BrokerName     string `json:"brokerName"`
			ReadQueueNums  int    `json:"readQueueNums"`
			WriteQueueNums int    `json:"writeQueueNums"`
			Perm           int    `json:"perm"`
		} `json:"queueDatas"`
		BrokerDatas []struct {
			BrokerName  string            `json:"brokerName"`
			BrokerAddrs map[string]string `json:"brokerAddrs"`
		} `json:"brokerDatas"`
	}
	if err := decodeJSON(resp.Body, &rd); err != nil {
		return Route{}, fmt.Errorf("remoting: route of %s: %w", topic, err)
	}
	r := Route{Brokers: map[string]string{}, Queues: map[string]int{}, Writable: map[string]int{}}
	for _, b := range rd.BrokerDatas {
		if a, ok := b.BrokerAddrs["0"]; ok {
			r.Brokers[b.BrokerName] = a
		}
	}
	for _, q := range rd.QueueDatas {
		r.Queues[q.BrokerName] = q.ReadQueueNums
		if q.Perm&permWrite != 0 && q.WriteQueueNums > 0 {
			r.Writable[q.BrokerName] = q.WriteQueueNums
		}
	}
	return r, nil
}

// intKeys quotes the integer keys the broker's JSON writer leaves bare
// ({0:"127.0.0.1:10911"}), so that encoding/json reads them.
var intKeys = regexp.MustCompile(`([{,])(-?\d+):`)

func decodeJSON(body []byte, v any) error {
	return json.Unmarshal(intKeys.ReplaceAll(body, []byte(`$1"$2":`)), v)
}

// PullResult is what one pull brought.
type PullResult struct {
	Messages []*primitive.MessageExt
	Next     int64 // the offset to pull from next
	// Moved says the offset asked for is outside the queue: Next is where
	// the queue now begins or ends.
	Moved bool
}

// Pull reads up to max messages of a queue from offset, for group. With
// suspend over 0 the broker holds the request until a message comes or
// suspend passes (a long poll); ctx must outlast it.
func Pull(ctx context.Context, br *Conn, group, topic string, queue int, offset int64, max int, suspend time.Duration) (PullResult, error) {
	// FLAG_SUBSCRIPTION: the request carries its subscription ("*"), so
	// that the broker serves a group no consumer registered.
	sysFlag := 4
	if suspend > 0 {
		sysFlag |= 2 // FLAG_SUSPEND
	}
	ext := map[string]string{
		"consumerGroup":        group,
		"topic":                topic,
		"queueId":              strconv.Itoa(queue),
		"queueOffset":          strconv.FormatInt(offset, 10),
		"maxMsgNums":           strconv.Itoa(max),
		"sysFlag":              strconv.Itoa(sysFlag),
		"commitOffset":         "0",
		"suspendTimeoutMillis": strconv.FormatInt(suspend.Milliseconds(), 10),
		"subscription":         "*",
		"subVersion":           "0",
		"expressionType":       "TAG",
	}
	resp, err := br.Call(ctx, codePullMessage, ext, nil)
	if err != nil {
		return PullResult{}, err
	}
	next, _ := strconv.ParseInt(resp.ExtFields["nextBeginOffset"], 10, 64)
	switch resp.Code {
	case respSuccess:
		return PullResult{Messages: primitive.DecodeMessage(resp.Body), Next: next}, nil
	case respPullNotFound, respPullRetry:
		if next < offset {
			next = offset
		}
		return PullResult{Next: next}, nil
	case respPullOffsetMoved:
		return PullResult{Next: next, Moved: true}, nil
	}
	return PullResult{}, &Error{br.addr, codePullMessage, resp.Code, resp.Remark}
}

func offsetRequest(ctx context.Context, br *Conn, code int, ext map[string]string) (int64, bool, error) {
	resp, err := br.Call(ctx, code, ext, nil)
	if err != nil {
		return 0, false, err
	}
	switch resp.Code {
	case respSuccess:
		off, err := strconv.ParseInt(resp.ExtFields["offset"], 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("remoting: request %d to %s: offset %q", code, br.addr, resp.ExtFields["offset"])
		}
		return off, true, nil
	case respQueryNotFound, respTopicNotExist:
		return 0, false, nil
	}
	return 0, false, &Error{br.addr, code, resp.Code, resp.Remark}
}

// MaxOffset returns the offset after a queue's last message.
func MaxOffset(ctx context.Context, br *Conn, topic string, queue int) (int64, error) {
	off, _, err := offsetRequest(ctx, br, codeGetMaxOffset, map[string]string{"topic": topic, "queueId": strconv.Itoa(queue)})
	return off, err
}

// SearchOffset returns the offset of a queue's first message stored at or
// after t.
func SearchOffset(ctx context.Context, br *Conn, topic string, queue int, t time.Time) (int64, error) {
	off, _, err := offsetRequest(ctx, br, codeSearchOffset, map[string]string{
		"topic": topic, "queueId": strconv.Itoa(queue), "timestamp": strconv.FormatInt(t.UnixMilli(), 10),
	})
	return off, err
}

// ConsumerOffset returns the offset a group committed for a queue; ok is
// false when it committed none. For a group that never committed, a real
// broker answers 0 rather than none while the queue still holds its first
// message: either means "from the start".
func ConsumerOffset(ctx context.Context, br *Conn, group, topic string, queue int) (offset int64, ok bool, err error) {
	return offsetRequest(ctx, br, codeQueryConsumerOffset, map[string]string{
		"consumerGroup": group, "topic": topic, "queueId": strconv.Itoa(queue),
	})
}

// CommitOffset commits a group's offset for a queue.
func CommitOffset(ctx context.Context, br *Conn, group, topic string, queue int, offset int64) error {
	resp, err := br.Call(ctx, codeUpdateConsumerOffset, map[string]string{
		"consumerGroup": group, "topic": topic, "queueId": strconv.Itoa(queue), "commitOffset": strconv.FormatInt(offset, 10),
	}, nil)
	if err != nil {
		return err
	}
	if resp.Code != respSuccess {
		return &Error{br.addr, codeUpdateConsumerOffset, resp.Code, resp.Remark}
	}
	return nil
}
