package rocketmqtest

import (
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzDispatch hands every handler, and an unimplemented code, requests
// with any header fields and body: each is answered, or held as a long
// poll, and none panics (a panic would take the test process with it).
// The seeds are well-formed requests for every code, so that the fuzzer
// starts from inside the handlers rather than at their first refusal.
func FuzzDispatch(f *testing.F) {
	s, err := Start(WithLogger(slog.New(slog.DiscardHandler)), WithDelayLevels(time.Millisecond))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	if err := s.CreateTopic("T", 4); err != nil {
		f.Fatal(err)
	}
	codes := []RequestCode{QueryMessage} // not implemented
	for c := range handlers {
		codes = append(codes, c)
	}
	slices.Sort(codes)

	// Header fields as name=value lines: every field some handler reads.
	const fields = "topic=T\nqueueId=0\nconsumerGroup=G\ngroup=G\nproducerGroup=P\nclientID=C\n" +
		"queueOffset=0\noffset=0\ncommitOffset=0\nmaxMsgNums=32\nsysFlag=2\nsuspendTimeoutMillis=20\n" +
		"subscription=*\nexpressionType=TAG\nsubVersion=0\ntimestamp=0\nsetZeroIfNotFound=true\n" +
		"bornTimestamp=0\nflag=0\nreconsumeTimes=0\nmaxReconsumeTimes=1\ndelayLevel=1\nbatch=false\n" +
		"defaultTopic=TBW102\ndefaultTopicQueueNums=4\nproperties=TAGS\x01a\x02\n" +
		"readQueueNums=4\nwriteQueueNums=4\nperm=6\ntopicFilterType=SINGLE_TAG\ntopicSysFlag=0\norder=false"
	bodies := [][]byte{
		[]byte("hello"),
		[]byte(`{"clientID":"C","consumerDataSet":[{"groupName":"G","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING",` +
			`"subscriptionDataSet":[{"topic":"T","subString":"a || b","expressionType":"TAG"}]}],"producerDataSet":[{"groupName":"P"}]}`),
		[]byte(`{"consumerGroup":"G","clientId":"C","mqSet":[{"topic":"T","brokerName":"broker-a","queueId":0}]}`),
	}
	// The same on a Light Message Queue, with a message dispatched to two.
	lmqFields := strings.NewReplacer("topic=T", "topic=%LMQ%F",
		"properties=TAGS\x01a\x02", "properties=TAGS\x01a\x02INNER_MULTI_DISPATCH\x01%LMQ%F,%LMQ%G\x02").Replace(fields)
	for i := range codes {
		for _, body := range bodies {
			f.Add(uint8(i), fields, body)
			f.Add(uint8(i), lmqFields, body)
		}
	}
	f.Fuzz(func(t *testing.T, code uint8, header string, body []byte) {
		nc, peer := net.Pipe()
		go io.Copy(io.Discard, peer)
		c := newConn(s, nc)
		defer func() {
			c.close()
			peer.Close()
			s.connClosed(c)
		}()
		req := &request{code: codes[int(code)%len(codes)], opaque: 1, body: body}
		for line := range strings.SplitSeq(header, "\n") {
			k, v, _ := strings.Cut(line, "=")
			req.ext = append(req.ext, field{k, v})
		}
		s.dispatch(c, req)

		c.mu.Lock()
		answered := len(c.out.bufs) > 0
		c.mu.Unlock()
		s.store.mu.Lock()
		held := len(c.pulls) > 0
		s.store.mu.Unlock()
		if !answered && !held {
			t.Errorf("request %v with header %q was neither answered nor held", req.code, header)
		}
	})
}
