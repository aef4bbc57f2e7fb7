package transport

import (
	"crypto/tls"
	"net"
	"net/http"

	nbtls "github.com/lesismal/llib/std/crypto/tls"
	"github.com/lesismal/nbio"
	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"
)

// startWebSocket serves MQTT over WebSocket at Config.WebSocketPath on ln,
// over TLS when tlsCfg is set, with nbhttp on its own event loops. MQTT
// rides in binary messages, each holding any part of the byte stream
// [MQTT-6.0.0-1] [MQTT-6.0.0-2]; the subprotocol is "mqtt" [MQTT-6.0.0-3]
// (and "mqttv3.1" for older clients).
func (s *Server) startWebSocket(ln *backoffListener, tlsCfg *tls.Config) (stopper, error) {
	kind := WebSocket
	if tlsCfg != nil {
		kind = SecureWebSocket
	}
	u := websocket.NewUpgrader()
	u.Subprotocols = []string{"mqtt", "mqttv3.1"}
	u.CheckOrigin = func(*http.Request) bool { return true } // browsers on any page are devices too
	u.KeepaliveTime = 0                                      // MQTT's keep-alive governs the connection
	u.OnOpen(func(c *websocket.Conn) {
		c.SetSession(s.h.Open(wsConn{c}, kind))
	})
	u.OnMessage(func(c *websocket.Conn, t websocket.MessageType, b []byte) {
		ss, ok := c.Session().(Session)
		if !ok {
			return
		}
		if t != websocket.BinaryMessage {
			c.Close() // [MQTT-6.0.0-1]
			return
		}
		if err := ss.Data(b); err != nil {
			c.CloseWithError(err)
		}
	})
	u.OnClose(func(c *websocket.Conn, err error) {
		if ss, ok := c.Session().(Session); ok {
			ss.Closed(closeReason(err))
		}
	})

	mux := http.NewServeMux()
	mux.HandleFunc(s.cfg.WebSocketPath, func(w http.ResponseWriter, r *http.Request) {
		if _, err := u.Upgrade(w, r, nil); err != nil {
			s.log.Debug("WebSocket upgrade refused", "remote", r.RemoteAddr, "error", err)
		}
	})
	name := engineName(kind.String())
	e := nbhttp.NewEngine(nbhttp.Config{
		Name:               name,
		Network:            "tcp",
		NPoller:            s.pollers(),
		MaxWriteBufferSize: s.cfg.MaxWriteBuffer,
		Handler:            mux,
		IOMod:              nbhttp.IOModNonBlocking,
	})
	e.OnOpen(closeOnExec)
	loops := newLoopYield(e.Engine.NPoller)
	e.Engine.OnReadBufferAlloc(func(c *nbio.Conn) *[]byte {
		handoff()
		loops.pass(c)
		return e.Engine.PollerBufferPtr(c)
	})
	if err := startEngine(e.Engine, e.Start); err != nil { // no nbio acceptor: the transport's below
		return nil, err
	}
	// The transport accepts, rather than nbhttp, so that each connection
	// is handed to the event loop under handoffHold.
	var nbTLS *nbtls.Config
	if tlsCfg != nil {
		nbTLS = tlsConfig(tlsCfg)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return // closed
			}
			handoffHold(func() {
				if nbTLS != nil {
					e.AddConnTLSNonBlocking(&nbhttp.Conn{Conn: conn}, nbTLS, func() {})
				} else {
					e.AddConnNonTLSNonBlocking(&nbhttp.Conn{Conn: conn}, nil, func() {})
				}
			})
		}
	}()
	return e, nil
}

// wsConn writes MQTT's bytes as one binary message per write.
type wsConn struct{ c *websocket.Conn }

func (w wsConn) Write(b []byte) (int, error) {
	if err := w.c.WriteMessage(websocket.BinaryMessage, b); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Close shuts the TCP connection under the WebSocket down (see close.go).
func (w wsConn) Close() error {
	nc := w.c.UnderlayerConn()
	if t, ok := nc.(*nbtls.Conn); ok {
		nc = t.Conn()
	}
	return shutdown(nc)
}
func (w wsConn) RemoteAddr() net.Addr { return w.c.RemoteAddr() }
