// A browser-style MQTT client for the gateway's WebSocket tests: it
// connects with MQTT.js, subscribes, publishes one QoS 1 message and prints
// the first message it receives as one line of JSON, then exits 0; any
// error or a silence of 20 s exits 1.
//
//   node client.mjs URL CLIENT_ID SUBSCRIBE_FILTER PUBLISH_TOPIC PAYLOAD PROTOCOL_VERSION [CA_FILE]
import fs from "node:fs";
import mqtt from "mqtt";

const [url, clientId, filter, topic, payload, version, caFile] = process.argv.slice(2);
const options = { clientId, protocolVersion: Number(version), clean: true, reconnectPeriod: 0, connectTimeout: 10000 };
if (caFile) {
  options.ca = fs.readFileSync(caFile);
}
let received = false;
const fail = (what) => {
  if (received) {
    return; // the server may close first once the client says DISCONNECT
  }
  console.error(what);
  process.exit(1);
};
setTimeout(() => fail("no message within 20 s"), 20000).unref();

const client = mqtt.connect(url, options);
client.on("error", (err) => fail("error: " + err.message));
client.on("message", (t, message, packet) => {
  if (received) {
    return;
  }
  received = true;
  const line = JSON.stringify({ topic: t, payload: message.toString(), qos: packet.qos }) + "\n";
  process.stdout.write(line, () => client.end(false, () => process.exit(0)));
});
client.on("connect", () => {
  client.subscribe(filter, { qos: 1 }, (err, granted) => {
    if (err || granted[0].qos > 2) {
      fail("subscribe refused: " + JSON.stringify(granted || err));
    }
    client.publish(topic, payload, { qos: 1 }, (err) => err && fail("publish: " + err.message));
  });
});
