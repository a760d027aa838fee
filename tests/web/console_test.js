// The web console in a real browser (Debian's chromium, driven by puppeteer-core):
// load the page, see a value that another client changed in the PLC arrive live,
// write a setpoint through the page and read it back from the PLC, save a screenshot.
// env: PLCIO_BIN, PLC_URL, HTTP_PORT, TOKEN, OUT_DIR, CHROMIUM
'use strict';
const { execFileSync } = require('child_process');
const path = require('path');
const puppeteer = require('puppeteer-core');

const env = (k) => { if (!process.env[k]) throw new Error('missing env ' + k); return process.env[k]; };
const BIN = env('PLCIO_BIN'), URL = env('PLC_URL'), PORT = env('HTTP_PORT'), TOKEN = env('TOKEN');
const OUT = env('OUT_DIR'), CHROMIUM = env('CHROMIUM');

const plcRead = (addr) => JSON.parse(execFileSync(BIN, ['read', URL, addr, '--json'], { encoding: 'utf8' }))[addr];
const plcWrite = (addr, v) => execFileSync(BIN, ['write', URL, `${addr}=${v}`]);
const cell = (name) => `#tags tbody tr[data-name="${name}"] td.value`;

(async () => {
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--window-size=1400,1000'],
    defaultViewport: { width: 1400, height: 1000 },
  });
  const problems = [];
  let failed = false;
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => problems.push('page error: ' + e.message));
    page.on('console', (m) => { if (m.type() === 'error') problems.push('console error: ' + m.text()); });
    page.on('requestfailed', (r) => {
      if (!r.url().endsWith('/api/events')) problems.push('request failed: ' + r.url());
    });
    await page.goto(`http://127.0.0.1:${PORT}/`, { waitUntil: 'domcontentloaded' });

    // the device is up and the table is filled
    await page.waitForSelector('#devices .state.up', { timeout: 20000 });
    await page.waitForFunction((sel) => { const c = document.querySelector(sel); return c && c.textContent !== '—'; },
      { timeout: 20000 }, cell('int_2'));
    await page.waitForFunction(() => document.querySelector('#live').textContent === 'live', { timeout: 20000 });

    // another client changes the PLC: the page shows it without reloading
    const changed = Number(plcRead('DB7.DBW16:INT')) + 321;
    plcWrite('DB7.DBW16:INT', changed);
    await page.waitForFunction((sel, v) => document.querySelector(sel).textContent === String(v),
      { timeout: 20000 }, cell('int_2'), changed);
    console.log(`page shows int_2 = ${changed}, written into the PLC by another client`);

    // plot it
    await page.click('#tags tbody tr[data-name="int_2"] input[type=checkbox]');
    await page.click('#tags tbody tr[data-name="vx_scaled"] input[type=checkbox]');

    // a write through the page, with the token, lands in the PLC
    const setpoint = (Number(plcRead('DB7.DBW14:INT')) + 1000) % 30000;
    await page.type('#token', TOKEN);
    await page.$eval('#token', (e) => e.dispatchEvent(new Event('change')));
    await page.type('#write-tag', 'int_1');
    await page.type('#write-value', String(setpoint));
    await page.click('#write-go');
    await page.waitForSelector('#write-results li.ok, #write-results li.fail', { timeout: 20000 });
    const result = await page.$eval('#write-results li', (e) => e.className + ': ' + e.textContent);
    if (!result.startsWith('ok')) throw new Error('the page reports the write failed: ' + result);
    const inPlc = Number(plcRead('DB7.DBW14:INT'));
    if (inPlc !== setpoint) throw new Error(`wrote ${setpoint} through the page, the PLC holds ${inPlc}`);
    console.log(`wrote int_1 = ${setpoint} through the page; the PLC holds ${inPlc}`);
    await page.waitForFunction((sel, v) => document.querySelector(sel).textContent === String(v),
      { timeout: 20000 }, cell('int_1'), setpoint);

    // a wrong token is refused, and the page says so
    await page.$eval('#token', (e) => { e.value = 'not-the-token'; e.dispatchEvent(new Event('change')); });
    await page.$eval('#write-value', (e) => { e.value = '5'; });
    await page.click('#write-go');
    await page.waitForFunction(() => {
      const li = document.querySelector('#write-results li');
      return li && li.className === 'fail' && /wrong token/.test(li.textContent);
    }, { timeout: 20000 });
    if (Number(plcRead('DB7.DBW14:INT')) !== setpoint) throw new Error('a write with a wrong token changed the PLC');

    // sorting and filtering
    await page.type('#filter', 'scaled');
    const shown = await page.$$eval('#tags tbody tr', (rows) => rows.map((r) => r.dataset.name));
    if (shown.length !== 3 || !shown.every((n) => n.endsWith('_scaled'))) throw new Error('filter shows ' + shown);
    await page.$eval('#filter', (e) => { e.value = ''; e.dispatchEvent(new Event('input')); });

    for (let i = 0; i < 6; i++) { plcWrite('DB7.DBW16:INT', changed + 40 * i); await new Promise((r) => setTimeout(r, 300)); }
    const file = path.join(OUT, 'console.png');
    await page.screenshot({ path: file, fullPage: true });
    console.log('screenshot: ' + file);
    const bad = problems.filter((p) => !/401/.test(p));
    if (bad.length) throw new Error('the page had errors:\n' + bad.join('\n'));
  } catch (e) {
    failed = true;
    console.error('FAIL: ' + (e && e.stack || e));
    if (problems.length) console.error(problems.join('\n'));
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
})();
