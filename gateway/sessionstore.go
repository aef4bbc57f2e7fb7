package gateway

import (
	"strconv"
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/storage"
	"github.com/mochi-mqtt/server/v2/hooks/storage/bolt"
	"github.com/mochi-mqtt/server/v2/packets"
)

// sessionStore is the broker's bolt storage hook, mended. The hook stores
// an in-flight message without its packet ID, so after a restart every such
// message comes back as packet 0: they overwrite one another, and the one
// left makes the broker drop the client's connection on every reconnect
// ("missing packet id"). The packet ID is also the last part of the
// message's key, so it is read back from there.
type sessionStore struct {
	*bolt.Hook
}

func newSessionStore() sessionStore { return sessionStore{new(bolt.Hook)} }

// StoredInflightMessages returns the stored in-flight messages with their
// packet IDs.
func (s sessionStore) StoredInflightMessages() ([]storage.Message, error) {
	msgs, err := s.Hook.StoredInflightMessages()
	for i := range msgs {
		if msgs[i].PacketID != 0 {
			continue
		}
		j := strings.LastIndexByte(msgs[i].ID, ':')
		if id, perr := strconv.ParseUint(msgs[i].ID[j+1:], 10, 16); j >= 0 && perr == nil {
			msgs[i].PacketID = uint16(id)
		}
	}
	return msgs, err
}

// keep stores a message the gateway put in flight itself (a P2P message),
// as the broker does for the messages it routes.
func (s sessionStore) keep(cl *mqtt.Client, pk packets.Packet) {
	s.OnQosPublish(cl, pk, pk.Created, 0)
}
