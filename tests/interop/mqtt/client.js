// A foreign MQTT client (npm mqtt) for test_mqtt.sh.
//   node client.js sub URL CLIENT_ID TOPIC...       print "topic payload" per message (QoS 1,
//                                                    persistent session: reconnects and resumes)
//   node client.js request URL TOPIC PAYLOAD REPLY_TOPIC CORRELATION
//                                                    MQTT 5 request: print the reply and its
//                                                    correlation data, exit 0; exit 1 after 10 s
const mqtt = require('mqtt');
const [mode, url, ...rest] = process.argv.slice(2);
if (mode === 'sub') {
  const [id, ...topics] = rest;
  const c = mqtt.connect(url, { clientId: id, clean: false, reconnectPeriod: 200 });
  c.on('connect', () => c.subscribe(topics, { qos: 1 }, (err) => {
    if (err) { console.error('subscribe: ' + err.message); process.exit(1); }
    console.error('subscribed');
  }));
  c.on('message', (topic, payload) => process.stdout.write(topic + ' ' + payload.toString() + '\n'));
  c.on('error', (e) => console.error('mqtt: ' + e.message));
  process.on('SIGTERM', () => c.end(false, () => process.exit(0)));
} else if (mode === 'request') {
  const [topic, payload, reply, corr] = rest;
  const c = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0 });
  setTimeout(() => { console.error('no reply in 10 s'); process.exit(1); }, 10000);
  c.on('connect', () => c.subscribe(reply, { qos: 1 }, () => {
    c.publish(topic, payload, { qos: 1, properties: { responseTopic: reply, correlationData: Buffer.from(corr) } });
  }));
  c.on('message', (t, p, packet) => {
    const cd = packet.properties && packet.properties.correlationData;
    process.stdout.write(p.toString() + ' correlation=' + (cd ? cd.toString() : '') + '\n', () => process.exit(0));
  });
  c.on('error', (e) => { console.error('mqtt: ' + e.message); process.exit(1); });
} else {
  console.error('usage: client.js sub|request ...');
  process.exit(2);
}
