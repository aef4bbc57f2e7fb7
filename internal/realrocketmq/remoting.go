package realrocketmq

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// Request codes of RocketMQ's remoting protocol used here
// (org.apache.rocketmq.remoting.protocol.RequestCode).
const (
	codePullMessage             = 11
	codeQueryConsumerOffset     = 14
	codeUpdateAndCreateTopic    = 17
	codeGetMaxOffset            = 30
	codeGetMinOffset            = 31
	codeGetConsumerListByGroup  = 38
	codeGetRouteInfoByTopic     = 105
	codeGetBrokerClusterInfo    = 106
	codeGetConsumerConnections  = 203
	codeGetAllTopicListFromNS   = 206
	codeDeleteTopicInBroker     = 215
	codeDeleteTopicInNameServer = 216
)

// Response codes (org.apache.rocketmq.remoting.protocol.ResponseCode).
const (
	respSuccess           = 0
	respPullNotFound      = 19
	respPullRetry         = 20
	respPullOffsetMoved   = 21
	respQueryNotFound     = 22
	respTopicNotExist     = 17
	respConsumerNotOnline = 206
)

// command is one remoting frame with a JSON header.
type command struct {
	Code      int               `json:"code"`
	Language  string            `json:"language"`
	Version   int               `json:"version"`
	Opaque    int32             `json:"opaque"`
	Flag      int               `json:"flag"`
	Remark    string            `json:"remark,omitempty"`
	ExtFields map[string]string `json:"extFields,omitempty"`
	Body      []byte            `json:"-"`
}

// RemoteError is a response other than the one a request wanted.
type RemoteError struct {
	Addr   string
	Code   int // the request
	Status int // the response code
	Remark string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("realrocketmq: request %d to %s: response code %d: %s", e.Code, e.Addr, e.Status, e.Remark)
}

// conn is one connection to a name server or broker; requests on it are
// serialised, which is all a test's inspection needs.
type conn struct {
	addr   string
	mu     sync.Mutex
	nc     net.Conn
	br     *bufio.Reader
	opaque int32
}

func (c *conn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nc != nil {
		c.nc.Close()
		c.nc = nil
	}
}

// call sends a request and returns its response, whatever its code.
func (c *conn) call(ctx context.Context, code int, ext map[string]string, body []byte) (*command, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nc == nil {
		var d net.Dialer
		nc, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return nil, fmt.Errorf("realrocketmq: dial %s: %w", c.addr, err)
		}
		c.nc, c.br = nc, bufio.NewReader(nc)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(10 * time.Second)
	}
	c.nc.SetDeadline(deadline)
	c.opaque++
	req := command{Code: code, Language: "GO", Version: 317, Opaque: c.opaque, ExtFields: ext}
	resp, err := c.roundTrip(&req, body)
	if err != nil {
		c.nc.Close()
		c.nc = nil
		return nil, fmt.Errorf("realrocketmq: request %d to %s: %w", code, c.addr, err)
	}
	return resp, nil
}

func (c *conn) roundTrip(req *command, body []byte) (*command, error) {
	header, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	frame := make([]byte, 8, 8+len(header)+len(body))
	binary.BigEndian.PutUint32(frame[0:], uint32(4+len(header)+len(body)))
	binary.BigEndian.PutUint32(frame[4:], uint32(len(header))) // serialisation type 0: JSON
	frame = append(append(frame, header...), body...)
	if _, err := c.nc.Write(frame); err != nil {
		return nil, err
	}
	for {
		resp, err := readCommand(c.br)
		if err != nil {
			return nil, err
		}
		if resp.Flag&1 == 1 && resp.Opaque == req.Opaque {
			return resp, nil
		}
		// A request from the broker (NOTIFY_CONSUMER_IDS_CHANGED...): not ours.
	}
}

func readCommand(r io.Reader) (*command, error) {
	var word [4]byte
	if _, err := io.ReadFull(r, word[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(word[:])
	if n < 4 || n > 64<<20 {
		return nil, fmt.Errorf("frame of %d bytes", n)
	}
	frame := make([]byte, n)
	if _, err := io.ReadFull(r, frame); err != nil {
		return nil, err
	}
	hl := binary.BigEndian.Uint32(frame[:4])
	if hl>>24 != 0 {
		return nil, errors.New("a header not in JSON")
	}
	hl &= 0xffffff
	if int(hl) > len(frame)-4 {
		return nil, fmt.Errorf("header of %d bytes in a frame of %d", hl, n)
	}
	var cmd command
	if err := json.Unmarshal(frame[4:4+hl], &cmd); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	cmd.Body = frame[4+hl:]
	return &cmd, nil
}

// intKeys quotes the integer keys the broker's JSON writer leaves bare
// ({0:"127.0.0.1:10911"}), so that encoding/json reads it.
var intKeys = regexp.MustCompile(`([{,])(-?\d+):`)

func decodeJSON(body []byte, v any) error {
	return json.Unmarshal(intKeys.ReplaceAll(body, []byte(`$1"$2":`)), v)
}

func itoa(n int) string { return strconv.Itoa(n) }
