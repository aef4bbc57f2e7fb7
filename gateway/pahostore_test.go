package gateway_test

import (
	"bytes"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// copyingStore is paho's memory store holding a copy of each packet, and
// handing out a copy: paho's own holds the publish it is writing, and on
// a reconnect marks that same packet as a duplicate while its writer
// may still be writing it, a data race inside paho that the race
// detector reports (eclipse-paho/paho.mqtt.golang issue #703). The
// devices that reconnect with publishes in flight use this store.
type copyingStore struct{ paho.Store }

func newCopyingStore() copyingStore { return copyingStore{paho.NewMemoryStore()} }

// Put is called before paho queues m for writing.
func (s copyingStore) Put(key string, m packets.ControlPacket) { s.Store.Put(key, copyPacket(m)) }

func (s copyingStore) Get(key string) packets.ControlPacket {
	if m := s.Store.Get(key); m != nil {
		return copyPacket(m)
	}
	return nil
}

// copyPacket returns a copy of m, encoded and read back.
func copyPacket(m packets.ControlPacket) packets.ControlPacket {
	var b bytes.Buffer
	if err := m.Write(&b); err != nil {
		return m
	}
	c, err := packets.ReadPacket(&b)
	if err != nil {
		return m
	}
	return c
}
