package remoting

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// Command is one remoting frame.
type Command struct {
	Code      int               `json:"code"`
	Language  string            `json:"language"`
	Version   int               `json:"version"`
	Opaque    int32             `json:"opaque"`
	Flag      int               `json:"flag"`
	Remark    string            `json:"remark,omitempty"`
	ExtFields map[string]string `json:"extFields,omitempty"`
	Body      []byte            `json:"-"`
}

// responseFlag marks a response [RemotingCommand.RPC_TYPE].
const responseFlag = 1

// maxFrame bounds a frame read: a pull answer holds at most a few MB.
const maxFrame = 64 << 20

// ErrClosed is what calls on a closed Conn return.
var ErrClosed = errors.New("remoting: connection closed")

// Error is a response other than the one a request wanted.
type Error struct {
	Addr   string
	Code   int // the request's code
	Status int // the response's code
	Remark string
}

func (e *Error) Error() string {
	return fmt.Sprintf("remoting: request %d to %s: response %d: %s", e.Code, e.Addr, e.Status, e.Remark)
}

// Conn is a connection to one name server or broker, dialled on first use
// and again after a failure.
type Conn struct {
	addr  string
	creds primitive.Credentials

	mu      sync.Mutex
	nc      net.Conn
	gen     int // which connection the pending calls belong to
	opaque  int32
	pending map[int32]chan *Command
	closed  bool
	wg      sync.WaitGroup // the reader goroutine
}

// NewConn returns a Conn to addr ("ip:port"); nothing is dialled yet.
// With credentials (an AccessKey), every request is signed for an
// ACL-enabled RocketMQ.
func NewConn(addr string, creds primitive.Credentials) *Conn {
	return &Conn{addr: addr, creds: creds, pending: map[int32]chan *Command{}}
}

// Addr returns the address the Conn talks to.
func (c *Conn) Addr() string { return c.addr }

// Close closes the connection and fails the calls in progress.
func (c *Conn) Close() {
	c.mu.Lock()
	c.closed = true
	nc := c.nc
	c.mu.Unlock()
	if nc != nil {
		nc.Close()
	}
	c.wg.Wait()
}

// Call sends a request and returns its response, whatever its code; it
// fails only when the request could not be sent or the response did not
// come before ctx ended.
func (c *Conn) Call(ctx context.Context, code int, ext map[string]string, body []byte) (*Command, error) {
	ch, opaque, err := c.send(ctx, code, ext, body)
	if err != nil {
		return nil, fmt.Errorf("remoting: request %d to %s: %w", code, c.addr, err)
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("remoting: request %d to %s: %w", code, c.addr, ErrClosed)
		}
		return resp, nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, opaque)
		c.mu.Unlock()
		return nil, fmt.Errorf("remoting: request %d to %s: %w", code, c.addr, ctx.Err())
	}
}

// send writes one request, dialling first if need be, and returns the
// channel its response will come on.
func (c *Conn) send(ctx context.Context, code int, ext map[string]string, body []byte) (chan *Command, int32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, 0, ErrClosed
	}
	if c.nc == nil {
		var d net.Dialer
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		nc, err := d.DialContext(dctx, "tcp", c.addr)
		cancel()
		if err != nil {
			return nil, 0, err
		}
		c.nc = nc
		c.gen++
		c.wg.Add(1)
		go c.read(nc, c.gen)
	}
	c.opaque++
	fields := make([]field, 0, len(ext))
	for k, v := range ext {
		fields = append(fields, field{k, v})
	}
	frame := appendFrame(nil, code, c.opaque, fields, body, c.creds)
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.nc.Write(frame); err != nil {
		c.nc.Close() // the reader fails every pending call
		return nil, 0, err
	}
	ch := make(chan *Command, 1)
	c.pending[c.opaque] = ch
	return ch, c.opaque, nil
}

// read hands every response on nc to its caller until nc fails, then fails
// the calls still waiting.
func (c *Conn) read(nc net.Conn, gen int) {
	defer c.wg.Done()
	br := bufio.NewReaderSize(nc, 64<<10)
	for {
		cmd, err := readCommand(br)
		if err != nil {
			break
		}
		if cmd.Flag&responseFlag == 0 {
			continue // a request from the broker: not for this client
		}
		c.mu.Lock()
		ch := c.pending[cmd.Opaque]
		delete(c.pending, cmd.Opaque)
		c.mu.Unlock()
		if ch != nil {
			ch <- cmd
		}
	}
	nc.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.nc = nil
		for op, ch := range c.pending {
			close(ch)
			delete(c.pending, op)
		}
	}
}

func readCommand(r io.Reader) (*Command, error) {
	var word [4]byte
	if _, err := io.ReadFull(r, word[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(word[:])
	if n < 4 || n > maxFrame {
		return nil, fmt.Errorf("remoting: frame of %d bytes", n)
	}
	frame := make([]byte, n)
	if _, err := io.ReadFull(r, frame); err != nil {
		return nil, err
	}
	return decodeFrame(frame)
}

// decodeFrame reads one frame, its length word taken off: the command's
// Body is the tail of frame.
func decodeFrame(frame []byte) (*Command, error) {
	cmd := new(Command)
	if err := decodeFrameInto(frame, cmd); err != nil {
		return nil, err
	}
	return cmd, nil
}

// decodeFrameInto is decodeFrame into a command read before, whose ext
// fields map it empties and fills again: a pipe's loop reads every answer
// into one, without a command and a map an answer.
func decodeFrameInto(frame []byte, cmd *Command) error {
	hl := binary.BigEndian.Uint32(frame[:4])
	if hl>>24 != 0 {
		return errors.New("remoting: a header not in JSON")
	}
	hl &= 0xffffff
	if int(hl) > len(frame)-4 {
		return fmt.Errorf("remoting: header of %d bytes in a frame of %d", hl, len(frame))
	}
	ext := cmd.ExtFields
	clear(ext)
	*cmd = Command{ExtFields: ext}
	if err := parseHeader(frame[4:4+hl], cmd); err != nil {
		return err
	}
	cmd.Body = frame[4+hl:]
	return nil
}
