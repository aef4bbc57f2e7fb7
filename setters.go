package mqttrmq

// A backend addresses MQTT clients by setting properties on the messages it
// sends. The setters exist in both dialects, as methods of a Dialect, and in
// the hosted one as package-level functions too: SetQoS, SetCleanSession,
// SetTopic, SetP2P, SetRealTopic, SetRetain and SetUserProperties, and for
// the rest of MQTT 5's message properties SetMessageExpiry, SetContentType,
// SetPayloadUTF8, SetResponseTopic and SetCorrelationData.
//
// A setter writes the field in the dialect's own places, and rewrites every
// other place the message already holds it in (the other dialect's
// spelling, extData's member), so that every reader reads what was set
// (see FromRocketMQ: a message whose places disagree is refused). It
// validates everything first, and on a refusal writes nothing: a nil
// message and a value past the message's property budget (see Properties)
// are refused with an error wrapping ErrInvalidProperty, and so is a
// removal the message's type cannot make (it needs RemoveProperty, which
// both rocketmq-client-go message types have).

// SetQoS writes the QoS a message is delivered at, capped by each
// subscription's: qoslevel in the hosted dialect, qosLevel and the qosLevel
// of extData in the Apache one (RocketMQ-MQTT reads extData's). It refuses,
// with an error wrapping ErrInvalidProperty, a QoS other than 0, 1 or 2,
// and an extData on m it cannot read.
func (d *Dialect) SetQoS(m Properties, q QoS) error {
	const op = "SetQoS"
	d = d.or()
	if isNil(m) {
		return errNilMessage(op)
	}
	if !q.Valid() {
		return newError(op, q.String(), "QoS must be 0, 1 or 2", ErrInvalidProperty)
	}
	v := q.String()
	writes := []write{{d.qos, v}}
	if m.GetProperty(d.qosAlt) != "" {
		writes = append(writes, write{d.qosAlt, v})
	}
	ext, err := readExtData(op, m.GetProperty(PropExtData), true)
	if err != nil {
		return err
	}
	if d.lmq || ext.qos != "" {
		writes = append(writes, write{PropExtData, string(appendExtMembers(nil, setMember(ext.members, apacheQoS, v)))})
	}
	return apply(op, m, writes...)
}

// SetQoS writes the qoslevel property: the QoS a message is delivered at,
// capped by each subscription's. It is AlibabaCloud.SetQoS; see
// (*Dialect).SetQoS.
func SetQoS(m Properties, q QoS) error { return hosted.SetQoS(m, q) }

// SetCleanSession writes the clean-session flag of a message, "true" or
// "false": cleansessionflag in the hosted dialect, cleanSessionFlag in the
// Apache one. On a backend's message it matters for P2P only: a
// persistent-session target that is offline keeps the message for when it
// reconnects.
func (d *Dialect) SetCleanSession(m Properties, clean bool) error {
	const op = "SetCleanSession"
	d = d.or()
	if isNil(m) {
		return errNilMessage(op)
	}
	v := boolText(clean)
	writes := []write{{d.cleanSession, v}}
	if m.GetProperty(d.cleanSessionAlt) != "" {
		writes = append(writes, write{d.cleanSessionAlt, v})
	}
	return apply(op, m, writes...)
}

// SetCleanSession writes the cleansessionflag property, "true" or "false".
// It is AlibabaCloud.SetCleanSession; see (*Dialect).SetCleanSession.
func SetCleanSession(m Properties, clean bool) error { return hosted.SetCleanSession(m, clean) }

// SetTopic addresses a message to the MQTT topic topic, and returns the
// RocketMQ topic to send it to, topic's first level (a P2P topic,
// {parent}/p2p/{clientID}, addresses that client alone, as SetP2P does).
// The hosted dialect writes mqttSecondTopic, the levels after the first
// (and removes it for a one-level topic); the Apache one writes
// originMqttTopic, the whole topic, and INNER_MULTI_DISPATCH, the queues of
// the topic and of the matching filters of the dialect's FilterSet (see
// WithFilters and FilterSet.Queues).
//
// It refuses, with an error wrapping ErrInvalidTopic, what SplitTopic
// refuses, a subtopic starting /p2p that is not /p2p/{clientID}, and where
// INNER_MULTI_DISPATCH is written what FilterSet.Queues refuses.
func (d *Dialect) SetTopic(m Properties, topic string) (rocketmqTopic string, err error) {
	const op = "SetTopic"
	d = d.or()
	if isNil(m) {
		return "", errNilMessage(op)
	}
	parent, second, f := splitTopic(topic)
	if !f.ok() {
		return "", f.err(op, topic, ErrInvalidTopic)
	}
	if IsP2PSubtopic(second) {
		if _, ok := p2pTargetOf(second); !ok {
			return "", finding{probNoP2PTopic, -1}.err(op, topic, ErrInvalidTopic)
		}
	}
	if err := d.writeAddress(op, m, parent, second); err != nil {
		return "", err
	}
	return parent, nil
}

// SetTopic addresses a message to the MQTT topic topic, writing
// mqttSecondTopic, and returns the RocketMQ topic to send it to. It is
// AlibabaCloud.SetTopic; see (*Dialect).SetTopic.
func SetTopic(m Properties, topic string) (rocketmqTopic string, err error) {
	return hosted.SetTopic(m, topic)
}

// SetSecondTopic writes the mqttSecondTopic property, which addresses a
// subtopic of the message's RocketMQ topic: "/live/100" for "ACE/live/100".
// An empty second addresses the RocketMQ topic itself, and removes the
// property. It is the hosted dialect's SetTopic for a message whose RocketMQ
// topic is set already; where m also holds the Apache dialect's
// originMqttTopic or INNER_MULTI_DISPATCH, they are rewritten too, and the
// RocketMQ topic is taken from originMqttTopic.
//
// It refuses, writing nothing, with an error wrapping ErrInvalidTopic a
// second that does not start with '/', one of 65535 bytes or more (the
// parent takes at least one more), one holding what a topic name may not
// (wildcards, control characters, invalid UTF-8; see ValidateTopicName),
// and a subtopic starting /p2p that is not /p2p/{clientID}; and with an
// error wrapping ErrInvalidProperty, what the setters refuse (see
// (*Dialect).SetQoS) and an INNER_MULTI_DISPATCH on m that it cannot rewrite
// without the RocketMQ topic (use SetTopic).
func SetSecondTopic(m Properties, second string) error {
	const op = "SetSecondTopic"
	if isNil(m) {
		return errNilMessage(op)
	}
	if second != "" {
		if f := checkSecondChars(second); !f.ok() {
			return f.err(op, second, ErrInvalidTopic)
		}
		if IsP2PSubtopic(second) {
			if _, ok := p2pTargetOf(second); !ok {
				return finding{probNoP2PTopic, -1}.err(op, second, ErrInvalidTopic)
			}
		}
	}
	return hosted.writeAddress(op, m, "", second)
}

// SetP2P addresses a message to exactly one client, which receives it
// without subscribing, on {parent}/p2p/{clientID} unless SetRealTopic says
// otherwise. The hosted dialect writes mqttSecondTopic as "/p2p/" +
// clientID; the Apache one writes INNER_MULTI_DISPATCH as the client's P2P
// queue, %LMQ%%p2p%{clientID}%, and rewrites originMqttTopic when m has one.
// The message's RocketMQ topic is the parent, and its tag the dialect's
// DownlinkTag. An address already on m is replaced, so one message can be
// readdressed and sent again.
//
// It refuses, with an error wrapping ErrInvalidClientID, what P2PTopic
// refuses in a client ID and, where INNER_MULTI_DISPATCH is written, a
// client ID whose P2P queue would name another client's (see
// FilterSet.Queues); and with an error wrapping ErrInvalidProperty what the
// setters refuse.
func (d *Dialect) SetP2P(m Properties, clientID string) error {
	const op = "SetP2P"
	d = d.or()
	if isNil(m) {
		return errNilMessage(op)
	}
	if f := checkLevel(clientID); !f.ok() {
		return f.err(op, clientID, ErrInvalidClientID)
	}
	if len(p2pLevel)+len(clientID) >= maxTopicLen {
		return finding{probTooLong, -1}.err(op, clientID, ErrInvalidClientID)
	}
	return d.writeAddress(op, m, "", p2pLevel+clientID)
}

// SetP2P addresses a message to exactly one client: it writes
// mqttSecondTopic as "/p2p/" + clientID. It is AlibabaCloud.SetP2P; see
// (*Dialect).SetP2P.
func SetP2P(m Properties, clientID string) error { return hosted.SetP2P(m, clientID) }

// writeAddress writes the address parent + tail into every place the
// dialect writes it and every other place m holds one in. An unknown parent
// ("") is taken from m's originMqttTopic, if any.
func (d *Dialect) writeAddress(op string, m Properties, parent, tail string) error {
	origin := m.GetProperty(PropOriginTopic)
	if parent == "" && origin != "" {
		if p, _, f := splitTopic(origin); f.ok() {
			parent = p
		}
	}
	if parent != "" && len(parent)+len(tail) > maxTopicLen {
		return finding{probTooLong, maxTopicLen}.err(op, parent+tail, ErrInvalidTopic)
	}
	target, p2p := p2pTargetOf(tail)
	var writes []write
	if !d.lmq || m.GetProperty(PropSecondTopic) != "" {
		writes = append(writes, write{PropSecondTopic, tail}) // "" removes it
	}
	if origin != "" || d.lmq && parent != "" {
		if parent == "" {
			return newError(op, origin, PropOriginTopic+" names no RocketMQ topic to address the message in: use SetTopic", ErrInvalidProperty)
		}
		writes = append(writes, write{PropOriginTopic, parent + tail})
	}
	if d.lmq || m.GetProperty(PropDispatch) != "" {
		var list []byte
		switch {
		case p2p:
			if f := checkP2PQueue(target); !f.ok() {
				return f.err(op, target, ErrInvalidClientID)
			}
			list = appendP2PQueue(nil, target)
		case parent == "":
			return newError(op, tail, PropDispatch+" names the queues of a whole topic, and the RocketMQ topic is not known: use SetTopic", ErrInvalidProperty)
		default:
			var f finding
			if list, f = d.filters.appendDispatch(nil, parent+tail); !f.ok() {
				return f.err(op, parent+tail, ErrInvalidTopic)
			}
		}
		writes = append(writes, write{PropDispatch, string(list)})
	}
	return apply(op, m, writes...)
}

// SetRealTopic writes the whole MQTT topic name the receiving clients are
// shown instead of the one the message is addressed to, mostly for P2P
// messages: mqttRealTopic in the hosted dialect, the mqttRealTopic member of
// extData in the Apache one (which RocketMQ-MQTT reads). An empty topic
// removes it, from every place. It refuses, with an error wrapping
// ErrInvalidTopic, a topic that ValidateTopicName refuses, and with an
// error wrapping ErrInvalidProperty what the setters refuse and an extData on
// m it cannot read.
func (d *Dialect) SetRealTopic(m Properties, topic string) error {
	const op = "SetRealTopic"
	d = d.or()
	if isNil(m) {
		return errNilMessage(op)
	}
	if topic != "" {
		if f := checkName(topic); !f.ok() {
			return f.err(op, topic, ErrInvalidTopic)
		}
	}
	var writes []write
	if !d.lmq || topic == "" || m.GetProperty(PropRealTopic) != "" {
		writes = append(writes, write{PropRealTopic, topic})
	}
	ext, err := readExtData(op, m.GetProperty(PropExtData), true)
	if err != nil {
		return err
	}
	if d.lmq && topic != "" || ext.realTopic != "" {
		writes = append(writes, write{PropExtData, string(appendExtMembers(nil, setMember(ext.members, PropRealTopic, topic)))})
	}
	return apply(op, m, writes...)
}

// SetRealTopic writes the mqttRealTopic property: the whole MQTT topic name
// the receiving clients are shown. It is AlibabaCloud.SetRealTopic; see
// (*Dialect).SetRealTopic.
func SetRealTopic(m Properties, topic string) error { return hosted.SetRealTopic(m, topic) }

// SetRetain sets the retain flag of a message, which a gateway keeps as the
// topic's retained message: mqttRetain "true" in the hosted dialect; false
// removes mqttRetain, as absent means false. The Apache dialect carries no
// retain flag (RocketMQ-MQTT keeps retained messages in a store of its own):
// it refuses true with an error wrapping ErrInvalidProperty, and false
// removes a flag m has. It refuses what the setters refuse.
func (d *Dialect) SetRetain(m Properties, retain bool) error {
	const op = "SetRetain"
	d = d.or()
	if isNil(m) {
		return errNilMessage(op)
	}
	if !retain {
		return apply(op, m, write{PropRetain, ""})
	}
	if d.lmq {
		return newError(op, "true", "the Apache RocketMQ-MQTT dialect carries no retain flag", ErrInvalidProperty)
	}
	return apply(op, m, write{PropRetain, "true"})
}

// SetRetain sets the mqttRetain property. It is AlibabaCloud.SetRetain; see
// (*Dialect).SetRetain.
func SetRetain(m Properties, retain bool) error { return hosted.SetRetain(m, retain) }

// RetainOf reads the retain flag of a message, mqttRetain: "true" or
// "false" in any letter case, absent false. It refuses, with an error
// wrapping ErrInvalidProperty, a nil m and any other value.
func RetainOf(m Properties) (bool, error) {
	const op = "RetainOf"
	if isNil(m) {
		return false, errNilMessage(op)
	}
	return parseBool(op, PropRetain, m.GetProperty(PropRetain), false)
}

// RetainOf reads the retain flag of a message, as the package-level RetainOf
// does: both dialects read alike.
func (d *Dialect) RetainOf(m Properties) (bool, error) { return RetainOf(m) }

// SetUserProperties writes the MQTT 5 user properties of a message, in
// order: mqtt5UserProperty, a JSON array, in the hosted dialect; the members
// of extData, beside the mapping's own, in the Apache one. None removes them.
// It refuses, with an error wrapping ErrInvalidProperty, what
// ValidateUserProperties refuses (in the Apache dialect the 8 KB limit
// aside, but a key given twice too, and in either a key given twice when
// the message's extData is to hold them), an extData on m it cannot read,
// and what the setters refuse.
func (d *Dialect) SetUserProperties(m Properties, props []UserProperty) error {
	const op = "SetUserProperties"
	d = d.or()
	if isNil(m) {
		return errNilMessage(op)
	}
	ext, err := readExtData(op, m.GetProperty(PropExtData), true)
	if err != nil {
		return err
	}
	inArray := !d.lmq || m.GetProperty(PropUserProperties) != ""
	inExt := d.lmq || len(ext.user) > 0
	if inArray {
		if err := checkUserProperties(op, props, false); err != nil {
			return err
		}
	}
	if inExt {
		if err := checkUserProperties(op, props, true); err != nil {
			return err
		}
	}
	var writes []write
	if inArray {
		var v string
		if len(props) > 0 {
			v = string(appendUserPropertiesArray(nil, props))
		}
		writes = append(writes, write{PropUserProperties, v})
	}
	if inExt {
		members := ext.members[:0:0]
		for _, mb := range ext.members {
			if isExtDataKey(mb.Key) {
				members = append(members, mb)
			}
		}
		writes = append(writes, write{PropExtData, string(appendExtMembers(nil, append(members, props...)))})
	}
	return apply(op, m, writes...)
}

// SetUserProperties writes the mqtt5UserProperty property. It is
// AlibabaCloud.SetUserProperties; see (*Dialect).SetUserProperties.
func SetUserProperties(m Properties, props []UserProperty) error {
	return hosted.SetUserProperties(m, props)
}

// setMember returns members with key's value set to value, in its place or
// last; an empty value removes it.
func setMember(members []UserProperty, key, value string) []UserProperty {
	out := make([]UserProperty, 0, len(members)+1)
	found := false
	for _, mb := range members {
		if mb.Key == key {
			found = true
			if value == "" {
				continue
			}
			mb.Value = value
		}
		out = append(out, mb)
	}
	if !found && value != "" {
		out = append(out, UserProperty{key, value})
	}
	return out
}

// appendExtMembers appends extData holding members, checked beforehand, as a
// JSON object; nothing for no members, so that extData is removed.
func appendExtMembers(dst []byte, members []UserProperty) []byte {
	if len(members) == 0 {
		return dst
	}
	dst = append(dst, '{')
	for i, mb := range members {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, mb.Key)
		dst = append(dst, ':')
		dst = appendJSONString(dst, mb.Value)
	}
	return append(dst, '}')
}
