package gateway

// DispatchOf returns the queues this instance sends a device's message to
// topic (P2P to p2p, when not empty) to, as its directory says now: what a
// test waits on for a subscription made on another instance to be known
// here.
func (g *Gateway) DispatchOf(topic, p2p string) []string {
	return g.node.Dispatch(topic, p2p, false)
}
