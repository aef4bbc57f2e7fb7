package rocketmqtest_test

import (
	"testing"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

func TestSmoke(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	topic := uniqueName(t, "T")
	if err := s.CreateTopic(topic, 4); err != nil {
		t.Fatal(err)
	}
	p := startProducer(t, s)
	res := mustSend(t, p, primitive.NewMessage(topic, []byte("hello")))
	t.Logf("result: %v", res)
	col := newCollector()
	startPushConsumer(t, s, uniqueName(t, "G"), topic, consumer.MessageSelector{}, col.consume,
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset))
	got := col.waitFor(t, 1)
	t.Logf("got: %v", got[0])
}
