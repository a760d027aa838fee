// snap7's client (node-snap7) reading the sync engine's s7-server output.
// Usage: node sync_s7_server_snap7.js PORT OP...
//   r:DB:START:SIZE         DBRead, prints the bytes in hex
//   w:DB:START:HEX          DBWrite, prints "ok"
//   b:DB:BYTE:BIT           ReadArea of one bit (S7WLBit), prints 0 or 1
//   wb:DB:BYTE:BIT:V        WriteArea of one bit (S7WLBit), prints "ok"
//   wm:DB:START:HEX,...     WriteMultiVars (bytes), prints each item's result in hex, comma-separated
//   wdrop:DB:START:HEX      starts an asynchronous DBWrite and exits at once (the connection goes)
//   stop                    PlcStop, prints "ok"
//   del:DB                  Delete of that DB block, prints "ok"
//   clock                   SetPlcSystemDateTime, prints "ok"
// A failed call prints "E" and snap7's error code in hex (e.g. E00c00000) and
// its text after a space. One line per op; exits 2 if the connection fails.
// Exits by itself after 30 s whatever happens.
'use strict';
const snap7 = require('node-snap7');

setTimeout(() => { console.log('timeout'); process.exit(3); }, 30000).unref();

const c = new snap7.S7Client();
c.SetParam(c.RemotePort, parseInt(process.argv[2], 10));
if (!c.ConnectTo('127.0.0.1', 0, 1)) {
  console.log('E' + c.LastError().toString(16).padStart(8, '0') + ' ' + c.ErrorText(c.LastError()));
  process.exit(2);
}
function failed() { return 'E' + c.LastError().toString(16).padStart(8, '0') + ' ' + c.ErrorText(c.LastError()); }
for (const op of process.argv.slice(3)) {
  const f = op.split(':');
  if (f[0] === 'r') {
    const b = c.DBRead(+f[1], +f[2], +f[3]);
    console.log(b ? Buffer.from(b).toString('hex') : failed());
  } else if (f[0] === 'w') {
    console.log(c.DBWrite(+f[1], +f[2], f[3].length / 2, Buffer.from(f[3], 'hex')) ? 'ok' : failed());
  } else if (f[0] === 'b') {
    const b = c.ReadArea(c.S7AreaDB, +f[1], +f[2] * 8 + +f[3], 1, c.S7WLBit);
    console.log(b ? String(b[0]) : failed());
  } else if (f[0] === 'wb') {
    const ok = c.WriteArea(c.S7AreaDB, +f[1], +f[2] * 8 + +f[3], 1, c.S7WLBit, Buffer.from([+f[4]]));
    console.log(ok ? 'ok' : failed());
  } else if (f[0] === 'wm') {
    const items = op.slice(3).split(',').map((x) => {
      const g = x.split(':');
      return { Area: c.S7AreaDB, WordLen: c.S7WLByte, DBNumber: +g[0], Start: +g[1], Amount: g[2].length / 2,
        Data: Buffer.from(g[2], 'hex') };
    });
    const r = c.WriteMultiVars(items);
    console.log(r ? r.map((x) => x.Result.toString(16)).join(',') : failed());
  } else if (f[0] === 'wdrop') {
    c.DBWrite(+f[1], +f[2], f[3].length / 2, Buffer.from(f[3], 'hex'), () => {});
    setTimeout(() => { console.log('dropped'); process.exit(0); }, 200);
    return;
  } else if (f[0] === 'stop') {
    console.log(c.PlcStop() ? 'ok' : failed());
  } else if (f[0] === 'del') {
    console.log(c.Delete(c.Block_DB, +f[1]) ? 'ok' : failed());
  } else if (f[0] === 'clock') {
    console.log(c.SetPlcSystemDateTime() ? 'ok' : failed());
  } else {
    console.log('bad op ' + op);
  }
}
c.Disconnect();
