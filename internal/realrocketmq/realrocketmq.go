// Package realrocketmq reaches the real Apache RocketMQ that the
// project's tests run against: `.ci/rocketmq start` runs a name server and
// a broker on loopback and prints their address, `.ci/run` exports it as
// MQTTRMQ_NAMESRV, and tests call NameServer or Connect to find it, or to
// skip (saying how to run them) where it is not set.
//
// A Broker inspects and administers the broker the way the tests of
// rocketmqtest inspect its server: topics are created and deleted with the
// broker's own admin requests (UPDATE_AND_CREATE_TOPIC, DELETE_TOPIC_IN_BROKER),
// stored messages are read back with plain pulls and decoded by
// rocketmq-client-go's primitive.DecodeMessage, consumer groups and their
// offsets come from the broker's answers. Where the broker was started by
// `.ci/rocketmq`, its process can be paused, resumed, killed and restarted
// for fault tests.
//
// It speaks RocketMQ's remoting protocol itself rather than through
// rocketmq-client-go's admin package, whose client is process-wide and
// leaves goroutines running after Close.
package realrocketmq

import (
	"context"
	"errors"
	"fmt"
	"github.com/mqttrmq/mqttrmq/internal/remoting"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// Environment variables the tests read.
const (
	// NamesrvEnv holds the real name server's address, ip:port.
	NamesrvEnv = "MQTTRMQ_NAMESRV"
	// RequireEnv turns "no real RocketMQ" from a skip into a failure; CI
	// sets it, so CI never skips a test on the real broker.
	RequireEnv = "MQTTRMQ_REQUIRE_ROCKETMQ"
	// StateEnv names the state directory of `.ci/rocketmq`, where it keeps
	// the broker's PID; by default the script's own.
	StateEnv = "MQTTRMQ_ROCKETMQ_STATE"
)

// HowTo says how to run the tests on a real broker.
const HowTo = "run them with a real Apache RocketMQ: .ci/rocketmq run go test ./... (or set " + NamesrvEnv + " to a name server, ip:port)"

// NameServer returns the real name server's address from NamesrvEnv. Where
// it is unset the test is skipped with HowTo, or fails when RequireEnv is set.
func NameServer(tb testing.TB) string {
	tb.Helper()
	ns := os.Getenv(NamesrvEnv)
	if ns == "" {
		if os.Getenv(RequireEnv) != "" {
			tb.Fatalf("%s is set but %s is not: start a broker with .ci/rocketmq start", RequireEnv, NamesrvEnv)
		}
		tb.Skip("no real RocketMQ: " + HowTo)
	}
	if _, _, err := net.SplitHostPort(ns); err != nil {
		tb.Fatalf("%s=%q is not ip:port: %v", NamesrvEnv, ns, err)
	}
	return ns
}

// Broker is the real name server and its one master broker.
type Broker struct {
	NameServer string // ip:port
	Addr       string // the master broker's ip:port
	Cluster    string
	Name       string // brokerName

	ns, br *conn

	mu     sync.Mutex
	closed bool
}

// Connect finds the broker behind NameServer(tb) and closes its
// connections when the test ends.
//
// The test has the broker to itself until it ends: tests of different
// packages, which go test runs in parallel processes, reset and read the
// same topics, so Connect takes a lock that every test binary on this
// machine shares for that name server (a file lock in the temporary
// directory), and releases it after the test's other cleanups.
func Connect(tb testing.TB) *Broker {
	tb.Helper()
	ns := NameServer(tb)
	lock(tb, ns)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := Dial(ctx, ns)
	if err != nil {
		tb.Fatalf("the real RocketMQ at %s: %v", ns, err)
	}
	tb.Cleanup(b.Close)
	return b
}

// lockWait bounds how long a test waits for another one's turn on the broker.
const lockWait = 15 * time.Minute

// lock takes the machine-wide lock for the broker at ns until tb ends.
func lock(tb testing.TB, ns string) {
	tb.Helper()
	name := filepath.Join(os.TempDir(), "mqttrmq-rocketmq-"+strings.NewReplacer(":", "_", "/", "_").Replace(ns)+".lock")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		tb.Fatalf("the lock on the real broker: %v", err)
	}
	start := time.Now()
	for syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		if time.Since(start) > lockWait {
			f.Close()
			tb.Fatalf("another test held the real broker at %s for %v", ns, lockWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Cleanup(func() { f.Close() }) // closing releases the lock
}

// Dial asks the name server at ns for its cluster and returns its first
// master broker.
func Dial(ctx context.Context, ns string) (*Broker, error) {
	b := &Broker{NameServer: ns, ns: remoting.NewConn(ns, primitive.Credentials{})}
	resp, err := b.ns.Call(ctx, codeGetBrokerClusterInfo, nil, nil)
	if err != nil {
		return nil, err
	}
	if resp.Code != respSuccess {
		return nil, &RemoteError{Addr: ns, Code: codeGetBrokerClusterInfo, Status: resp.Code, Remark: resp.Remark}
	}
	var info struct {
		BrokerAddrTable map[string]struct {
			Cluster     string            `json:"cluster"`
			BrokerName  string            `json:"brokerName"`
			BrokerAddrs map[string]string `json:"brokerAddrs"`
		} `json:"brokerAddrTable"`
	}
	if err := decodeJSON(resp.Body, &info); err != nil {
		return nil, fmt.Errorf("realrocketmq: cluster info from %s: %w", ns, err)
	}
	names := make([]string, 0, len(info.BrokerAddrTable))
	for name := range info.BrokerAddrTable {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		bd := info.BrokerAddrTable[name]
		if addr, ok := bd.BrokerAddrs["0"]; ok {
			b.Addr, b.Cluster, b.Name = addr, bd.Cluster, bd.BrokerName
			b.br = remoting.NewConn(addr, primitive.Credentials{})
			return b, nil
		}
	}
	b.ns.Close()
	return nil, fmt.Errorf("realrocketmq: the name server at %s knows no master broker", ns)
}

// Close closes the connections; the broker goes on.
func (b *Broker) Close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.ns.Close()
	if b.br != nil {
		b.br.Close()
	}
}

func (b *Broker) brokerCall(ctx context.Context, code int, ext map[string]string) (*remoting.Command, error) {
	return b.br.Call(ctx, code, ext, nil)
}

// Response is the broker's answer to a Request.
type Response struct {
	Code   int               // the response code (RocketMQ's ResponseCode)
	Remark string            // the broker's explanation, often empty
	Fields map[string]string // the response header's fields
	Body   []byte
}

// Request sends the broker a request with the given code (RocketMQ's
// RequestCode) and header fields, and returns its answer whatever its
// response code: for requests the tests make that no client makes in
// that form, such as a commit by a consumer group that never pulled. It
// fails only when the broker cannot be reached or does not answer before
// ctx ends (10 s without a deadline).
func (b *Broker) Request(ctx context.Context, code int, fields map[string]string) (*Response, error) {
	resp, err := b.brokerCall(ctx, code, fields)
	if err != nil {
		return nil, err
	}
	return &Response{Code: resp.Code, Remark: resp.Remark, Fields: resp.ExtFields, Body: resp.Body}, nil
}

// CreateTopic creates topic on the broker with queues read and write
// queues, as mqadmin updateTopic does, and waits until the name server
// routes it.
func (b *Broker) CreateTopic(ctx context.Context, topic string, queues int) error {
	resp, err := b.brokerCall(ctx, codeUpdateAndCreateTopic, map[string]string{
		"topic": topic, "defaultTopic": "TBW102", "readQueueNums": itoa(queues), "writeQueueNums": itoa(queues),
		"perm": "6", "topicFilterType": "SINGLE_TAG", "topicSysFlag": "0", "order": "false",
	})
	if err != nil {
		return err
	}
	if resp.Code != respSuccess {
		return &RemoteError{Addr: b.Addr, Code: codeUpdateAndCreateTopic, Status: resp.Code, Remark: resp.Remark}
	}
	for {
		n, err := b.RouteQueues(ctx, topic)
		if err == nil && n == queues {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("realrocketmq: topic %s created, but the name server routes %d queues of it (%v): %w", topic, n, err, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// DeleteTopic deletes topic from the broker and the name server, as
// mqadmin deleteTopic does: its queues, their messages' positions and the
// consumer offsets on it are gone, and a topic created again under the
// same name starts empty.
func (b *Broker) DeleteTopic(ctx context.Context, topic string) error {
	resp, err := b.brokerCall(ctx, codeDeleteTopicInBroker, map[string]string{"topic": topic})
	if err != nil {
		return err
	}
	if resp.Code != respSuccess {
		return &RemoteError{Addr: b.Addr, Code: codeDeleteTopicInBroker, Status: resp.Code, Remark: resp.Remark}
	}
	resp, err = b.ns.Call(ctx, codeDeleteTopicInNameServer, map[string]string{"topic": topic}, nil)
	if err != nil {
		return err
	}
	if resp.Code != respSuccess {
		return &RemoteError{Addr: b.NameServer, Code: codeDeleteTopicInNameServer, Status: resp.Code, Remark: resp.Remark}
	}
	return nil
}

// ResetTopic deletes topic if it exists and creates it again, empty, with
// queues queues: a test's own fresh topic on a broker that outlives tests.
func (b *Broker) ResetTopic(ctx context.Context, topic string, queues int) error {
	if err := b.DeleteTopic(ctx, topic); err != nil {
		return err
	}
	if err := b.CreateTopic(ctx, topic, queues); err != nil {
		return err
	}
	for q := range queues {
		if n, err := b.MaxOffset(ctx, topic, q); err != nil || n != 0 {
			return fmt.Errorf("realrocketmq: topic %s created again holds %d messages in queue %d (%v)", topic, n, q, err)
		}
	}
	return nil
}

// RouteQueues returns how many read queues the name server routes for topic.
func (b *Broker) RouteQueues(ctx context.Context, topic string) (int, error) {
	resp, err := b.ns.Call(ctx, codeGetRouteInfoByTopic, map[string]string{"topic": topic}, nil)
	if err != nil {
		return 0, err
	}
	if resp.Code != respSuccess {
		return 0, &RemoteError{Addr: b.NameServer, Code: codeGetRouteInfoByTopic, Status: resp.Code, Remark: resp.Remark}
	}
	var route struct {
		QueueDatas []struct {
			BrokerName    string `json:"brokerName"`
			ReadQueueNums int    `json:"readQueueNums"`
		} `json:"queueDatas"`
	}
	if err := decodeJSON(resp.Body, &route); err != nil {
		return 0, fmt.Errorf("realrocketmq: route of %s: %w", topic, err)
	}
	for _, q := range route.QueueDatas {
		if q.BrokerName == b.Name {
			return q.ReadQueueNums, nil
		}
	}
	return 0, nil
}

// Topics lists every topic the name server knows, system topics included.
func (b *Broker) Topics(ctx context.Context) ([]string, error) {
	resp, err := b.ns.Call(ctx, codeGetAllTopicListFromNS, nil, nil)
	if err != nil {
		return nil, err
	}
	if resp.Code != respSuccess {
		return nil, &RemoteError{Addr: b.NameServer, Code: codeGetAllTopicListFromNS, Status: resp.Code, Remark: resp.Remark}
	}
	var list struct {
		TopicList []string `json:"topicList"`
	}
	if err := decodeJSON(resp.Body, &list); err != nil {
		return nil, err
	}
	slices.Sort(list.TopicList)
	return list.TopicList, nil
}

func (b *Broker) offset(ctx context.Context, code int, topic string, queue int) (int64, error) {
	resp, err := b.brokerCall(ctx, code, map[string]string{"topic": topic, "queueId": itoa(queue)})
	if err != nil {
		return 0, err
	}
	if resp.Code != respSuccess {
		return 0, &RemoteError{Addr: b.Addr, Code: code, Status: resp.Code, Remark: resp.Remark}
	}
	var n int64
	_, err = fmt.Sscan(resp.ExtFields["offset"], &n)
	return n, err
}

// MaxOffset returns the offset the next message of queue will take.
func (b *Broker) MaxOffset(ctx context.Context, topic string, queue int) (int64, error) {
	return b.offset(ctx, codeGetMaxOffset, topic, queue)
}

// MinOffset returns the offset of queue's oldest message still kept.
func (b *Broker) MinOffset(ctx context.Context, topic string, queue int) (int64, error) {
	return b.offset(ctx, codeGetMinOffset, topic, queue)
}

// ConsumerOffset returns group's committed offset on a queue; ok is false
// when the group never committed one there.
func (b *Broker) ConsumerOffset(ctx context.Context, group, topic string, queue int) (offset int64, ok bool, err error) {
	resp, err := b.brokerCall(ctx, codeQueryConsumerOffset, map[string]string{
		"consumerGroup": group, "topic": topic, "queueId": itoa(queue), "setZeroIfNotFound": "false",
	})
	if err != nil {
		return 0, false, err
	}
	switch resp.Code {
	case respSuccess:
		_, err = fmt.Sscan(resp.ExtFields["offset"], &offset)
		return offset, err == nil, err
	case respQueryNotFound:
		return 0, false, nil
	}
	return 0, false, &RemoteError{Addr: b.Addr, Code: codeQueryConsumerOffset, Status: resp.Code, Remark: resp.Remark}
}

// inspectGroup is the consumer group Messages pulls under; pulls with
// their own subscription need no member in it.
const inspectGroup = "mqttrmq_inspect"

// Messages returns the messages stored in topic's queues at or after
// from[queue] (0 for a queue from omits), in queue order, then offset
// order, as the broker stored them.
func (b *Broker) Messages(ctx context.Context, topic string, from map[int]int64) ([]*primitive.MessageExt, error) {
	queues, err := b.RouteQueues(ctx, topic)
	if err != nil {
		return nil, err
	}
	var all []*primitive.MessageExt
	for q := range queues {
		msgs, err := b.QueueMessages(ctx, topic, q, from[q])
		if err != nil {
			return nil, err
		}
		all = append(all, msgs...)
	}
	return all, nil
}

// QueueMessages returns the messages of one queue from offset on. It also
// reads a Light Message Queue (topic %LMQ%..., queue 0), which has no route.
func (b *Broker) QueueMessages(ctx context.Context, topic string, queue int, offset int64) ([]*primitive.MessageExt, error) {
	max, err := b.MaxOffset(ctx, topic, queue)
	if err != nil {
		return nil, err
	}
	var all []*primitive.MessageExt
	for off := offset; off < max; {
		resp, err := b.brokerCall(ctx, codePullMessage, map[string]string{
			"consumerGroup": inspectGroup, "topic": topic, "queueId": itoa(queue),
			"queueOffset": fmt.Sprint(off), "maxMsgNums": "64",
			"sysFlag":      "4", // FLAG_SUBSCRIPTION: the subscription is in the request
			"commitOffset": "0", "suspendTimeoutMillis": "0",
			"subscription": "*", "subVersion": "0", "expressionType": "TAG",
		})
		if err != nil {
			return nil, err
		}
		var next int64
		fmt.Sscan(resp.ExtFields["nextBeginOffset"], &next)
		switch resp.Code {
		case respSuccess:
			// Decoded from the commit log: a Light Message Queue's
			// messages carry the topic they were sent to.
			all = append(all, primitive.DecodeMessage(resp.Body)...)
		case respPullNotFound, respPullRetry, respPullOffsetMoved:
		default:
			return nil, &RemoteError{Addr: b.Addr, Code: codePullMessage, Status: resp.Code, Remark: resp.Remark}
		}
		if next <= off {
			break
		}
		off = next
	}
	return all, nil
}

// Consumers returns the client IDs of group's members the broker knows.
func (b *Broker) Consumers(ctx context.Context, group string) ([]string, error) {
	resp, err := b.brokerCall(ctx, codeGetConsumerListByGroup, map[string]string{"consumerGroup": group})
	if err != nil {
		return nil, err
	}
	if resp.Code != respSuccess {
		// The broker answers SYSTEM_ERROR "no consumer for this group" for an empty one.
		if strings.Contains(resp.Remark, "no consumer") {
			return nil, nil
		}
		return nil, &RemoteError{Addr: b.Addr, Code: codeGetConsumerListByGroup, Status: resp.Code, Remark: resp.Remark}
	}
	var list struct {
		ConsumerIDList []string `json:"consumerIdList"`
	}
	if err := decodeJSON(resp.Body, &list); err != nil {
		return nil, err
	}
	slices.Sort(list.ConsumerIDList)
	return list.ConsumerIDList, nil
}

// Subscriptions returns the topics group's members subscribe to (their
// retry topic among them); none when the group has no member.
func (b *Broker) Subscriptions(ctx context.Context, group string) ([]string, error) {
	resp, err := b.brokerCall(ctx, codeGetConsumerConnections, map[string]string{"consumerGroup": group})
	if err != nil {
		return nil, err
	}
	if resp.Code == respConsumerNotOnline {
		return nil, nil
	}
	if resp.Code != respSuccess {
		return nil, &RemoteError{Addr: b.Addr, Code: codeGetConsumerConnections, Status: resp.Code, Remark: resp.Remark}
	}
	var conns struct {
		SubscriptionTable map[string]any `json:"subscriptionTable"`
	}
	if err := decodeJSON(resp.Body, &conns); err != nil {
		return nil, err
	}
	var topics []string
	for t := range conns.SubscriptionTable {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	return topics, nil
}

// CaughtUp reports whether group has members and has committed, on every
// queue of every topic they subscribe to, the queue's max offset: it has
// consumed everything stored, and its next pulls wait at the broker. (A
// member commits with each pull, so this follows consumption closely; a
// queue that never held a message needs no commit.)
func (b *Broker) CaughtUp(ctx context.Context, group string) (bool, error) {
	topics, err := b.Subscriptions(ctx, group)
	if err != nil || len(topics) == 0 {
		return false, err
	}
	for _, topic := range topics {
		queues, err := b.RouteQueues(ctx, topic)
		if err != nil {
			var re *RemoteError
			if errors.As(err, &re) && re.Status == respTopicNotExist {
				continue // a retry topic nothing was sent back to yet
			}
			return false, err
		}
		for q := range queues {
			max, err := b.MaxOffset(ctx, topic, q)
			if err != nil {
				return false, err
			}
			if max == 0 {
				continue
			}
			off, ok, err := b.ConsumerOffset(ctx, group, topic, q)
			if err != nil || !ok || off < max {
				return false, err
			}
		}
	}
	return true, nil
}

// WaitForCaughtUp waits until CaughtUp(group) holds.
func (b *Broker) WaitForCaughtUp(ctx context.Context, group string) error {
	var last error
	for {
		ok, err := b.CaughtUp(ctx, group)
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("realrocketmq: group %s never caught up (last error: %v): %w", group, last, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitForConsumers waits until group has n members at the broker.
func (b *Broker) WaitForConsumers(ctx context.Context, group string, n int) error {
	for {
		ids, err := b.Consumers(ctx, group)
		if err == nil && len(ids) == n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("realrocketmq: group %s has %d members (%v), not %d: %w", group, len(ids), err, n, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitDial calls Dial until the name server knows a master broker, or ctx ends.
func WaitDial(ctx context.Context, ns string) (*Broker, error) {
	for {
		b, err := Dial(ctx, ns)
		if err == nil {
			return b, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (%w)", err, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ProxyEnv holds the gRPC endpoint (ip:port) of the real broker's
// RocketMQ 5 proxy, which `.ci/rocketmq start` runs beside it.
const ProxyEnv = "MQTTRMQ_PROXY"

// Proxy returns the proxy's gRPC endpoint from ProxyEnv. Where it is unset
// the test is skipped with HowTo, or fails when RequireEnv is set.
func Proxy(tb testing.TB) string {
	tb.Helper()
	p := os.Getenv(ProxyEnv)
	if p == "" {
		if os.Getenv(RequireEnv) != "" {
			tb.Fatalf("%s is set but %s is not: start the broker and its proxy with .ci/rocketmq start", RequireEnv, ProxyEnv)
		}
		tb.Skip("no RocketMQ proxy: " + HowTo + ", and " + ProxyEnv + " to its gRPC endpoint")
	}
	if _, _, err := net.SplitHostPort(p); err != nil {
		tb.Fatalf("%s=%q is not ip:port: %v", ProxyEnv, p, err)
	}
	return p
}
