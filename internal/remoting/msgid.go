package remoting

import (
	"crypto/rand"
	"encoding/binary"
	"net"
	"os"
	"sync"
	"time"
)

// MessageIDs makes the unique IDs (the UNIQ_KEY property) that RocketMQ's
// clients give the messages they send, laid out as the Java client lays
// them out, so that tools reading the sender's address or the time from
// an ID read them here too: 16 bytes in upper-case hexadecimal, the
// host's IPv4 address, the process ID (2 bytes), 4 bytes telling apart
// the generators of one process (the Java client's class loader), the
// milliseconds since the start of the month (local time), and a 16-bit
// counter.
//
// rocketmq-client-go's primitive.CreateUniqID makes the same layout
// through encoding/binary's reflection and a process-wide lock, and
// counts the time in whole seconds, so that its counter wraps after
// 65,536 IDs in a second. On the gateway's uplink, one ID a device
// message, it was 3.7% of the gateway's CPU time in the fleet benchmark's
// profile; in a loop (BenchmarkCreateUniqID, BenchmarkMessageID) it takes
// 444 ns and 5 allocations an ID, this one 151 ns and 1. Here the counter
// wraps after 65,536 IDs in a millisecond, and each generator starts it
// at random.
type MessageIDs struct {
	prefix [20]byte // the address, process and generator, in hex

	mu      sync.Mutex
	month   int64 // the start of the current month, in ms since the epoch
	next    int64 // the start of the next
	counter uint16
}

// NewMessageIDs returns a generator of its own. The address is the
// first IPv4 address of the host's that is not a loopback one, or a
// random one if it has none.
func NewMessageIDs() *MessageIDs {
	var fixed [10]byte
	copy(fixed[:4], hostIPv4())
	binary.BigEndian.PutUint16(fixed[4:], uint16(os.Getpid()))
	var r [6]byte
	rand.Read(r[:]) // never fails (crypto/rand)
	copy(fixed[6:], r[:4])
	ids := &MessageIDs{counter: binary.BigEndian.Uint16(r[4:])}
	appendHex(ids.prefix[:0], fixed[:])
	return ids
}

// New returns an ID no other call of this generator's returned within
// the same millisecond, among the first 65,536 of that millisecond.
func (ids *MessageIDs) New() string {
	now := time.Now()
	ms := now.UnixMilli()
	ids.mu.Lock()
	if ms >= ids.next || ms < ids.month {
		y, m, _ := now.Date()
		ids.month = time.Date(y, m, 1, 0, 0, 0, 0, now.Location()).UnixMilli()
		ids.next = time.Date(y, m+1, 1, 0, 0, 0, 0, now.Location()).UnixMilli()
	}
	diff := ms - ids.month
	ids.counter++
	n := ids.counter
	ids.mu.Unlock()
	var tail [6]byte
	binary.BigEndian.PutUint32(tail[:4], uint32(diff))
	binary.BigEndian.PutUint16(tail[4:], n)
	var b [32]byte
	copy(b[:], ids.prefix[:])
	appendHex(b[20:20], tail[:])
	return string(b[:])
}

// appendHex appends src to dst in upper-case hexadecimal.
func appendHex(dst, src []byte) []byte {
	const digits = "0123456789ABCDEF"
	for _, c := range src {
		dst = append(dst, digits[c>>4], digits[c&0xf])
	}
	return dst
}

// hostIPv4 returns the first IPv4 address of the host's interfaces that
// is not a loopback address, or 4 random bytes.
func hostIPv4() []byte {
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() {
				if ip4 := ipn.IP.To4(); ip4 != nil {
					return ip4
				}
			}
		}
	}
	ip := make([]byte, 4)
	rand.Read(ip)
	return ip
}
