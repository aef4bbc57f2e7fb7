// Package remoting is a small client of RocketMQ's remoting protocol, for
// what the gateway needs and rocketmq-client-go does not offer, or offers
// at a cost the gateway cannot pay:
//
//   - the cluster layer's requests: pulling a Light Message Queue, or a
//     topic's queue from an offset of its own choosing (found by time),
//     and reading and committing consumer offsets of Light Message
//     Queues, which the name server's routes do not list (Conn);
//   - the uplink's sends, every device message (Producer and Lane).
//
// One Conn multiplexes every request to one address over one TCP
// connection: requests carry an opaque number, one reader goroutine hands
// each response to its caller, and a long-polling pull waits at the broker
// without holding up the others. Requests the broker sends the client
// (NOTIFY_CONSUMER_IDS_CHANGED and the like) are ignored: this client
// registers no consumer group.
//
// A Lane sends one request at a time on connections of its own and reads
// the answer itself: one write and one read a send, no goroutine between
// them. rocketmq-client-go's SendSync writes a request in four writes
// (lengths, header, body) and hands the answer over from a reader
// goroutine; at a thousand devices each sending a message a second that
// was half of the gateway's CPU time. A Lane sends SEND_MESSAGE_V2 (or
// SEND_BATCH_MESSAGE), finds the topic's writable queues as RocketMQ's
// clients do (sorted by broker name, the default topic's route for a topic
// not created yet), retries on the answers they retry on, and signs
// requests for an ACL-enabled broker as their ACL hook does. It does not
// compress bodies: the gateway's messages are small, and a consumer reads
// either.
//
// A lane of NewAsyncLane also sends without waiting (SendAsync), on a
// connection to each broker that the producer's event loops read
// (ProducerConfig.Loops: the gateway's raw MQTT loops, by
// transport.Server.Attach) and that all its async lanes share, each
// request numbered (its opaque) from the producer's one counter: the
// request is written by whoever sends, an MQTT loop handling a PUBLISH,
// and the answer is handled by the loop that reads it, so that no
// goroutine parks for it and is woken. While the producer is corked
// (Cork, Uncork), requests wait to go out in one write a connection;
// the loop reading answers corks it while it hands them on, so that the
// sends they start go out together too, and the broker's answers to
// requests read together come back in one read. A send on the loops is
// tried once; what Send would retry is reported as ErrRetry, for the
// caller to send again with Send. A sweeper closes, every 100 ms, the
// connections with a send that has had no answer by the producer's
// Timeout, which fails every send on them.
//
// Frames are the protocol's: a 4-byte length, a 4-byte header length whose
// top byte is the serialisation type (0, JSON), the JSON header, the body.
// Headers are written and read by hand (frame.go, header.go), fuzzed
// against encoding/json. Messages in pull responses are decoded by
// rocketmq-client-go's primitive.DecodeMessage, and messages to send are
// its primitive.Message.
package remoting
