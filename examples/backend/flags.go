package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/gateway"
)

// options are the command line's settings, checked.
type options struct {
	nameServers   []string
	topic         string
	dialect       *mqttrmq.Dialect
	group         string // consumer group
	producerGroup string
	instance      string // client instance name
	tag           string // tag of device messages
	fromFirst     bool
	credentials   primitive.Credentials // RocketMQ ACL; zero for none
	namespace     string

	p2p        []string // client IDs
	broadcast  string   // subtopic, "/cmd/all"
	message    string
	qos        mqttrmq.QoS
	realTopic  string
	clean      bool
	cleanIsSet bool
	expiry     mqttrmq.Expiry // of every command; none when not set

	request string // client ID a request goes to
	replyTo string // the request's response topic

	consume  bool
	presence string // status topic to read presence events of; empty for none
	expect   int
	wait     time.Duration
	verbose  bool
}

func (o options) sends() bool { return len(o.p2p) > 0 || o.broadcast != "" }

const usageHead = `Usage: backend -namesrv ip:port -topic parent [flags]

A backend service on RocketMQ. Without -p2p or -broadcast it reads device
messages of the parent topic and prints them as MQTT publishes, until
interrupted (or -expect, -wait). With them it sends a command to MQTT
clients and exits (add -consume to read afterwards). With -request it sends
one client a request, an MQTT 5 Response Topic and Correlation Data beside
it, and waits for the answer (-wait, 30s unless given).

Flags:`

func parseFlags(stdout io.Writer, args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("backend", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned; -h prints usage below
	namesrv := fs.String("namesrv", "", "RocketMQ name servers, `ip:port`[,ip:port...], or an http(s):// name-server endpoint (required)")
	fs.StringVar(&o.credentials.AccessKey, "access-key", "", "RocketMQ ACL access `key`, for a RocketMQ that requires one")
	fs.StringVar(&o.credentials.SecretKey, "secret-key", "", "RocketMQ ACL secret `key` (visible to other users in the process list: prefer a RocketMQ reachable only from trusted hosts)")
	fs.StringVar(&o.namespace, "namespace", "", "RocketMQ `namespace` (the instance ID of a hosted RocketMQ that has one)")
	fs.StringVar(&o.topic, "topic", "", "parent `topic`: the RocketMQ topic, first level of the devices' MQTT topics (required)")
	dialect := fs.String("dialect", mqttrmq.AlibabaCloud.String(), "how the mapping is written on RocketMQ: "+mqttrmq.AlibabaCloud.String()+" or "+mqttrmq.ApacheRocketMQMQTT.String())
	fs.StringVar(&o.group, "group", "mqttrmq-backend", "consumer `group`; a group resumes where it stopped, a new one starts now (or with -from-first)")
	fs.StringVar(&o.producerGroup, "producer-group", "mqttrmq-backend-commands", "producer `group`")
	fs.StringVar(&o.instance, "instance", fmt.Sprintf("backend-%d", os.Getpid()), "client instance `name`, one per process")
	tag := fs.String("tag", "", "`tag` of device messages (default "+gateway.UplinkTag+", the gateway's; "+mqttrmq.TagMQTTCommon+" with -dialect "+mqttrmq.ApacheRocketMQMQTT.String()+")")
	fs.BoolVar(&o.fromFirst, "from-first", false, "a new consumer group reads the topic from its first message instead of from now")
	p2p := fs.String("p2p", "", "send -msg point to point to these client `IDs`, comma-separated")
	fs.StringVar(&o.broadcast, "broadcast", "", "send -msg to every subscriber of this `subtopic` of -topic, such as /cmd/all")
	fs.StringVar(&o.message, "msg", "", "`payload` of the command")
	qos := fs.Int("qos", 1, "QoS of the command: 0, 1 or 2 (a subscriber gets at most its subscription's)")
	fs.StringVar(&o.realTopic, "real-topic", "", "MQTT `topic` the receivers are shown instead of the default (mqttRealTopic), mostly for -p2p")
	fs.BoolVar(&o.clean, "clean", true, "with -p2p, -clean=false keeps the command for a persistent session that is offline (cleansessionflag)")
	expiry := fs.Duration("expiry", 0, "Message Expiry Interval of the command, whole seconds: a device that has not got it by then never gets it (0: none)")
	fs.StringVar(&o.request, "request", "", "send -msg to this client `ID` as a request, with a response topic and correlation data, and wait for its answer")
	fs.StringVar(&o.replyTo, "reply-to", "", "with -request, the response `topic` (default {topic}/replies/{instance}: under -topic, so that the answer comes back through RocketMQ)")
	fs.BoolVar(&o.consume, "consume", false, "read device messages after sending")
	fs.StringVar(&o.presence, "presence", "", "also read the presence events of this status `topic` (the gateway's -status-topic) and print who is online")
	fs.IntVar(&o.expect, "expect", 0, "exit once this many device messages (and presence events) were read; fail if -wait passes first")
	fs.DurationVar(&o.wait, "wait", 0, "read this long, then exit (0: until interrupted)")
	fs.BoolVar(&o.verbose, "v", false, "show the RocketMQ client's warnings")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, usageHead)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
		}
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	groupIsSet, waitIsSet := false, false
	fs.Visit(func(f *flag.Flag) {
		o.cleanIsSet = o.cleanIsSet || f.Name == "clean"
		groupIsSet = groupIsSet || f.Name == "group"
		waitIsSet = waitIsSet || f.Name == "wait"
	})

	if *namesrv == "" {
		return o, errors.New("-namesrv is required: the RocketMQ name servers, ip:port[,ip:port]")
	}
	for _, a := range strings.Split(*namesrv, ",") {
		a = strings.TrimSpace(a)
		if u, err := url.Parse(a); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			o.nameServers = append(o.nameServers, a) // an endpoint the client resolves itself
			continue
		}
		ap, err := netip.ParseAddrPort(a)
		if err != nil || ap.Port() == 0 {
			return o, fmt.Errorf("-namesrv %q: want ip:port, such as 127.0.0.1:9876, or an http(s):// endpoint (the RocketMQ client resolves no other host names)", a)
		}
		o.nameServers = append(o.nameServers, ap.String())
	}
	if (o.credentials.AccessKey == "") != (o.credentials.SecretKey == "") {
		return o, errors.New("-access-key and -secret-key go together")
	}
	if o.namespace != "" {
		if err := mqttrmq.ValidateNamespace(o.namespace); err != nil {
			return o, fmt.Errorf("-namespace %q: want letters, digits, '-' and '_': %w", o.namespace, err)
		}
	}
	if o.topic == "" {
		return o, errors.New("-topic is required: the parent topic")
	}
	if err := mqttrmq.ValidateParentTopic(o.topic); err != nil {
		return o, fmt.Errorf("-topic: %w", err)
	}
	if _, err := mqttrmq.NamespaceTopic(o.namespace, o.topic); err != nil {
		return o, fmt.Errorf("-namespace with -topic: %w", err)
	}
	var err error
	if o.dialect, err = mqttrmq.ParseDialect(*dialect); err != nil {
		return o, fmt.Errorf("-dialect: %w", err)
	}
	o.tag = *tag
	if o.tag == "" {
		o.tag = gateway.UplinkTag
		if apache(o.dialect) {
			o.tag = mqttrmq.TagMQTTCommon
		}
	}
	if strings.ContainsAny(o.tag, "|* ") {
		return o, fmt.Errorf("-tag %q: one tag, without '|', '*' or spaces", o.tag)
	}
	for _, name := range []struct{ flag, v string }{{"-group", o.group}, {"-producer-group", o.producerGroup}, {"-instance", o.instance}} {
		// RocketMQ names: the parent-topic rule is RocketMQ's own, less % and |.
		if err := mqttrmq.ValidateParentTopic(name.v); err != nil {
			return o, fmt.Errorf("%s %q: want letters, digits, '-' and '_'", name.flag, name.v)
		}
	}

	if o.request != "" {
		if *p2p != "" || o.broadcast != "" || o.consume || o.expect > 0 || o.realTopic != "" {
			return o, errors.New("-request sends one request and waits for its answer: leave out -p2p, -broadcast, -consume, -expect and -real-topic")
		}
		topic, err := mqttrmq.P2PTopic(o.topic, o.request)
		if err == nil {
			err = deliverable(o.dialect, topic)
		}
		if err != nil {
			return o, fmt.Errorf("-request: %w", err)
		}
		if o.replyTo == "" {
			o.replyTo = o.topic + "/replies/" + o.instance
		}
		if parent, _, err := mqttrmq.SplitTopic(o.replyTo); err != nil {
			return o, fmt.Errorf("-reply-to: %w", err)
		} else if parent != o.topic {
			return o, fmt.Errorf("-reply-to %q: the answer is read from -topic %s: want a topic under it", o.replyTo, o.topic)
		}
		if !groupIsSet {
			// A group of its own: the answer must reach this process,
			// not another member of a shared group.
			o.group = o.instance + "-replies"
			if err := mqttrmq.ValidateParentTopic(o.group); err != nil {
				return o, fmt.Errorf("-instance %q: too long to name the group of the replies, %s: give -group", o.instance, o.group)
			}
		}
		if !waitIsSet {
			o.wait = 30 * time.Second
		}
		if o.message == "" {
			return o, errors.New("-msg is required with -request")
		}
	} else if o.replyTo != "" {
		return o, errors.New("-reply-to is for -request")
	}
	if *expiry < 0 || *expiry > math.MaxUint32*time.Second {
		return o, fmt.Errorf("-expiry %v: want 0 to %v", *expiry, math.MaxUint32*time.Second)
	}
	if *expiry > 0 {
		if *expiry%time.Second != 0 {
			return o, fmt.Errorf("-expiry %v: MQTT counts whole seconds", *expiry)
		}
		if !o.sends() && o.request == "" {
			return o, errors.New("-expiry is for commands: add -p2p, -broadcast or -request")
		}
		o.expiry = mqttrmq.ExpiresAfter(uint32(*expiry / time.Second))
	}
	if *p2p != "" {
		for _, id := range strings.Split(*p2p, ",") {
			id = strings.TrimSpace(id)
			topic, err := mqttrmq.P2PTopic(o.topic, id)
			if err == nil {
				err = deliverable(o.dialect, topic)
			}
			if err != nil {
				return o, fmt.Errorf("-p2p: %w", err)
			}
			o.p2p = append(o.p2p, id)
		}
	}
	if o.broadcast != "" {
		if mqttrmq.IsP2PSubtopic(o.broadcast) {
			return o, fmt.Errorf("-broadcast %q: a P2P subtopic reaches one client; use -p2p", o.broadcast)
		}
		topic, err := mqttrmq.JoinTopic(o.topic, o.broadcast)
		if err == nil {
			err = deliverable(o.dialect, topic)
		}
		if err != nil {
			return o, fmt.Errorf("-broadcast: %w", err)
		}
	}
	if o.sends() && o.message == "" {
		return o, errors.New("-msg is required with -p2p and -broadcast")
	}
	if !o.sends() && o.request == "" && (o.message != "" || o.realTopic != "" || o.cleanIsSet) {
		return o, errors.New("-msg, -real-topic and -clean are for commands: add -p2p or -broadcast")
	}
	if *qos < 0 || *qos > 2 {
		return o, fmt.Errorf("-qos %d: want 0, 1 or 2", *qos)
	}
	o.qos = mqttrmq.QoS(*qos)
	if o.realTopic != "" {
		if err := mqttrmq.ValidateTopicName(o.realTopic); err != nil {
			return o, fmt.Errorf("-real-topic: %w", err)
		}
	}
	if o.cleanIsSet && len(o.p2p) == 0 && o.request == "" {
		return o, errors.New("-clean is for -p2p: a subscriber's own session decides for the rest")
	}
	if !o.sends() && o.request == "" {
		o.consume = true
	}
	if o.presence != "" {
		if err := mqttrmq.ValidateParentTopic(o.presence); err != nil {
			return o, fmt.Errorf("-presence: %w", err)
		}
		if o.presence == o.topic {
			return o, errors.New("-presence names -topic: presence events have a topic of their own")
		}
	}
	if o.expect < 0 || o.wait < 0 {
		return o, errors.New("-expect and -wait cannot be negative")
	}
	return o, nil
}

func apache(d *mqttrmq.Dialect) bool { return d == mqttrmq.ApacheRocketMQMQTT }

// deliverable checks that the dialect can address an MQTT topic. Apache
// RocketMQ-MQTT delivers by Light Message Queue, and some topics MQTT
// allows have no queue of their own (a trailing '/', a '%' or ','): the
// flag that names one is refused now rather than the command after the
// producer started.
func deliverable(d *mqttrmq.Dialect, topic string) error {
	if !apache(d) {
		return nil
	}
	var none *mqttrmq.FilterSet // the topic's own queue is all a command needs
	_, err := none.Queues(topic)
	return err
}
