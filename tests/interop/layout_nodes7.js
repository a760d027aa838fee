// Foreign check of plcio's layouts: snap7's server (node-snap7) holds DB1 =
// the start image plcio built from a TIA source, and nodes7 reads every leaf
// at the address plcio computed, decoding with its own codecs.
// Usage: node layout_nodes7.js IMAGE_HEX_FILE ITEMS_JSON_FILE [--seconds N]
//   ITEMS_JSON_FILE: {"leaf name": "DB1,REAL0", ...}
// Prints "result {JSON of name -> value}" and exits 0, or "FAIL why" and 1.
// Exits by itself after --seconds (default 30) whatever happens.
'use strict';
const fs = require('fs');
const net = require('net');
const path = require('path');
const snap7 = require(path.join(__dirname, 'node_modules', 'node-snap7'));
const nodes7 = require(path.join(__dirname, 'node_modules', 'nodes7'));

let seconds = 30;
const files = [];
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] === '--seconds') seconds = Number(process.argv[++i]);
  else files.push(process.argv[i]);
}
setTimeout(() => { console.log('FAIL timeout'); process.exit(3); }, seconds * 1000).unref();

const image = Buffer.from(fs.readFileSync(files[0], 'utf8').trim(), 'hex');
const items = JSON.parse(fs.readFileSync(files[1], 'utf8'));

const server = new snap7.S7Server();
server.RegisterArea(server.srvAreaDB, 1, image);

function finish(code, line) {
  console.log(line);
  try { server.Stop(); } catch (e) { /* exiting anyway */ }
  process.exit(code);
}

const probe = net.createServer();
probe.listen(0, '127.0.0.1', () => {
  const port = probe.address().port;
  probe.close(() => {
    server.SetParam(server.LocalPort, port);
    server.StartTo('127.0.0.1', (err) => {
      if (err) return finish(1, 'FAIL snap7 server: ' + server.ErrorText(err));
      const conn = new nodes7({ silent: true });
      conn.initiateConnection({ port, host: '127.0.0.1', rack: 0, slot: 2, timeout: 5000 }, (cerr) => {
        if (cerr !== undefined) return finish(1, 'FAIL nodes7 connect: ' + cerr);
        conn.setTranslationCB((tag) => items[tag]);
        conn.addItems(Object.keys(items));
        conn.readAllItems((bad, values) => {
          if (bad) return finish(1, 'FAIL bad quality: ' + JSON.stringify(values));
          conn.dropConnection(() => finish(0, 'result ' + JSON.stringify(values)));
          setTimeout(() => finish(0, 'result ' + JSON.stringify(values)), 2000).unref();
        });
      });
    });
  });
});
