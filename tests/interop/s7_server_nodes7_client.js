// nodes7 (pure JavaScript S7 client with its own request optimizer) against
// `plcio sim s7`. Usage: node s7_server_nodes7_client.js PORT
// The simulator runs with --db 1:200 --db 2:20 --area M:64 (all zero at start).
// Prints "ok NAME" / "FAIL NAME: why"; exit 0 only if every check passed.
// Exits by itself after 30 s whatever happens.
'use strict';
const nodes7 = require('nodes7');

setTimeout(() => { console.log('FAIL timeout'); process.exit(3); }, 30000).unref();

const conn = new nodes7({ silent: true });
let failures = 0;
function check(name, cond, detail) {
  if (cond) console.log('ok ' + name);
  else { failures++; console.log('FAIL ' + name + ': ' + detail); }
}
function close(code) { conn.dropConnection(() => process.exit(code)); setTimeout(() => process.exit(code), 2000).unref(); }

const vars = {
  REAL: 'DB1,REAL0', INTS: 'DB1,INT4.3', DINT: 'DB1,DINT10', BYTE: 'DB1,BYTE14', WORD: 'DB1,WORD16',
  BIT: 'DB1,X18.3', BITS: 'DB1,X19.0.8', STR: 'DB1,S20.10', CHAR: 'DB1,CHAR40.3',
  MREAL: 'MR4', MBIT: 'M10.7', DB2: 'DB2,INT0', REALS: 'DB1,REAL100.20',
};
const values = {
  REAL: 3.5, INTS: [-1, 2, 30000], DINT: -123456789, BYTE: 200, WORD: 0xBEEF,
  BIT: true, BITS: [true, false, true, false, false, false, false, true], STR: 'plcio', CHAR: 'abc',
  MREAL: -0.25, MBIT: true, DB2: 4242, REALS: Array.from({ length: 20 }, (_, i) => i * 1.5),
};

conn.initiateConnection({ port: parseInt(process.argv[2], 10), host: '127.0.0.1', rack: 0, slot: 2, timeout: 5000 }, (err) => {
  check('connect', err === undefined, err);
  if (err !== undefined) return close(1);
  conn.setTranslationCB((tag) => vars[tag]);
  const names = Object.keys(values);
  conn.writeItems(names, names.map((n) => values[n]), (bad) => {
    check('writeItems (all good quality)', !bad, bad);
    conn.addItems(names);
    conn.readAllItems((bad2, got) => {
      check('readAllItems (all good quality)', !bad2, JSON.stringify(got));
      for (const n of names) {
        const want = values[n];
        const same = JSON.stringify(got[n]) === JSON.stringify(want);
        check('read back ' + n + ' (' + vars[n] + ')', same, JSON.stringify(got[n]) + ' != ' + JSON.stringify(want));
      }
      // Missing DB and past-the-end addresses come back as bad quality.
      conn.removeItems(names);
      vars.MISSING = 'DB9,INT0';
      vars.PAST = 'DB2,INT19';
      conn.addItems(['MISSING', 'PAST']);
      conn.readAllItems((bad3, got3) => {
        check('missing DB / out of range are bad quality', bad3 === true &&
          String(got3.MISSING).startsWith('BAD') && String(got3.PAST).startsWith('BAD'), JSON.stringify(got3));
        console.log(failures ? failures + ' FAILED' : 'all passed');
        close(failures ? 1 : 0);
      });
    });
  });
});
