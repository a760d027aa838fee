// modbus-serial (npm) as a foreign Modbus client against plcio's server
// (plcio sim modbus --unit 1 --size >= 1000).
//   node modbus_serial_client.js tcp HOST:PORT | rtu DEVICE | ascii DEVICE | rtu-tcp HOST:PORT
// Prints "ok NAME" per check and "ALL OK"; exit 1 on the first failure.
// Exits by itself after 30 s.
const ModbusRTU = require("modbus-serial");

setTimeout(() => { console.log("FAIL timeout"); process.exit(3); }, 30000).unref();

function check(name, cond) {
    if (!cond) {
        console.log("FAIL " + name);
        process.exit(1);
    }
    console.log("ok " + name);
}

async function main() {
    const [kind, target] = process.argv.slice(2);
    const c = new ModbusRTU();
    if (kind === "tcp" || kind === "rtu-tcp") {
        const [host, port] = target.split(":");
        if (kind === "tcp") await c.connectTCP(host, { port: Number(port) });
        else await c.connectTcpRTUBuffered(host, { port: Number(port) });
    } else if (kind === "rtu") {
        await c.connectRTUBuffered(target, { baudRate: 19200, parity: "none" });
    } else {
        await c.connectAsciiSerial(target, { baudRate: 19200, parity: "none" });
    }
    c.setID(1);
    c.setTimeout(2000);

    await c.writeRegisters(10, [1, 2, 0xffff, 0x8000]);
    check("fc16 writeRegisters", true);
    let r = await c.readHoldingRegisters(10, 4);
    check("fc03 readHoldingRegisters", JSON.stringify(r.data) === "[1,2,65535,32768]");
    await c.writeRegister(20, 0x1234);
    r = await c.readHoldingRegisters(20, 1);
    check("fc06 writeRegister", r.data[0] === 0x1234);
    r = await c.readInputRegisters(0, 125);
    check("fc04 readInputRegisters", r.data.length === 125);
    const bits = [true, false, true, true, false, false, true, false, true];
    await c.writeCoils(100, bits);
    r = await c.readCoils(100, 9);
    check("fc15/fc01 writeCoils readCoils", JSON.stringify(r.data.slice(0, 9)) === JSON.stringify(bits));
    await c.writeCoil(7, true);
    r = await c.readCoils(7, 1);
    check("fc05 writeCoil", r.data[0] === true);
    r = await c.readDiscreteInputs(0, 16);
    check("fc02 readDiscreteInputs", r.data.length >= 16);
    if (kind === "tcp") {
        await c.maskWriteRegister(20, 0x00f2, 0x0025);
        r = await c.readHoldingRegisters(20, 1);
        check("fc22 maskWriteRegister", r.data[0] === ((0x1234 & 0x00f2) | (0x0025 & ~0x00f2 & 0xffff)));
        r = await c.readDeviceIdentification(1, 0);
        check("fc43/14 readDeviceIdentification", r.data[0] === "plcio" && r.data[1] === "plcio-sim");
        // FC 17 is left out: modbus-serial 8.0 reads the server id as one
        // byte and never completes on our 5-byte id ("plcio").
    }
    let exc = null;
    try { await c.readHoldingRegisters(65530, 6); } catch (e) { exc = e; }
    check("exception 02", exc && exc.modbusCode === 2);
    c.close(() => {});
    console.log("ALL OK");
    process.exit(0);
}

main().catch((e) => { console.log("FAIL " + (e && e.message)); process.exit(1); });
