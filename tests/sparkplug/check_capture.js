// A foreign Sparkplug B reader for plcio's tests: Eclipse Tahu's JavaScript
// sparkplug-payload (protobufjs) decodes every message a subscriber captured
// (mosquitto_sub -v -F '%t %x': "TOPIC HEXPAYLOAD" per line) and checks the
// rules of Sparkplug B 3.0 that a host application relies on:
//   - NBIRTH: seq 0, a bdSeq metric (Int64); an NDEATH with another bdSeq than
//     the NBIRTH's is stale (the will of a connection that never got its NBIRTH
//     out): counted in stale_deaths and ignored, as a host does
//   - seq: every message of a node after its NBIRTH is the previous + 1 (mod 256)
//   - DBIRTH: every metric has name, alias and datatype, aliases unique per node
//   - DDATA: metrics carry the alias only (no name, no datatype); their values
//     are decoded with the datatype the BIRTH declared (sparkplug-payload
//     itself decodes them, once the BIRTH's datatype is filled in)
//   - at least once: a message received twice (the same bytes, after a broker
//     failover) is counted as a duplicate and read once; a message of a
//     session whose NDEATH came first (the will raced it) must still continue
//     that session's seq (counted as late)
// Prints one JSON object: {"types": {TYPE: count}, "values": {"node/device/metric":
// last value}, "historical": n, "births": {node: [bdSeq...]}, "deaths": {...},
// "duplicates": n, "late": n, "series": {"node/device/metric": [every value]}}.
// Exits 1 with "check_capture: ..." on the first violation.
//
//   node check_capture.js CAPTURE [--expect JSON_FILE] [--require TYPES]
//   --expect: {"node/device/metric": value} that must be the last values seen
//   --require: comma-separated message types that must appear (NBIRTH,DDATA,...)
//   --series NAME: every value of the metrics called NAME, in order of arrival
//   --namespace NS: topics under NS instead of spBv1.0 (NATS Server < 2.10)
'use strict';
const fs = require('fs');
const sp = require('sparkplug-payload').get('spBv1.0'); // the payload format, whatever the topics
const proto = require('sparkplug-payload/lib/sparkplugPayloadProto.js');
const Payload = proto.org.eclipse.tahu.protobuf.Payload;

const args = process.argv.slice(2);
const capture = args[0];
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const fail = (msg) => { console.error('check_capture: ' + msg); process.exit(1); };

const nodes = {}; // "group/node" -> {seq, bdSeq, aliases: {alias: {device, name, datatype}}}
const out = { types: {}, values: {}, historical: 0, births: {}, deaths: {}, duplicates: 0, late: 0, stale_deaths: 0, series: {} };
const seriesName = opt('--series');
const seen = new Set();
const num = (v) => (v !== null && typeof v === 'object' && typeof v.toNumber === 'function') ? v.toNumber() : v;

function record(k, name, v) {
  out.values[k] = v;
  if (name === seriesName && v !== null) (out.series[k] = out.series[k] || []).push(v);
}

const lines = fs.readFileSync(capture, 'utf8').split('\n').filter((l) => l.trim());
for (const [i, line] of lines.entries()) {
  const sp1 = line.indexOf(' ');
  const topic = sp1 < 0 ? line : line.slice(0, sp1);
  const hex = sp1 < 0 ? '' : line.slice(sp1 + 1).trim();
  const where = `line ${i + 1} (${topic})`;
  const parts = topic.split('/');
  if (parts[0] !== (opt('--namespace') || 'spBv1.0')) continue;
  if (parts[1] === 'STATE') continue;
  const [, group, type, node, device] = parts;
  if (type === 'NCMD' || type === 'DCMD') continue;
  const key = `${group}/${node}`;
  if (seen.has(topic + ' ' + hex)) { out.duplicates++; continue; }
  seen.add(topic + ' ' + hex);
  const bytes = Buffer.from(hex, 'hex');
  let raw, p;
  try {
    raw = Payload.decode(bytes);
  } catch (e) {
    fail(`${where}: not a Sparkplug B payload: ${e.message}`);
  }
  out.types[type] = (out.types[type] || 0) + 1;
  const n = nodes[key] || (nodes[key] = { seq: -1, dead: false, bdSeq: undefined, aliases: {} });
  if (type === 'NDEATH') {
    p = sp.decodePayload(bytes);
    const bd = (p.metrics || []).find((m) => m.name === 'bdSeq');
    if (!bd || bd.type !== 'Int64') fail(`${where}: NDEATH without an Int64 bdSeq`);
    if (raw.hasOwnProperty('seq')) fail(`${where}: NDEATH carries a seq`);
    (out.deaths[key] = out.deaths[key] || []).push(num(bd.value));
    // a host ignores an NDEATH whose bdSeq is not its NBIRTH's: the will of a
    // connection that died before its NBIRTH got anywhere (counted)
    if (n.bdSeq !== undefined && num(bd.value) !== n.bdSeq) out.stale_deaths++;
    else n.dead = true;
    continue;
  }
  if (!raw.hasOwnProperty('seq')) fail(`${where}: no seq`);
  const seq = num(raw.seq);
  if (type === 'NBIRTH') {
    if (seq !== 0) fail(`${where}: NBIRTH seq ${seq}, not 0`);
    p = sp.decodePayload(bytes);
    const bd = (p.metrics || []).find((m) => m.name === 'bdSeq');
    if (!bd || bd.type !== 'Int64') fail(`${where}: NBIRTH without an Int64 bdSeq`);
    n.bdSeq = num(bd.value);
    (out.births[key] = out.births[key] || []).push(n.bdSeq);
    n.seq = 0;
    n.dead = false;
    continue;
  }
  if (n.seq < 0) fail(`${where}: ${type} before the node's NBIRTH`);
  if (seq !== (n.seq + 1) % 256) fail(`${where}: seq ${seq} after ${n.seq}`);
  if (n.dead) out.late++;
  n.seq = seq;
  if (type === 'DBIRTH') {
    for (const m of raw.metrics) {
      if (!m.name || !m.hasOwnProperty('alias') || !m.hasOwnProperty('datatype'))
        fail(`${where}: DBIRTH metric without name, alias or datatype`);
      const alias = num(m.alias);
      const owner = n.aliases[alias];
      if (owner && (owner.device !== device || owner.name !== m.name))
        fail(`${where}: alias ${alias} of ${m.name} already names ${owner.device}/${owner.name}`);
      n.aliases[alias] = { device, name: m.name, datatype: m.datatype };
    }
    p = sp.decodePayload(bytes);
    for (const m of p.metrics) record(`${key}/${device}/${m.name}`, m.name, num(m.value));
  } else if (type === 'DDATA' || type === 'NDATA') {
    for (const m of raw.metrics) {
      if (m.name || m.hasOwnProperty('datatype')) fail(`${where}: DATA metric with a name or datatype (alias only)`);
      const a = n.aliases[num(m.alias)];
      if (!a || a.device !== device) fail(`${where}: alias ${num(m.alias)} not born for ${device}`);
      m.datatype = a.datatype; // what a host does: the BIRTH's datatype
    }
    p = sp.decodePayload(Payload.encode(raw).finish());
    p.metrics.forEach((m, k) => {
      const a = n.aliases[num(raw.metrics[k].alias)];
      if (m.isHistorical) out.historical++;
      record(`${key}/${device}/${a.name}`, a.name, num(m.value));
    });
  } else if (type !== 'DDEATH') {
    fail(`${where}: unknown message type ${type}`);
  }
}

const expect = opt('--expect');
if (expect) {
  const want = JSON.parse(fs.readFileSync(expect, 'utf8'));
  for (const [k, v] of Object.entries(want)) {
    const got = out.values[k];
    const same = typeof v === 'number' && typeof got === 'number' ? Math.abs(v - got) <= Math.abs(v) * 1e-6 : got === v;
    if (!same) fail(`${k}: last value ${JSON.stringify(got)}, expected ${JSON.stringify(v)}`);
  }
}
const req = opt('--require');
if (req) for (const t of req.split(',')) if (!out.types[t]) fail(`no ${t} message captured`);
console.log(JSON.stringify(out));
