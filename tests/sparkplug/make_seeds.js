// Seeds for tests/fuzz/corpus/sparkplug, encoded by a foreign encoder (Tahu's
// sparkplug-payload): byte 0 picks the topic of fuzz_sparkplug.c (0 NCMD,
// 1 DCMD plc1, 2 DCMD plc2, 3 STATE), the rest is the payload.
//   node make_seeds.js OUTDIR
'use strict';
const fs = require('fs');
const path = require('path');
const sp = require('sparkplug-payload').get('spBv1.0');
const dir = process.argv[2];
const seed = (name, topic, bytes) =>
  fs.writeFileSync(path.join(dir, name), Buffer.concat([Buffer.from([topic]), Buffer.from(bytes)]));
const ts = 1700000000000;
seed('ncmd-rebirth', 0, sp.encodePayload({ timestamp: ts, metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] }));
seed('dcmd-name-int16', 1, sp.encodePayload({ timestamp: ts, metrics: [{ name: 'Temp', type: 'Int16', value: -5 }] }));
seed('dcmd-alias-float', 1, sp.encodePayload({ timestamp: ts, metrics: [{ alias: 16, type: 'Float', value: 2.5 }] }));
seed('dcmd-string', 1, sp.encodePayload({ timestamp: ts, metrics: [{ name: 'Recipe', type: 'String', value: 'abc' }] }));
seed('dcmd-bool', 1, sp.encodePayload({ timestamp: ts, metrics: [{ name: 'Run', type: 'Boolean', value: true }] }));
seed('dcmd-uint64', 2, sp.encodePayload({ timestamp: ts, metrics: [{ name: 'Total', type: 'UInt64', value: 12345 }] }));
seed('dcmd-many', 1, sp.encodePayload({ timestamp: ts, seq: 3, metrics: [
  { alias: 17, type: 'Int16', value: 1 }, { alias: 18, type: 'Boolean', value: false },
  { name: 'Level', type: 'Double', value: 1e300 }, { name: 'Nope', type: 'Int32', value: 1 },
  { name: 'Temp', type: 'String', value: 'x' }, { name: 'Temp', type: 'Int16', value: null }] }));
seed('state-json', 3, Buffer.from('{"online": false, "timestamp": 2}'));
seed('state-text', 3, Buffer.from('OFFLINE'));
