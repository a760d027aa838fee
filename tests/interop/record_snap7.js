// Records the bytes snap7's client and server exchange (through a TCP relay),
// so the codec tests can hold real frames. Usage: node record_snap7.js
// Prints "C hex" (client to server) and "S hex" (server to client) per TCP chunk.
// Exits on its own after 20 s at the latest.
'use strict';
const net = require('net');
const path = require('path');
const { spawn } = require('child_process');
const snap7 = require(path.join(__dirname, 'node_modules', 'node-snap7'));

setTimeout(() => process.exit(2), 20000);
const srv = spawn(process.execPath, [path.join(__dirname, 's7_snap7_server.js'), '--seconds', '15']);
srv.stdout.once('data', (line) => {
  const port = Number(String(line).trim().split(':').pop());
  const relay = net.createServer((c) => {
    const u = net.connect(port, '127.0.0.1');
    c.on('data', (d) => { console.log('C ' + d.toString('hex')); u.write(d); });
    u.on('data', (d) => { console.log('S ' + d.toString('hex')); c.write(d); });
    c.on('close', () => u.destroy());
    u.on('close', () => c.destroy());
  });
  relay.listen(0, '127.0.0.1', () => run(relay.address().port));
});

function run(port) {
  const c = new snap7.S7Client();
  c.SetParam(c.RemotePort, port);
  const steps = [
    (k) => c.ConnectTo('127.0.0.1', 0, 1, k),
    (k) => c.DBRead(1, 0, 4, k),
    (k) => c.DBWrite(1, 10, 3, Buffer.from([1, 2, 3]), k),
    (k) => c.WriteArea(c.S7AreaMK, 0, 8 * 10 + 5, 1, c.S7WLBit, Buffer.from([1]), k),
    (k) => c.CTRead(2, 2, k),
    (k) => c.ReadMultiVars([
      { Area: c.S7AreaDB, WordLen: c.S7WLByte, DBNumber: 1, Start: 0, Amount: 3 },
      { Area: c.S7AreaDB, WordLen: c.S7WLByte, DBNumber: 99, Start: 0, Amount: 2 },
      { Area: c.S7AreaMK, WordLen: c.S7WLByte, DBNumber: 0, Start: 4, Amount: 2 }], k),
    (k) => c.ReadSZL(0x001C, 0, k),
    (k) => c.ListBlocks(k),
    (k) => c.ListBlocksOfType(c.Block_DB, k),
    (k) => c.GetAgBlockInfo(c.Block_DB, 1, k),
    (k) => c.GetPlcDateTime(k),
    (k) => c.SetPlcDateTime(new Date(Date.UTC(2026, 8, 23, 12, 34, 56, 789)), k),
    (k) => c.PlcStop(k),
    (k) => c.PlcHotStart(k),
    (k) => c.SetSessionPassword('SECRET', k),
    (k) => c.ClearSessionPassword(k),
    (k) => c.DBRead(1, 98, 4, k),
    (k) => c.GetAgBlockInfo(c.Block_DB, 42, k),
    (k) => c.ReadSZL(0x1234, 0, k),
  ];
  let i = 0;
  const next = () => {
    if (i >= steps.length) { c.Disconnect(); setTimeout(() => process.exit(0), 200); return; }
    const step = steps[i++];
    console.log('# step ' + i + ' ' + step.toString().replace(/\s+/g, ' ').slice(7, 80));
    step((err) => { if (err) console.log('# error ' + c.ErrorText(err)); next(); });
  };
  next();
}
