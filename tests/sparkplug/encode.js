// Encode a Sparkplug B payload with a foreign encoder (Tahu's sparkplug-payload)
// and write its bytes to stdout, for mosquitto_pub -f: NCMD/DCMD in the tests.
//   node encode.js '{"timestamp": 1, "metrics": [{"name": "Setpoint", "type": "Float", "value": 2.5}]}'
'use strict';
const sp = require('sparkplug-payload').get('spBv1.0');
process.stdout.write(Buffer.from(sp.encodePayload(JSON.parse(process.argv[2]))));
