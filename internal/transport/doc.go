// Package transport carries MQTT's bytes between clients and the broker
// core over TCP, TLS, WebSocket and secure WebSocket, without a goroutine
// per connection.
//
// Every transport runs on github.com/lesismal/nbio, an event-loop network
// library: a few poller goroutines (one per core by default) wait on epoll
// for every connection at once, read into a buffer shared by all the
// connections of a poller, and hand what they read to the connection's
// Session. A write never blocks: what the socket cannot take at once is kept
// by nbio and flushed when the socket drains, and a connection whose kept
// bytes pass Config.MaxWriteBuffer is closed with ErrSlowConsumer. An idle
// connection therefore costs its file descriptor, nbio's small connection
// record and whatever its Session holds: no stack, no buffer.
//
// nbio was chosen over github.com/panjf2000/gnet/v2 because it also serves
// TLS (with a non-blocking fork of crypto/tls, github.com/lesismal/llib) and
// HTTP with WebSocket upgrades (its nbhttp package) on the same event loops,
// which the gateway needs for ports 8883 and /mqtt; gnet leaves both to the
// user. It is MIT-licensed, maintained, and used in production for
// million-connection servers.
//
// A transport knows nothing of MQTT: it calls Handler.Open for a new
// connection, Session.Data for every chunk of bytes in order, and
// Session.Closed exactly once, and it lets the Session write and close.
package transport
