package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mqttrmq/mqttrmq"
)

// options are the command line's settings, checked.
type options struct {
	broker    string
	clientID  string
	username  string // empty without credentials
	password  string
	clean     bool
	keepAlive time.Duration
	qos       byte
	filters   []string
	pubTopic  string
	count     int
	message   string // with {seq} and {client} replaced
	interval  time.Duration
	p2pTopic  string // {parent}/p2p/{target}, empty when not sending P2P
	expect    int
	wait      time.Duration
	waitIsSet bool
	respond   bool   // MQTT 5: answer requests
	reply     string // the answer, with {request} and {client} replaced
}

const usageHead = `Usage: device -broker tcp://host:1883 -client GroupID@@@DeviceID [flags]

An MQTT device for the hosted MQTT service or this module's gateway. It
connects, subscribes (-sub), publishes (-pub), sends P2P (-p2p-to), and
prints what it receives, P2P messages included.

It exits after sending when it sent something and subscribed to nothing;
otherwise it keeps receiving until interrupted, for -wait, or until it has
received -expect messages.

With -respond it speaks MQTT 5 instead and answers requests: a message
with a Response Topic gets -reply published to that topic with its
Correlation Data; -expect counts the answers.

Flags:`

func parseFlags(stdout io.Writer, args []string) (options, error) {
	o := options{}
	fs := flag.NewFlagSet("device", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned; -h prints usage below
	fs.StringVar(&o.broker, "broker", "tcp://127.0.0.1:1883", "MQTT broker `URL`: tcp://host:1883, or ssl://host:8883 for TLS")
	client := fs.String("client", "", "client `ID`, GroupID@@@DeviceID (or give -group and -device)")
	group := fs.String("group", "", "group `ID`, GID_ or GID- then letters, digits, - and _")
	device := fs.String("device", "", "device `ID`, letters, digits, - and _")
	mode := fs.String("mode", "none", "credentials: none, signature, token or device (the hosted service's Signature, Token and DeviceCredential modes)")
	ak := fs.String("ak", "", "AccessKey `ID` (the device AccessKey ID with -mode device)")
	sk := fs.String("sk", "", "AccessKey `secret` (the device AccessKey secret with -mode device)")
	instance := fs.String("instance", "", "instance `ID` of the MQTT service")
	tokens := fs.String("tokens", "", "with -mode token, the tokens as `type:token`[,type:token...], type R (subscribe), W (publish) or RW, e.g. R:abc,W:def")
	fs.BoolVar(&o.clean, "clean", true, "clean session; -clean=false keeps subscriptions and QoS 1 messages while disconnected")
	fs.DurationVar(&o.keepAlive, "keepalive", 60*time.Second, "MQTT keep-alive")
	qos := fs.Int("qos", 1, "QoS of what is published and subscribed: 0, 1 or 2")
	sub := fs.String("sub", "", "topic `filters` to subscribe to, comma-separated")
	fs.StringVar(&o.pubTopic, "pub", "", "`topic` to publish -n messages to")
	fs.IntVar(&o.count, "n", 1, "messages to publish to -pub")
	fs.StringVar(&o.message, "msg", "message {seq} from {client}", "`payload`; {seq} and {client} are replaced")
	fs.DurationVar(&o.interval, "interval", 0, "pause between two messages to -pub")
	p2pTo := fs.String("p2p-to", "", "send -msg point to point to this client `ID` (needs -parent)")
	parent := fs.String("parent", "", "parent `topic` of the P2P message -p2p-to sends: it goes to {parent}/p2p/{client ID}")
	fs.IntVar(&o.expect, "expect", 0, "exit once this many messages were received; fail if -wait passes first")
	fs.DurationVar(&o.wait, "wait", 0, "keep receiving this long, then exit (0: until interrupted)")
	fs.BoolVar(&o.respond, "respond", false, "speak MQTT 5 and answer every request (a message with a Response Topic) on its response topic, with its Correlation Data")
	fs.StringVar(&o.reply, "reply", "done: {request}", "with -respond, the answer's `payload`; {request} is the request's payload, {client} this client's ID")
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
	replyIsSet := false
	fs.Visit(func(f *flag.Flag) {
		o.waitIsSet = o.waitIsSet || f.Name == "wait"
		replyIsSet = replyIsSet || f.Name == "reply"
	})
	if replyIsSet && !o.respond {
		return o, errors.New("-reply is the answer -respond sends: add -respond")
	}

	u, err := url.Parse(o.broker)
	if err != nil || u.Host == "" {
		return o, fmt.Errorf("-broker %q: want a URL such as tcp://127.0.0.1:1883", o.broker)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss":
	default:
		return o, fmt.Errorf("-broker %q: scheme %q: want tcp, ssl, tls, mqtt, mqtts, ws or wss", o.broker, u.Scheme)
	}

	hosted := *mode != "none"
	if o.clientID, err = clientID(*client, *group, *device, hosted); err != nil {
		return o, err
	}
	if o.username, o.password, err = credentials(*mode, *ak, *sk, *instance, *tokens, o.clientID); err != nil {
		return o, err
	}

	if *qos < 0 || *qos > 2 {
		return o, fmt.Errorf("-qos %d: want 0, 1 or 2", *qos)
	}
	o.qos = byte(*qos)
	if o.keepAlive < time.Second {
		return o, fmt.Errorf("-keepalive %v: want at least 1s", o.keepAlive)
	}
	if *sub != "" {
		for _, f := range strings.Split(*sub, ",") {
			f = strings.TrimSpace(f)
			if err := mqttrmq.ValidateTopicFilter(f); err != nil {
				return o, fmt.Errorf("-sub: %w", err)
			}
			o.filters = append(o.filters, f)
		}
	}
	if o.pubTopic != "" {
		// SplitTopic applies MQTT's rules and the mapping's: the first
		// level must be able to stand as a RocketMQ topic.
		if _, _, err := mqttrmq.SplitTopic(o.pubTopic); err != nil {
			return o, fmt.Errorf("-pub: %w", err)
		}
	}
	if o.count < 1 {
		return o, fmt.Errorf("-n %d: want 1 or more", o.count)
	}
	if o.interval < 0 {
		return o, fmt.Errorf("-interval %v: want 0 or more", o.interval)
	}
	switch {
	case *p2pTo != "" && *parent == "":
		return o, errors.New("-p2p-to needs -parent, the parent topic the P2P message is sent under")
	case *p2pTo != "":
		if o.p2pTopic, err = mqttrmq.P2PTopic(*parent, *p2pTo); err != nil {
			return o, fmt.Errorf("-p2p-to: %w", err)
		}
	case *parent != "":
		return o, errors.New("-parent is for -p2p-to; give the whole topic to -pub")
	}
	if o.expect < 0 || o.wait < 0 {
		return o, errors.New("-expect and -wait cannot be negative")
	}
	if o.respond {
		switch {
		case o.pubTopic != "" || o.p2pTopic != "":
			return o, errors.New("-respond answers requests; it does not publish: leave out -pub and -p2p-to")
		case u.Scheme == "ws" || u.Scheme == "wss":
			return o, fmt.Errorf("-respond speaks MQTT 5 over TCP or TLS: want a tcp, mqtt, ssl, tls or mqtts -broker, not %s", u.Scheme)
		}
	}
	return o, nil
}

// clientID builds the client ID from -client or from -group and -device.
// The hosted service takes only GroupID@@@DeviceID; any MQTT broker
// takes the ID as one level of a P2P topic only if it holds no '/',
// wildcard or control character.
func clientID(client, group, device string, hosted bool) (string, error) {
	switch {
	case client != "" && (group != "" || device != ""):
		return "", errors.New("give -client, or -group and -device, not both")
	case client == "" && group == "" && device == "":
		return "", errors.New("-client is required (or -group and -device)")
	case client == "":
		id := mqttrmq.ClientID{GroupID: group, DeviceID: device}
		if err := id.Validate(); err != nil {
			return "", fmt.Errorf("-group/-device: %w", err)
		}
		return id.String(), nil
	}
	if hosted || strings.Contains(client, "@@@") {
		if _, err := mqttrmq.ParseClientID(client); err != nil {
			return "", fmt.Errorf("-client: %w", err)
		}
	}
	if _, err := mqttrmq.P2PTopic("p", client); err != nil {
		return "", fmt.Errorf("-client: %w", err)
	}
	return client, nil
}

// credentials returns the username and password of the hosted service's
// mode for the client.
func credentials(mode, ak, sk, instance, tokens, clientID string) (user, pass string, err error) {
	given := []struct{ flag, value string }{{"-ak", ak}, {"-sk", sk}, {"-instance", instance}, {"-tokens", tokens}}
	needs := func(names ...string) error {
		for _, g := range given {
			if g.value == "" && slices.Contains(names, g.flag) {
				return fmt.Errorf("-mode %s needs %s", mode, g.flag)
			}
		}
		return nil
	}
	switch mode {
	case "none":
		for _, g := range given {
			if g.value != "" {
				return "", "", fmt.Errorf("%s needs -mode signature, token or device", g.flag)
			}
		}
		return "", "", nil
	case "signature", "device":
		if err := needs("-ak", "-sk", "-instance"); err != nil {
			return "", "", err
		}
		if tokens != "" {
			return "", "", fmt.Errorf("-tokens is for -mode token, not %s", mode)
		}
		credentials := mqttrmq.SignatureCredentials
		if mode == "device" {
			credentials = mqttrmq.DeviceCredentials
		}
		if user, pass, err = credentials(ak, sk, instance, clientID); err != nil {
			return "", "", fmt.Errorf("-ak, -sk, -instance: %w", err)
		}
		return user, pass, nil
	case "token":
		if err := needs("-ak", "-instance", "-tokens"); err != nil {
			return "", "", err
		}
		if sk != "" {
			return "", "", errors.New("-mode token signs nothing: leave out -sk")
		}
		var ts []mqttrmq.Token
		for _, t := range strings.Split(tokens, ",") {
			typ, value, ok := strings.Cut(strings.TrimSpace(t), ":")
			if !ok {
				return "", "", fmt.Errorf("-tokens %q: want type:token, such as R:abc", t)
			}
			ts = append(ts, mqttrmq.Token{Type: typ, Value: value})
		}
		user, pass, err = mqttrmq.TokenCredentials(ak, instance, ts...)
		if err != nil {
			return "", "", fmt.Errorf("-tokens: %w", err)
		}
		return user, pass, nil
	}
	return "", "", fmt.Errorf("-mode %q: want none, signature, token or device", mode)
}
