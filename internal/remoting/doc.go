// Package remoting is a small client of RocketMQ's remoting protocol, for
// the few requests the gateway's cluster layer makes that
// rocketmq-client-go does not offer: pulling a Light Message Queue, or a
// topic's queue from an offset of its own choosing (found by time), and
// reading and committing consumer offsets of Light Message Queues, which
// the name server's routes do not list.
//
// One Conn multiplexes every request to one address over one TCP
// connection: requests carry an opaque number, one reader goroutine hands
// each response to its caller, and a long-polling pull waits at the broker
// without holding up the others. Requests the broker sends the client
// (NOTIFY_CONSUMER_IDS_CHANGED and the like) are ignored: this client
// registers no consumer group.
//
// Frames are the protocol's: a 4-byte length, a 4-byte header length whose
// top byte is the serialisation type (0, JSON), the JSON header, the body.
// Messages in pull responses are decoded by rocketmq-client-go's
// primitive.DecodeMessage.
package remoting
