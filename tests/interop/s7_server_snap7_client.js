// snap7's client (node-snap7) against plcio's S7 server.
// Usage: node s7_server_snap7_client.js PORT
// The server (tests/interop/test_s7_server_snap7.c) starts with:
//   DB1 100 bytes = 0..99, DB2 3000 bytes = i & 0xFF, DB3 10 bytes, M 256, I 16, Q 16,
//   32 timers, 32 counters, CPU in RUN, no password.
// Prints "ok NAME" or "FAIL NAME: why" per check; exit 0 only if every check passed.
// Exits by itself after 60 s whatever happens.
'use strict';
const snap7 = require('node-snap7');

setTimeout(() => { console.log('FAIL timeout'); process.exit(3); }, 60000).unref();

const port = parseInt(process.argv[2], 10);
const c = new snap7.S7Client();
let failures = 0;

function check(name, cond, detail) {
  if (cond) console.log('ok ' + name);
  else { failures++; console.log('FAIL ' + name + ': ' + (detail !== undefined ? detail : c.ErrorText(c.LastError()))); }
}
function eq(a, b) { return JSON.stringify(a) === JSON.stringify(b); }
function bytes(buf) { return buf ? Array.from(buf) : null; }
function range(n, f) { return Array.from({ length: n }, (_, i) => f(i)); }

c.SetParam(c.RemotePort, port);
check('connect', c.ConnectTo('127.0.0.1', 0, 1));
check('pdu negotiated 480 (snap7 asks 480)', c.PDULength() === 480, c.PDULength());

// ---- DB read/write
check('DBRead DB1', eq(bytes(c.DBRead(1, 0, 100)), range(100, i => i)));
const big = c.DBRead(2, 0, 3000);
check('DBRead DB2 3000 bytes (split by PDU)', big && big.length === 3000 && big.every((v, i) => v === (i & 0xFF)));
check('DBWrite DB1', c.DBWrite(1, 10, 4, Buffer.from([0xDE, 0xAD, 0xBE, 0xEF])));
check('DBRead after write', eq(bytes(c.DBRead(1, 8, 8)), [8, 9, 0xDE, 0xAD, 0xBE, 0xEF, 14, 15]));
check('DBWrite DB2 2000 bytes', c.DBWrite(2, 500, 2000, Buffer.alloc(2000, 0x5A)));
check('DBRead DB2 back', bytes(c.DBRead(2, 499, 2002)).every((v, i) => v === (i === 0 ? (499 & 0xFF) : i === 2001 ? (2500 & 0xFF) : 0x5A)));

// ---- error codes a CPU gives
check('DBRead missing DB -> item not available', c.DBRead(9, 0, 4) === false && c.LastError() === 0x00C00000, c.LastError());
check('DBRead past end -> address out of range', c.DBRead(1, 98, 4) === false && c.LastError() === 0x00900000, c.LastError());
check('DBWrite past end -> address out of range', c.DBWrite(3, 8, 4, Buffer.alloc(4)) === false && c.LastError() === 0x00900000, c.LastError());

// ---- every area and word length through ReadArea/WriteArea
check('WriteArea M words', c.WriteArea(c.S7AreaMK, 0, 10, 2, c.S7WLWord, Buffer.from([1, 2, 3, 4])));
check('ReadArea M bytes', eq(bytes(c.ReadArea(c.S7AreaMK, 0, 10, 4, c.S7WLByte)), [1, 2, 3, 4]));
check('ReadArea M dword', eq(bytes(c.ReadArea(c.S7AreaMK, 0, 10, 1, c.S7WLDWord)), [1, 2, 3, 4]));
// node-snap7 exposes no S7WLInt/DInt/Char (its buffer sizing knows only Bit, Byte,
// Word, DWord, Real, Counter, Timer): those transport sizes are covered by
// test_s7_server_raw.c.
check('ReadArea M real', eq(bytes(c.ReadArea(c.S7AreaMK, 0, 10, 1, c.S7WLReal)), [1, 2, 3, 4]));
check('MBWrite', c.MBWrite(30, 1, Buffer.from([0x81])));
check('WriteArea M bit set (M30.3)', c.WriteArea(c.S7AreaMK, 0, 30 * 8 + 3, 1, c.S7WLBit, Buffer.from([1])));
check('WriteArea M bit clear (M30.7)', c.WriteArea(c.S7AreaMK, 0, 30 * 8 + 7, 1, c.S7WLBit, Buffer.from([0])));
check('bit writes keep neighbours', eq(bytes(c.MBRead(30, 1)), [0x09]));
check('ReadArea bit M30.3', eq(bytes(c.ReadArea(c.S7AreaMK, 0, 30 * 8 + 3, 1, c.S7WLBit)), [1]));
check('ReadArea bit M30.2', eq(bytes(c.ReadArea(c.S7AreaMK, 0, 30 * 8 + 2, 1, c.S7WLBit)), [0]));
check('DB bit write DB1.DBX0.0', c.WriteArea(c.S7AreaDB, 1, 0, 1, c.S7WLBit, Buffer.from([1])) && eq(bytes(c.DBRead(1, 0, 1)), [1]));
check('EBWrite/EBRead (I)', c.EBWrite(0, 2, Buffer.from([5, 6])) && eq(bytes(c.EBRead(0, 2)), [5, 6]));
check('ABWrite/ABRead (Q)', c.ABWrite(14, 2, Buffer.from([7, 8])) && eq(bytes(c.ABRead(14, 2)), [7, 8]));
check('ABRead past end', c.ABRead(15, 2) === false && c.LastError() === 0x00900000, c.LastError());
check('TMWrite/TMRead', c.TMWrite(3, 2, Buffer.from([0x12, 0x34, 0x56, 0x78])) && eq(bytes(c.TMRead(3, 2)), [0x12, 0x34, 0x56, 0x78]));
check('CTWrite/CTRead', c.CTWrite(31, 1, Buffer.from([0x09, 0x99])) && eq(bytes(c.CTRead(31, 1)), [0x09, 0x99]));
check('CTRead past end', c.CTRead(31, 2) === false && c.LastError() === 0x00900000, c.LastError());
check('timer area with byte size -> refused', c.ReadArea(c.S7AreaTM, 0, 0, 2, c.S7WLByte) === false, c.LastError());

// ---- multi-variable
const mv = c.ReadMultiVars([
  { Area: c.S7AreaDB, WordLen: c.S7WLByte, DBNumber: 1, Start: 1, Amount: 3 },
  { Area: c.S7AreaMK, WordLen: c.S7WLWord, DBNumber: 0, Start: 10, Amount: 1 },
  { Area: c.S7AreaDB, WordLen: c.S7WLByte, DBNumber: 77, Start: 0, Amount: 2 },
  { Area: c.S7AreaMK, WordLen: c.S7WLBit, DBNumber: 0, Start: 30 * 8 + 3, Amount: 1 },
  { Area: c.S7AreaDB, WordLen: c.S7WLByte, DBNumber: 1, Start: 99, Amount: 2 },
]);
check('ReadMultiVars results', mv && eq(mv.map(r => r.Result), [0, 0, 0x00C00000, 0, 0x00900000]), JSON.stringify(mv));
check('ReadMultiVars data', mv && eq(bytes(mv[0].Data), [1, 2, 3]) && eq(bytes(mv[1].Data), [1, 2]) && eq(bytes(mv[3].Data), [1]));
const wv = c.WriteMultiVars([
  { Area: c.S7AreaDB, WordLen: c.S7WLByte, DBNumber: 3, Start: 0, Amount: 3, Data: Buffer.from([9, 8, 7]) },
  { Area: c.S7AreaMK, WordLen: c.S7WLBit, DBNumber: 0, Start: 40 * 8 + 1, Amount: 1, Data: Buffer.from([1]) },
  { Area: c.S7AreaDB, WordLen: c.S7WLByte, DBNumber: 77, Start: 0, Amount: 1, Data: Buffer.from([1]) },
  { Area: c.S7AreaPA, WordLen: c.S7WLByte, DBNumber: 0, Start: 0, Amount: 1, Data: Buffer.from([0x42]) },
]);
check('WriteMultiVars results', wv && eq(wv.map(r => r.Result), [0, 0, 0x00C00000, 0]), JSON.stringify(wv));
check('WriteMultiVars landed', eq(bytes(c.DBRead(3, 0, 3)), [9, 8, 7]) && eq(bytes(c.MBRead(40, 1)), [2]) && eq(bytes(c.ABRead(0, 1)), [0x42]));

// ---- identity and state (SZL)
const ci = c.GetCpuInfo();
check('GetCpuInfo', ci && ci.ModuleTypeName === 'CPU 315-2 PN/DP' && ci.ASName === 'PLCIO-TEST' &&
  ci.SerialNumber === 'S C-TEST0042' && ci.ModuleName === 'Test module' && ci.Copyright === 'Original Siemens Equipment', JSON.stringify(ci));
const oc = c.GetOrderCode();
check('GetOrderCode', oc && oc.Code.trim() === '6ES7 315-2EH14-0AB0' && oc.V1 === 3 && oc.V2 === 2 && oc.V3 === 6, JSON.stringify(oc));
const cp = c.GetCpInfo();
check('GetCpInfo', cp && cp.MaxPduLength === 960 && cp.MaxConnections === 100 && cp.MaxMpiRate === 187500 && cp.MaxBusRate === 12000000, JSON.stringify(cp));
const pr = c.GetProtection();
check('GetProtection', pr && pr.sch_schal === 1 && pr.sch_par === 0 && pr.sch_rel === 1 && pr.bart_sch === 2, JSON.stringify(pr));
check('PlcStatus RUN', c.PlcStatus() === c.S7CpuStatusRun, c.PlcStatus());
const list = c.ReadSZLList();
check('ReadSZLList', list && [0x0000, 0x0011, 0x001C, 0x0131, 0x0232, 0x0424, 0x00A0].every(id => list.includes(id)), JSON.stringify(list));
const s11 = c.ReadSZL(0x0011, 0);
check('ReadSZL 0x0011 (3 records of 28)', s11 && s11.length === 4 + 3 * 28 && s11.readUInt16LE(0) === 28 && s11.readUInt16LE(2) === 3, s11 && s11.length);
const s1c = c.ReadSZL(0x001C, 0); // 344 bytes: more than one 480 PDU? no; checks the record layout
check('ReadSZL 0x001C (10 records of 34)', s1c && s1c.length === 4 + 10 * 34, s1c && s1c.length);
const s0f = c.ReadSZL(0x0F1C, 0); // header only, as real CPUs answer it: record length 34, count 10
check('ReadSZL 0x0F1C (header only)', s0f && s0f.length === 4 && s0f.readUInt16LE(0) === 34 && s0f.readUInt16LE(2) === 10, s0f && s0f.toString('hex'));
const sa0 = c.ReadSZL(0x00A0, 0);
check('ReadSZL 0x00A0 diagnostic buffer', sa0 && sa0.length >= 4 + 20 && (sa0.length - 4) % 20 === 0, sa0 && sa0.length);
check('ReadSZL unknown id -> error', c.ReadSZL(0x0B0B, 0) === false);
const s131 = c.ReadSZL(0x0131, 1);
check('ReadSZL 0x0131 index 1', s131 && s131.length === 4 + 40 && s131.readUInt16BE(6) === 960);

// ---- PLC control changes SZL 0x0424
check('PlcStop', c.PlcStop());
check('PlcStatus STOP', c.PlcStatus() === c.S7CpuStatusStop, c.PlcStatus());
const s424 = c.ReadSZL(0x0424, 0);
check('SZL 0x0424 says STOP', s424 && s424[7] === 0x04 && s424.readUInt16BE(4) === 0x4304, s424 && s424.toString('hex'));
check('PlcHotStart', c.PlcHotStart());
check('PlcStatus RUN after hot start', c.PlcStatus() === c.S7CpuStatusRun);
check('PlcStop again', c.PlcStop() && c.PlcStatus() === c.S7CpuStatusStop);
check('PlcColdStart', c.PlcColdStart() && c.PlcStatus() === c.S7CpuStatusRun);
check('Compress', c.Compress(2000));
check('CopyRamToRom refused in RUN', c.CopyRamToRom(2000) === false);

// ---- clock
const when = new Date(2031, 4, 17, 8, 9, 10);
check('SetPlcDateTime', c.SetPlcDateTime(when));
const got = c.GetPlcDateTime();
check('GetPlcDateTime returns what was set', got && Math.abs(got.getTime() - when.getTime()) < 5000, got);

// ---- blocks
const lb = c.ListBlocks();
check('ListBlocks', lb && lb.DBCount === 4 && lb.OBCount === 0 && lb.FBCount === 0, JSON.stringify(lb));
const lt = c.ListBlocksOfType(c.Block_DB);
check('ListBlocksOfType DB', eq(lt, [1, 2, 3, 1000]), JSON.stringify(lt));
check('ListBlocksOfType OB -> none', c.ListBlocksOfType(c.Block_OB) === false);
const bi = c.GetAgBlockInfo(c.Block_DB, 2);
check('GetAgBlockInfo DB2', bi && bi.BlkNumber === 2 && bi.MC7Size === 3000 && bi.BlkLang === 5 && bi.BlkType === 10 &&
  bi.LoadSize === 3000 + 92 && bi.Header.trim() === 'DB2', JSON.stringify(bi));
check('GetAgBlockInfo DB9 -> not found', c.GetAgBlockInfo(c.Block_DB, 9) === false);
const up = c.Upload(c.Block_DB, 1, 1000);
const db1 = c.DBRead(1, 0, 100);
check('Upload DB1 = its bytes', up && db1 && up.length === 100 && up.equals(db1), up && up.length);
const fup = c.FullUpload(c.Block_DB, 2, 8000);
check('FullUpload DB2 (header+body+footer)', fup && fup.length === 3000 + 92 && fup.readUInt16BE(0) === 0x7070 &&
  fup.readUInt16BE(6) === 2 && fup.readUInt32BE(8) === 3092, fup && fup.length);
const pg = fup && c.GetPgBlockInfo(fup);
check('GetPgBlockInfo of the uploaded block', pg && pg.BlkNumber === 2 && pg.MC7Size === 3000 && pg.Author.trim() === 'PLCIO', JSON.stringify(pg));
check('Upload missing DB fails', c.Upload(c.Block_DB, 9, 100) === false);
const dbg = c.DBGet(2);
check('DBGet DB2', dbg && dbg.length === 3000);
check('DBFill DB3', c.DBFill(3, 0x33) && eq(bytes(c.DBRead(3, 0, 10)), range(10, () => 0x33)));

// ---- session password on a server without one
check('SetSessionPassword without a password configured -> refused', c.SetSessionPassword('secret') === false);
check('ClearSessionPassword', c.ClearSessionPassword());

// ---- big DB (up to 65535 bytes)
const huge = c.DBRead(1000, 65000, 535);
check('DBRead DB1000 end of a 65535-byte DB', huge && huge.length === 535);

c.Disconnect();
console.log(failures ? failures + ' FAILED' : 'all passed');
process.exit(failures ? 1 : 0);
