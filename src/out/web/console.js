// plcio web console: devices and groups (polled), the tag table (GET /api/tags, then
// the event stream /api/events), a trend plot on a canvas, writes (POST /api/write).
// No framework, no network beyond this server. The token lives in this page only.
'use strict';

const $ = (sel) => document.querySelector(sel);
const tags = [];          // by id: {id, name, device, group, type, value, quality, changed, row, cells}
const byName = new Map();
const trend = new Map();  // id -> [[ms, number], ...]
const COLORS = ['#4ea1ff', '#3fb950', '#d29922', '#f85149', '#a371f7', '#39c5cf', '#ff7b72', '#e3b341'];
const QUALITY = { 1: 'good', 2: 'stale', 3: 'error' };
let sortKey = 'name', sortDir = 1, token = '', live = null;

function headers(extra) {
  const h = Object.assign({}, extra || {});
  if (token) h.Authorization = 'Bearer ' + token;
  return h;
}

async function getJSON(path) {
  const r = await fetch(path, { headers: headers(), cache: 'no-store' });
  if (!r.ok) throw new Error(path + ': ' + r.status + ' ' + ((await r.json().catch(() => ({}))).error || ''));
  return r.json();
}

function fmtValue(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(+v.toPrecision(7));
  return String(v);
}

function age(ms) {
  if (!ms) return '—';
  const s = Math.max(0, (Date.now() - ms) / 1000);
  if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + ' s ago';
  if (s < 3600) return Math.floor(s / 60) + ' min ago';
  return new Date(ms).toLocaleTimeString();
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// ---- devices and groups ----
function ms(s) { return (s * 1000).toFixed(s < 0.01 ? 2 : 1); }

function renderDevices(data) {
  const box = $('#devices');
  box.replaceChildren();
  for (const d of data.devices) {
    const card = el('div', 'device');
    card.dataset.device = d.name;
    const title = el('div', 'title');
    title.append(el('span', 'state ' + (d.connected ? 'up' : 'down'), d.connected ? 'UP' : 'DOWN'), el('span', '', d.name));
    card.append(title);
    const facts = `${d.connects} connects · ${d.connection_errors} connection errors · ${d.bytes} bytes read` +
      (!d.connected && d.last_message ? ' · ' + d.last_message : '');
    card.append(el('div', 'facts', facts));
    const t = el('table', 'groups');
    const head = el('tr');
    for (const h of ['group', 'every', 'tags', 'cycles', 'cycle avg/max ms', 'jitter avg/max ms', 'late', 'errors'])
      head.append(el('th', '', h));
    t.append(head);
    for (const g of d.groups) {
      const r = el('tr');
      r.append(el('td', '', g.name), el('td', '', g.interval_ms + ' ms'), el('td', '', g.tags), el('td', '', g.cycles),
        el('td', '', ms(g.cycle_avg_s) + ' / ' + ms(g.cycle_max_s)), el('td', '', ms(g.jitter_avg_s) + ' / ' + ms(g.jitter_max_s)),
        el('td', g.late ? 'late' : '', g.late), el('td', g.errors ? 'late' : '', g.errors));
      t.append(r);
    }
    card.append(t);
    box.append(card);
  }
  $('#write-panel').hidden = !data.writes;
}

async function pollDevices() {
  try { renderDevices(await getJSON('/api/devices')); } catch (e) { $('#devices').textContent = e.message; }
}

// ---- tag table ----
function buildRow(t) {
  const row = el('tr');
  row.dataset.name = t.name;
  const pick = el('input');
  pick.type = 'checkbox';
  pick.title = 'plot ' + t.name;
  pick.checked = trend.has(t.id);
  pick.addEventListener('change', () => { if (pick.checked) trend.set(t.id, []); else trend.delete(t.id); legend(); });
  const c0 = el('td'); c0.append(pick);
  const q = el('td', 'quality');
  t.cells = { value: el('td', 'value'), quality: q, changed: el('td', 'changed') };
  row.append(c0, el('td', 'name', t.name), el('td', 'muted', t.device + ' / ' + t.group), el('td', 'muted', t.type),
    t.cells.value, q, t.cells.changed);
  row.addEventListener('dblclick', () => { $('#write-tag').value = t.name; $('#write-value').focus(); });
  t.row = row;
  paint(t, false);
}

function paint(t, flash) {
  t.cells.value.textContent = fmtValue(t.value);
  const q = QUALITY[t.quality] || t.quality || 'none';
  t.cells.quality.replaceChildren(el('span', 'q ' + q), document.createTextNode(q));
  t.cells.changed.textContent = age(t.changed);
  t.row.classList.toggle('bad', q !== 'good');
  if (flash) {
    t.row.classList.remove('flash');
    void t.row.offsetWidth;
    t.row.classList.add('flash');
    setTimeout(() => t.row.classList.remove('flash'), 600);
  }
}

function visible(t) {
  const f = $('#filter').value.trim().toLowerCase(), d = $('#device-filter').value, g = $('#group-filter').value;
  return (!f || t.name.toLowerCase().includes(f)) && (!d || t.device === d) && (!g || t.group === g);
}

function compare(a, b) {
  let x = sortKey === 'device' ? a.device + '/' + a.group : a[sortKey];
  let y = sortKey === 'device' ? b.device + '/' + b.group : b[sortKey];
  if (typeof x === 'number' && typeof y === 'number') return (x - y) * sortDir;
  return String(x ?? '').localeCompare(String(y ?? ''), undefined, { numeric: true }) * sortDir;
}

function renderTable() {
  const body = $('#tags tbody');
  const rows = tags.filter(visible).sort(compare).map((t) => t.row);
  body.replaceChildren(...rows);
  $('#tag-count').textContent = rows.length + ' of ' + tags.length;
  for (const th of document.querySelectorAll('th[data-sort]')) {
    th.classList.toggle('sorted-asc', th.dataset.sort === sortKey && sortDir > 0);
    th.classList.toggle('sorted-desc', th.dataset.sort === sortKey && sortDir < 0);
  }
}

function fillSelect(sel, values) {
  for (const v of [...new Set(values)].sort()) { const o = el('option', '', v); o.value = v; sel.append(o); }
}

async function loadTags() {
  const data = await getJSON('/api/tags');
  tags.length = 0;
  byName.clear();
  const names = $('#tag-names');
  names.replaceChildren();
  for (const t of data.tags) {
    t.quality = { good: 1, stale: 2, error: 3 }[t.quality] || 0;
    tags[t.id] = t;
    byName.set(t.name, t);
    buildRow(t);
    const o = el('option'); o.value = t.name; names.append(o);
  }
  fillSelect($('#device-filter'), data.tags.map((t) => t.device));
  fillSelect($('#group-filter'), data.tags.map((t) => t.group));
  renderTable();
}

// ---- the event stream (fetch, so a token can go along) ----
function setLive(on, text) {
  const p = $('#live');
  p.className = 'pill ' + (on ? 'on' : 'off');
  p.textContent = text;
}

function onEvent(type, data) {
  if (type === 'tags') {
    const msg = JSON.parse(data);
    for (const [id, value, quality, changed] of msg.tags) {
      const t = tags[id];
      if (!t) continue;
      t.value = value; t.quality = quality; t.changed = changed;
      paint(t, true);
      const series = trend.get(id);
      if (series && typeof value === 'number') series.push([changed || msg.time, value]);
      if (series && typeof value === 'boolean') series.push([changed || msg.time, value ? 1 : 0]);
    }
    if (sortKey === 'value' || sortKey === 'changed') renderTable();
  } else if (type === 'device') {
    pollDevices();
  } else if (type === 'write') {
    const msg = JSON.parse(data);
    $('#write-state').textContent = 'last write: ' + msg.tag + (msg.ok ? ' ok' : ' failed: ' + msg.message);
  }
}

async function stream() {
  for (;;) {
    const ctl = new AbortController();
    live = ctl;
    try {
      const r = await fetch('/api/events', { headers: headers(), signal: ctl.signal, cache: 'no-store' });
      if (!r.ok) throw new Error('event stream: ' + r.status);
      setLive(true, 'live');
      const reader = r.body.getReader();
      const dec = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          let type = 'message', data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) type = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (data) onEvent(type, data);
        }
      }
    } catch (e) {
      setLive(false, 'reconnecting');
    }
    setLive(false, 'reconnecting');
    await new Promise((res) => setTimeout(res, 2000));
    await loadTags().catch(() => {});
  }
}

// ---- trend ----
function legend() {
  const box = $('#trend-legend');
  box.replaceChildren();
  let i = 0;
  for (const id of trend.keys()) {
    const s = el('span', '', ' ■ ' + tags[id].name);
    s.style.color = COLORS[i++ % COLORS.length];
    box.append(s);
  }
  $('#trend-hint').hidden = trend.size > 0;
}

function drawTrend() {
  const cv = $('#trend');
  const dpr = window.devicePixelRatio || 1;
  const w = cv.clientWidth, h = 220;
  if (cv.width !== Math.round(w * dpr)) { cv.width = Math.round(w * dpr); cv.height = Math.round(h * dpr); }
  const g = cv.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const css = getComputedStyle(document.documentElement);
  const span = +$('#trend-window').value * 1000, now = Date.now(), t0 = now - span;
  let lo = Infinity, hi = -Infinity;
  for (const [id, s] of trend) {
    while (s.length > 2 && s[1][0] < t0) s.shift();
    const t = tags[id];
    if (typeof t.value === 'number' || typeof t.value === 'boolean') {
      const v = +t.value;
      if (!s.length || s[s.length - 1][1] !== v) s.push([now, v]);
    }
    for (const [, v] of s) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  }
  const L = 48, R = 8, T = 8, B = 20;
  g.strokeStyle = css.getPropertyValue('--line');
  g.fillStyle = css.getPropertyValue('--muted');
  g.font = '11px system-ui';
  g.strokeRect(L, T, w - L - R, h - T - B);
  if (!isFinite(lo)) return;
  if (lo === hi) { lo -= 1; hi += 1; }
  const pad = (hi - lo) * 0.08; lo -= pad; hi += pad;
  const x = (t) => L + ((t - t0) / span) * (w - L - R);
  const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (h - T - B);
  for (let k = 0; k <= 4; k++) {
    const v = lo + ((hi - lo) * k) / 4;
    g.fillText(String(+v.toPrecision(4)), 2, y(v) + 4);
  }
  g.fillText('-' + span / 60000 + ' min', L, h - 4);
  g.fillText('now', w - R - 22, h - 4);
  let i = 0;
  for (const [, s] of trend) {
    g.strokeStyle = COLORS[i++ % COLORS.length];
    g.lineWidth = 1.5;
    g.beginPath();
    s.forEach(([t, v], k) => {
      const px = x(Math.max(t, t0));
      if (k === 0) g.moveTo(px, y(v));
      else { g.lineTo(px, y(s[k - 1][1])); g.lineTo(px, y(v)); }   // steps: a value holds until it changes
    });
    if (s.length) g.lineTo(x(now), y(s[s.length - 1][1]));
    g.stroke();
  }
}

// ---- writes ----
async function write(ev) {
  ev.preventDefault();
  const tag = $('#write-tag').value.trim(), text = $('#write-value').value.trim();
  const t = byName.get(tag);
  let value = text;
  if (t && /INT|BYTE|WORD|REAL/.test(t.type) && text !== '' && !isNaN(+text)) value = +text;
  if (t && t.type === 'BOOL' && (text === 'true' || text === 'false')) value = text === 'true';
  const li = el('li', '', tag + ' = ' + text + ' …');
  $('#write-results').prepend(li);
  try {
    const r = await fetch('/api/write', {
      method: 'POST', headers: headers({ 'Content-Type': 'application/json' }), body: JSON.stringify({ [tag]: value }),
    });
    const body = await r.json().catch(() => ({}));
    const res = body.results && body.results[0];
    const ok = r.ok && res && res.ok;
    li.className = ok ? 'ok' : 'fail';
    li.textContent = tag + ' = ' + text + ': ' + (ok ? 'written' : (res ? res.message : body.error || r.status));
  } catch (e) {
    li.className = 'fail';
    li.textContent = tag + ' = ' + text + ': ' + e.message;
  }
}

// ---- start ----
function theme(toggle) {
  let light = sessionStorage.getItem('plcio-theme');
  if (light === null) light = matchMedia('(prefers-color-scheme: light)').matches ? '1' : '0';
  if (toggle) { light = light === '1' ? '0' : '1'; sessionStorage.setItem('plcio-theme', light); }
  document.documentElement.classList.toggle('light', light === '1');
}

window.addEventListener('DOMContentLoaded', async () => {
  theme(false);
  $('#theme').addEventListener('click', () => theme(true));
  $('#token').addEventListener('change', () => {
    token = $('#token').value.trim();
    if (live) live.abort();
    pollDevices();
  });
  for (const id of ['#filter', '#device-filter', '#group-filter']) $(id).addEventListener('input', renderTable);
  for (const th of document.querySelectorAll('th[data-sort]'))
    th.addEventListener('click', () => {
      sortDir = sortKey === th.dataset.sort ? -sortDir : 1;
      sortKey = th.dataset.sort;
      renderTable();
    });
  $('#write-form').addEventListener('submit', write);
  await pollDevices();
  await loadTags().catch((e) => { $('#tag-count').textContent = e.message; });
  stream();
  setInterval(pollDevices, 2000);
  setInterval(() => {
    $('#clock').textContent = new Date().toLocaleTimeString();
    for (const t of tags) if (t && t.row.isConnected) t.cells.changed.textContent = age(t.changed);
  }, 1000);
  (function frame() { drawTrend(); setTimeout(() => requestAnimationFrame(frame), 250); })();
});
