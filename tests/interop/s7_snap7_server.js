// snap7's S7 server (through node-snap7) as a foreign peer for plcio's S7
// client tests. Picks a free port itself (snap7 cannot bind port 0), prints
// "listening on 127.0.0.1:PORT", and exits on its own after --seconds N.
//
// Areas: DB1 (100 bytes: INT 1234 at 0, REAL 3.5 at 2, pattern from 10),
// DB2 (65535 bytes, the most snap7 allows, byte i = i & 0xFF ^ (i >> 8)), DB3 (1000 bytes, zeros),
// M/I/Q 256 bytes each (byte i = i), 64 counters and 64 timers.
'use strict';
const net = require('net');
const path = require('path');
const snap7 = require(path.join(__dirname, 'node_modules', 'node-snap7'));

let seconds = 30;
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] === '--seconds') seconds = Number(process.argv[++i]);
}

function pattern(n, f) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = f(i) & 0xff;
  return b;
}

const s = new snap7.S7Server();
const db1 = Buffer.alloc(100);
db1.writeInt16BE(1234, 0);
db1.writeFloatBE(3.5, 2);
for (let i = 10; i < 100; i++) db1[i] = i;
s.RegisterArea(s.srvAreaDB, 1, db1);
s.RegisterArea(s.srvAreaDB, 2, pattern(65535, (i) => (i & 0xff) ^ (i >> 8)));
s.RegisterArea(s.srvAreaDB, 3, Buffer.alloc(1000));
s.RegisterArea(s.srvAreaMK, pattern(256, (i) => i));
s.RegisterArea(s.srvAreaPE, pattern(256, (i) => i));
s.RegisterArea(s.srvAreaPA, pattern(256, (i) => i));
s.RegisterArea(s.srvAreaCT, pattern(128, (i) => i));
s.RegisterArea(s.srvAreaTM, pattern(128, (i) => i));

const probe = net.createServer();
probe.listen(0, '127.0.0.1', () => {
  const port = probe.address().port;
  probe.close(() => {
    s.SetParam(s.LocalPort, port);
    s.StartTo('127.0.0.1', (err) => {
      if (err) {
        console.error('snap7 server: ' + s.ErrorText(err));
        process.exit(1);
      }
      console.log('listening on 127.0.0.1:' + port);
    });
  });
});
setTimeout(() => { try { s.Stop(); } catch (e) { /* exiting anyway */ } process.exit(0); }, seconds * 1000);
