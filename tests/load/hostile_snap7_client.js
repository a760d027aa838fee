// A foreign S7 client (snap7's, through node-snap7) that must get in after
// the server was crowded with hostile connections (test_hostile_clients.c).
// Usage: node hostile_snap7_client.js PORT   (NODE_PATH: tests/interop/node_modules)
// Prints "ok HEX" (DB1 bytes 0..3) and exits 0, or "FAIL why" and exits 1.
// Exits by itself after 30 s whatever happens.
'use strict';
const snap7 = require('node-snap7');

setTimeout(() => { console.log('FAIL timeout'); process.exit(3); }, 30000).unref();

const c = new snap7.S7Client();
c.SetParam(c.RemotePort, parseInt(process.argv[2], 10));
if (!c.ConnectTo('127.0.0.1', 0, 1)) {
  console.log('FAIL connect: ' + c.ErrorText(c.LastError()));
  process.exit(1);
}
const b = c.DBRead(1, 0, 4);
if (!b) {
  console.log('FAIL read: ' + c.ErrorText(c.LastError()));
  process.exit(1);
}
console.log('ok ' + b.toString('hex'));
c.Disconnect();
process.exit(0);
