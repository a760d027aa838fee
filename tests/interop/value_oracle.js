// Foreign oracle for plcio's value codecs: S7 bytes and their text, produced
// by code plcio did not write. DATE_AND_TIME and DTL bytes come from nodes7's
// own encoders (writeDT / writeDTL, loaded from node_modules/nodes7/nodeS7.js),
// numbers from Node's Buffer (IEEE 754, two's complement) with JavaScript's
// shortest round-trip number text, strings from Buffer's latin1 and utf16le
// codecs, dates from JavaScript's Date (ISO 8601).
//
// Prints one JSON object per line: {"type": "REAL", "hex": "40600000",
// "text": "3.5", "length": n}, then "done N". Deterministic (fixed seed).
// Exits by itself; a watchdog ends it after --seconds (default 20).
'use strict';
const fs = require('fs');
const path = require('path');

let seconds = 20;
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] === '--seconds') seconds = Number(process.argv[++i]);
}
setTimeout(() => process.exit(3), seconds * 1000).unref();

// nodes7 keeps its date codecs private; evaluate its source and take them out.
function loadNodes7Codecs() {
  const file = path.join(__dirname, 'node_modules', 'nodes7', 'nodeS7.js');
  const src = fs.readFileSync(file, 'utf8');
  const mod = { exports: {} };
  const localRequire = (name) => require(require.resolve(name, { paths: [path.dirname(file)] }));
  const fn = new Function('require', 'module', 'exports', '__filename', '__dirname',
    src + '\n;module.exports.__codecs = { writeDT, readDT, writeDTL, readDTL };');
  fn(localRequire, mod, mod.exports, file, path.dirname(file));
  return mod.exports.__codecs;
}
const codecs = loadNodes7Codecs();

// xorshift32, fixed seed
let seed = 0x2545F491;
function rnd() {
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed;
}
function rnd64() { return (BigInt(rnd()) << 32n) | BigInt(rnd()); }
function rndInt(lo, hi) { return lo + Math.floor((rnd() / 4294967296) * (hi - lo + 1)); }

const out = [];
function emit(type, buf, text, length) {
  const o = { type, hex: buf.toString('hex'), text };
  if (length !== undefined) o.length = length;
  out.push(JSON.stringify(o));
}

const MS_1990 = Date.UTC(1990, 0, 1), MS_2090 = Date.UTC(2090, 0, 1) - 1;
const MS_1970 = 0, MS_2262 = Date.UTC(2262, 3, 11, 23, 47, 16, 854);
const iso = (d) => d.toISOString().replace('Z', '');

for (let i = 0; i < 600; i++) {
  // DATE_AND_TIME by nodes7 (UTC), text by Date
  const dt = new Date(rndInt(MS_1990, MS_2090));
  const b = Buffer.alloc(8);
  codecs.writeDT(dt, b, 0, true);
  if (codecs.readDT(b, 0, true).getTime() !== dt.getTime()) throw new Error('nodes7 DT round trip');
  emit('DATE_AND_TIME', b, iso(dt));

  // DTL by nodes7 (UTC)
  const dtl = new Date(rndInt(MS_1970, MS_2262));
  const c = Buffer.alloc(12);
  codecs.writeDTL(dtl, c, 0, true);
  emit('DTL', c, iso(dtl) + '000000');

  // DATE: days since 1990-01-01
  const days = rndInt(0, 65535);
  const d = Buffer.alloc(2); d.writeUInt16BE(days);
  emit('DATE', d, new Date(MS_1990 + days * 86400000).toISOString().slice(0, 10));

  // TIME_OF_DAY: ms since midnight
  const ms = rndInt(0, 86399999);
  const t = Buffer.alloc(4); t.writeUInt32BE(ms);
  emit('TIME_OF_DAY', t, new Date(ms).toISOString().slice(11, 23));

  // LDT: ms since 1970 from Date, times 1e6 plus random ns
  const ldtMs = rndInt(MS_1970, MS_2262 - 1);
  const ns = BigInt(ldtMs) * 1000000n + BigInt(rndInt(0, 999999));
  const l = Buffer.alloc(8); l.writeBigUInt64BE(ns);
  emit('LDT', l, iso(new Date(ldtMs)) + String(ns % 1000000n).padStart(6, '0'));

  // REAL / LREAL: random bit patterns, JavaScript's shortest text
  const f = Buffer.alloc(4); f.writeUInt32BE(rnd());
  const fv = f.readFloatBE(0);
  if (!Number.isNaN(fv)) emit('REAL', f, String(fv));
  const g = Buffer.alloc(8); g.writeBigUInt64BE(rnd64());
  const gv = g.readDoubleBE(0);
  if (!Number.isNaN(gv)) emit('LREAL', g, String(gv));

  // integers, two's complement by Buffer
  const ints = [
    ['SINT', 1, (bb, v) => bb.writeInt8(v), () => rndInt(-128, 127)],
    ['INT', 2, (bb, v) => bb.writeInt16BE(v), () => rndInt(-32768, 32767)],
    ['UINT', 2, (bb, v) => bb.writeUInt16BE(v), () => rndInt(0, 65535)],
    ['DINT', 4, (bb, v) => bb.writeInt32BE(v), () => rnd() | 0],
    ['UDINT', 4, (bb, v) => bb.writeUInt32BE(v), () => rnd()],
    ['LINT', 8, (bb, v) => bb.writeBigInt64BE(v), () => BigInt.asIntN(64, rnd64())],
    ['ULINT', 8, (bb, v) => bb.writeBigUInt64BE(v), () => rnd64()],
    ['TIME', 4, (bb, v) => bb.writeInt32BE(v), () => rnd() | 0],
  ];
  for (const [name, size, write, gen] of ints) {
    if (name === 'TIME') continue; // text form differs; TIME is checked in C
    const bb = Buffer.alloc(size);
    const v = gen();
    write(bb, v);
    emit(name, bb, String(v));
  }

  // STRING[n]: Latin-1 through Buffer's latin1 codec (no NUL: C strings in cJSON)
  if (i % 4 === 0) {
    const n = rndInt(1, 254), cur = rndInt(0, n);
    let s = '';
    for (let k = 0; k < cur; k++) s += String.fromCharCode(rndInt(1, 255));
    const sb = Buffer.alloc(n + 2);
    sb[0] = n; sb[1] = cur;
    Buffer.from(s, 'latin1').copy(sb, 2);
    emit('STRING', sb, s, n);
  }
  // WSTRING[n]: UTF-16BE from Buffer's utf16le codec, byte-swapped
  if (i % 4 === 1) {
    const n = rndInt(1, 120);
    let s = '', units = 0;
    const target = rndInt(0, n);
    while (units < target) {
      let cp = rndInt(1, 0x10FFFF);
      if (cp >= 0xD800 && cp <= 0xDFFF) continue;
      if (cp > 0xFFFF && units + 2 > target) continue;
      s += String.fromCodePoint(cp);
      units += cp > 0xFFFF ? 2 : 1;
    }
    const body = Buffer.from(s, 'utf16le').swap16();
    const wb = Buffer.alloc(4 + 2 * n);
    wb.writeUInt16BE(n, 0); wb.writeUInt16BE(units, 2);
    body.copy(wb, 4);
    emit('WSTRING', wb, s, n);
  }
}
process.stdout.write(out.join('\n') + '\ndone ' + out.length + '\n', () => process.exit(0));
