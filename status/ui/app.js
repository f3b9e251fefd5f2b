// Keeps the status page live: renders each "conns" event of status/events
// (the document of GET /conns) into the table, with the hints of the
// "explain" event before it, and posts kills. Served as a file so that the
// page's Content-Security-Policy allows no inline script.
'use strict';
(function () {
  const body = document.body;
  const tbody = document.getElementById('conns-body');
  const live = document.getElementById('live');
  if (!tbody || !window.EventSource) return;
  document.documentElement.classList.add('js');
  const started = Number(body.dataset.started) || 0;
  let explain = {};

  function bytes(n) {
    if (n < 1024) return n + ' B';
    const units = ['KiB', 'MiB', 'GiB', 'TiB'];
    let v = n / 1024, i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return v.toFixed(1).replace(/\.0$/, '') + ' ' + units[i];
  }
  function secs(s) { return s.toFixed(1) + ' s'; }
  function uptime(ms) {
    const s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24,
      m = Math.floor(s / 60) % 60, r = s % 60;
    if (d > 0) return d + 'd ' + h + 'h ' + m + 'm';
    if (h > 0) return h + 'h ' + m + 'm ' + r + 's';
    return m + 'm ' + r + 's';
  }
  function rule(c) {
    if (c.deadline_in_seconds === undefined) return '\u2014';
    const d = c.deadline_in_seconds;
    return d >= 0 ? c.rule + ' in ' + secs(d) : c.rule + ' ' + secs(-d) + ' ago';
  }
  function kernel(k) {
    if (!k) return '\u2014';
    let s = k.unacked > 0 || k.retransmits > 0
      ? 'unacked ' + k.unacked + ' (' + bytes(k.unacked_bytes) + ') \u00b7 retrans ' + k.retransmits
      : 'rtt ' + k.rtt_ms.toFixed(2) + ' ms';
    if (k.send_window === 0 && k.state === 'ESTABLISHED') s += ' \u00b7 window 0';
    return s;
  }
  function cell(tr, label, text, cls) {
    const td = document.createElement('td');
    if (label) td.dataset.label = label;
    if (cls) td.className = cls;
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }
  // An HTTP/2 connection's streams, each with its own phase and bytes.
  function streams(rows) {
    return rows.map(s => '#' + s.id + ' ' + (s.request || '') + ' ' + s.phase + ' ' +
      bytes(s.bytes_in) + ' / ' + bytes(s.bytes_out)).join('; ');
  }
  function row(c) {
    const ex = explain[String(c.id)] || {};
    const tr = document.createElement('tr');
    tr.dataset.connId = String(c.id);
    tr.dataset.phase = c.phase;
    if (ex.stuck) tr.className = 'stuck';
    cell(tr, 'id', String(c.id), 'id');
    cell(tr, 'remote', c.remote);
    cell(tr, 'phase', c.phase, 'phase');
    cell(tr, 'request', c.stream_rows ? streams(c.stream_rows) : (c.request || ''), 'req');
    cell(tr, 'in / out', bytes(c.bytes_in) + ' / ' + bytes(c.bytes_out), 'num');
    cell(tr, 'age', secs(c.age_seconds), 'num');
    cell(tr, 'since progress', secs(c.since_progress_seconds), 'num');
    cell(tr, 'rule', rule(c), 'num');
    cell(tr, 'kernel', kernel(c.tcp_info), 'num');
    cell(tr, 'hint', ex.hint || '', 'hint');
    const act = cell(tr, '', '', 'act');
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.kill = String(c.id);
    b.textContent = 'kill';
    act.appendChild(b);
    return tr;
  }
  function render(rep) {
    const rows = document.createDocumentFragment();
    for (const c of rep.conns) rows.appendChild(row(c));
    if (!rep.conns.length) {
      const tr = document.createElement('tr');
      tr.className = 'empty';
      const td = cell(tr, '', 'no open connections');
      td.colSpan = 11;
      rows.appendChild(tr);
    }
    tbody.replaceChildren(rows);
    const st = rep.stats;
    document.getElementById('c-open').textContent = st.open;
    document.getElementById('c-accepted').textContent = st.accepted;
    document.getElementById('c-refused').textContent = st.refused;
    const closed = Object.entries(st.closed).map(([k, v]) => k + ' ' + v).join(', ');
    document.getElementById('c-closed').textContent = closed || 'none';
    const now = new Date(rep.now);
    document.getElementById('now').textContent = now.toISOString().replace(/\.\d+Z$/, 'Z');
    if (started) document.getElementById('uptime').textContent = uptime(now.getTime() - started);
  }

  const es = new EventSource(body.dataset.events);
  es.addEventListener('explain', (e) => { explain = JSON.parse(e.data); });
  es.addEventListener('conns', (e) => {
    render(JSON.parse(e.data));
    live.textContent = 'live';
    live.classList.add('on');
  });
  es.addEventListener('error', () => {
    live.textContent = 'reconnecting';
    live.classList.remove('on');
  });

  tbody.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-kill]');
    if (!b) return;
    const id = b.dataset.kill;
    if (!window.confirm('Kill connection ' + id + '?')) return;
    b.disabled = true;
    fetch(body.dataset.conns + encodeURIComponent(id) + '/kill', { method: 'POST' })
      .then((r) => r.json())
      .then((j) => { if (j.error) window.alert(j.error); })
      .catch((err) => window.alert('kill failed: ' + err))
      .finally(() => { b.disabled = false; });
  });
})();
