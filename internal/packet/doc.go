// Package packet reads and writes the MQTT 3.1.1 and 5.0 control packets
// an MQTT server exchanges with its clients: it decodes what clients send
// (CONNECT, PUBLISH, the acknowledgements, SUBSCRIBE, UNSUBSCRIBE,
// PINGREQ, DISCONNECT, AUTH) and encodes what a server sends (CONNACK,
// PUBLISH, the acknowledgements, SUBACK, UNSUBACK, PINGRESP, DISCONNECT).
//
// The broker has this codec of its own because the existing ones do not
// fit a server that must never fail on input: mochi-mqtt's packets package
// indexes past the end of a truncated MQTT 5 SUBSCRIBE (a six-byte packet
// panics it), cannot tell a Message Expiry Interval of 0 from none or
// empty Correlation Data from none, and takes a property given twice;
// paho.golang's packets speaks MQTT 5 only. Here:
//
//   - every decoder bounds every read and returns an *Error carrying the
//     reason code MQTT gives the fault (0x81 malformed packet, 0x82
//     protocol error), citing the normative statement; FuzzDecode holds
//     that no input panics;
//   - properties that MQTT tells apart when absent are Opt values, which
//     say whether they were present [MQTT-2.2.2];
//   - a property not allowed in its packet, or given twice where MQTT
//     allows it once, is a protocol error [MQTT-2.2.2-1];
//   - strings are checked as MQTT's UTF-8 strings [MQTT-1.5.4-1]
//     [MQTT-1.5.4-2] and copied; byte fields (payload, password,
//     correlation data) alias the input and must be copied to be kept;
//   - encoders append to a caller's buffer, so that a server encodes into
//     pooled buffers without allocating.
package packet
