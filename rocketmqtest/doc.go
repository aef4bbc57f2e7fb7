// Package rocketmqtest runs an Apache RocketMQ name server and broker inside
// a Go process, for tests, examples and demos, in the spirit of
// net/http/httptest. It speaks RocketMQ's remoting protocol on a loopback
// port, so the real, unmodified rocketmq-client-go v2 producers and
// consumers work against it:
//
//	s := rocketmqtest.NewServer(t) // closed when the test ends
//	s.CreateTopic("Orders", 4)
//	p, _ := rocketmq.NewProducer(producer.WithNameServer(primitive.NamesrvAddr{s.Addr()}))
//	…
//	msgs := s.Messages("Orders") // what the broker stored
//
// # What it is not
//
// It is a test double: everything is kept in memory, in one process, on one
// node. There is no persistence, no replication, no slave, no retention
// (nothing is ever deleted), no authentication and no TLS. Production uses
// a real RocketMQ (Apache RocketMQ, or a hosted service), which the
// examples of this module reach with a -namesrv flag.
//
// # Behaviour
//
// Responses follow an Apache RocketMQ 5.3 broker with its default
// configuration: the same response codes for the same refusals (an illegal
// topic name is INVALID_PARAMETER, serialised properties over 32767 bytes
// or a body over the maximum message size are MESSAGE_ILLEGAL, a send to
// SCHEDULE_TOPIC_XXXX is NO_PERMISSION, an unknown request code is
// REQUEST_CODE_NOT_SUPPORTED), the stored-message encoding of the commit
// log (primitive.DecodeMessage reads Messages' and pulls' bytes), topic
// auto-creation from TBW102, long polling, tag filtering on the broker,
// delay levels through SCHEDULE_TOPIC_XXXX, consumer retries through
// %RETRY%{group} into %DLQ%{group}, and Light Message Queues as a broker
// with enableLmq and enableMultiDispatch keeps them: a sent message whose
// INNER_MULTI_DISPATCH lists queues "%LMQ%…" is also indexed in each, its
// offsets there written into INNER_MULTI_QUEUE_OFFSET, and every pull,
// offset and consumer-offset request reads an "%LMQ%…" topic as one with
// a single queue. Server.Pulled counts what pulls returned, by consumer
// group. It differs on purpose in these points:
//
//   - NOTIFY_CONSUMER_IDS_CHANGED goes to the members of a group that stay
//     when one joins or leaves, not to the one joining (which rebalances as
//     it starts anyway), and not on subscription changes. See ConsumerGuard
//     for why.
//   - A retry topic's route exists from its first lookup, so a new
//     consumer pulls its retry queue at once instead of after its first
//     30-second route refresh.
//   - QUERY_CONSUMER_OFFSET answers QUERY_NOT_FOUND for a group that never
//     committed, so the client's ConsumeFromWhere decides where a new group
//     starts. A real broker answers 0 while a queue's first message is in
//     its page cache; WithNewGroupOffsetZero does that.
//   - Transactional (half) messages are refused with NO_PERMISSION, as by a
//     broker with rejectTransactionMessage=true; SQL92 filters are refused
//     with SYSTEM_ERROR, as by a broker with enablePropertyFilter=false.
//   - A message's TIMER_DELIVER_MS is not honoured (it is delivered at once,
//     as by a 4.x broker); DELAY levels are.
//   - An INNER_MULTI_DISPATCH list that a real broker accepts and then
//     mishandles (a name that is not "%LMQ%…", one listed twice, one with
//     '/', one over 255 bytes) is refused with MESSAGE_ILLEGAL; the
//     README says what the real broker does with each.
//
// # Request codes
//
// Implemented: SEND_MESSAGE (10), SEND_MESSAGE_V2 (310),
// SEND_BATCH_MESSAGE (320), PULL_MESSAGE (11), QUERY_CONSUMER_OFFSET (14),
// UPDATE_CONSUMER_OFFSET (15), UPDATE_AND_CREATE_TOPIC (17),
// SEARCH_OFFSET_BY_TIMESTAMP (29), GET_MAX_OFFSET (30), GET_MIN_OFFSET
// (31), GET_EARLIEST_MSG_STORETIME (32), VIEW_MESSAGE_BY_ID (33),
// HEART_BEAT (34), UNREGISTER_CLIENT (35), CONSUMER_SEND_MSG_BACK (36),
// GET_CONSUMER_LIST_BY_GROUP (38), LOCK_BATCH_MQ (41), UNLOCK_BATCH_MQ
// (42), GET_ROUTEINFO_BY_TOPIC (105), GET_BROKER_CLUSTER_INFO (106),
// GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206), DELETE_TOPIC_IN_BROKER (215),
// DELETE_TOPIC_IN_NAMESRV (216); and the server sends
// NOTIFY_CONSUMER_IDS_CHANGED (40). Every other code, among them
// QUERY_MESSAGE (12, lookup by key), END_TRANSACTION (37),
// GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201), SEND_REPLY_MESSAGE (324, 325,
// request-reply), the POP consumption codes of RocketMQ 5, the KV-config
// and broker-registration codes and the admin statistics codes, is
// answered with REQUEST_CODE_NOT_SUPPORTED and the broker's remark.
//
// # rocketmq-client-go in tests
//
// The client shares one client object per process per instance name
// (producer.WithInstanceName, consumer.WithInstance): give every producer
// and consumer of a test its own. A producer and a consumer with one
// instance name share a connection, which the client closes when it
// retries a send whose context has expired, stranding the consumer's
// pending pulls until its 30-second pull timeout. It rejects "localhost"; Addr is an IP
// address. A broadcasting consumer keeps its offsets under
// $HOME/.rocketmq_client_go, a path the client fixes when the process
// starts; run such tests with HOME pointing at a temporary directory. Its
// logging (rlog) is verbose; rlog.SetLogLevel("error") quiets it. Its
// Shutdown races with its own rebalances, and with a pull answered at that
// moment, under the race detector: ConsumerGuard,
// Server.WaitForConsumers and Server.WaitForCaughtUp avoid that.
package rocketmqtest
