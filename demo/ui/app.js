// vigil-demo: fills the pages from status.json, drives the network form,
// shows the end of the system log and keeps the dashboard's live panel fed
// over WebSocket or server-sent events. No dependencies; the pages work
// without it.
"use strict";

(() => {
  const $ = (sel) => document.querySelector(sel);
  const $$ = (sel) => Array.from(document.querySelectorAll(sel));

  function formatUptime(seconds) {
    const d = Math.floor(seconds / 86400);
    const h = Math.floor((seconds % 86400) / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    return (d ? d + "d " : "") + h + "h " + m + "m";
  }

  function formatBytes(n) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return (i ? n.toFixed(1) : String(n)) + " " + units[i];
  }

  function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function interfaceRow(ifc) {
    const tr = document.createElement("tr");
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = ifc.name;
    const state = cell("");
    const pill = document.createElement("span");
    pill.className = "pill " + (ifc.state === "up" ? "up" : "down");
    pill.textContent = ifc.state === "up" ? "Up" : "Down";
    state.append(pill);
    tr.append(name, cell(ifc.role), state, cell(ifc.mac), cell(ifc.ipv4 || "—"),
      cell(formatBytes(ifc.rx_bytes), "num"), cell(formatBytes(ifc.tx_bytes), "num"));
    return tr;
  }

  async function loadStatus() {
    const targets = $$("[data-field]");
    const tbody = $("#interfaces tbody");
    if (!targets.length && !tbody) return;
    let st;
    try {
      const res = await fetch("status.json", { cache: "no-store" });
      if (!res.ok) throw new Error("HTTP " + res.status);
      st = await res.json();
    } catch (err) {
      const msg = $("#status-error");
      if (msg) {
        msg.textContent = "Could not load the device status (" + err.message + ").";
        msg.hidden = false;
      }
      return;
    }
    const usedKiB = st.memory.total_kib - st.memory.free_kib;
    const fields = {
      hostname: st.hostname,
      model: st.model,
      serial: st.serial,
      firmware: st.firmware,
      firmware_short: st.firmware.split(" ")[0],
      uptime: formatUptime(st.uptime_seconds),
      load: st.load.map((x) => x.toFixed(2)).join(" · "),
      memory: formatBytes(usedKiB * 1024) + " used of " + formatBytes(st.memory.total_kib * 1024),
      clients: String(st.clients),
      wan_mode: st.wan.mode === "dhcp" ? "Automatic (DHCP)" : "Static",
      wan_ipv4: st.wan.ipv4,
      wan_gateway: st.wan.gateway,
      dns: st.wan.dns.join(", "),
    };
    for (const el of targets) {
      const v = fields[el.dataset.field];
      if (v !== undefined) el.textContent = v;
    }
    if (tbody) tbody.replaceChildren(...st.interfaces.map(interfaceRow));
  }

  function networkForm() {
    const form = $("#network-form");
    const fields = $("#static-fields");
    if (!form || !fields) return;
    const sync = () => {
      fields.disabled = form.elements.mode.value !== "static";
    };
    form.addEventListener("change", sync);
    form.addEventListener("reset", () => setTimeout(sync));
    sync();
  }

  function logTail() {
    const button = $("#tail-button");
    const out = $("#tail");
    if (!button || !out) return;
    button.addEventListener("click", async () => {
      const lines = Number(button.dataset.lines) || 20;
      const abort = new AbortController();
      button.disabled = true;
      try {
        // Lines are 128 bytes: ask for exactly the last ones.
        const res = await fetch(button.dataset.src, {
          headers: { Range: "bytes=-" + lines * 128 },
          cache: "no-store",
          signal: abort.signal,
        });
        if (res.status !== 206) {
          abort.abort(); // never pull the whole file by accident
          throw new Error("HTTP " + res.status);
        }
        const text = await res.text();
        out.textContent = text.split("\n").map((l) => l.trimEnd()).filter(Boolean).join("\n");
      } catch (err) {
        out.textContent = "Could not read the log (" + err.message + ").";
      } finally {
        out.hidden = false;
        button.disabled = false;
      }
    });
  }

  // The dashboard's live panel: samples ({link, rx_bytes, tx_bytes,
  // uptime_s, log}) pushed every second over the WebSocket /ws/live, or the
  // event stream /events/live when the WebSocket fails. Every attempt tries
  // the WebSocket first; a feed that ends, or stays silent for liveTimeout
  // (the server sends at least every 2 s), is dropped and tried again after
  // a backoff that doubles from 1 s to 8 s and starts over once a sample
  // arrives, so a restarted router is found again within seconds.
  function livePanel() {
    const panel = $("#live");
    if (!panel) return;
    const state = $("#live-state");
    const link = $("#live-link");
    const rx = $("#live-rx");
    const tx = $("#live-tx");
    const rxRate = $("#live-rx-rate");
    const txRate = $("#live-tx-rate");
    const uptime = $("#live-uptime");
    const log = $("#live-log");
    const liveTimeout = 5000; // ms without a sample: the feed is dead
    const openTimeout = 3000; // ms for a WebSocket to open, before liveTimeout ends the attempt
    const maxLogLines = 12;
    let backoff = 1000;
    let feed = null; // {close()} of the feed being tried or used
    let silence = 0; // timer: the feed said nothing for liveTimeout
    let retry = 0; // timer: the next attempt
    let last = null; // the previous sample and when it came
    let lastLogSecond = -1;

    function show(transport, text) {
      panel.dataset.transport = transport;
      state.textContent = text;
    }

    function formatClock(seconds) {
      const s = seconds % 60;
      return formatUptime(seconds) + " " + s + "s";
    }

    function formatRate(bytes, ms) {
      return ms > 0 ? formatBytes(Math.max(0, Math.round((bytes * 1000) / ms))) + "/s" : "\u00a0";
    }

    function render(sample, transport) {
      const now = performance.now();
      const up = sample.link === "up";
      link.className = "pill " + (up ? "up" : "down");
      link.textContent = up ? "Up" : "Down";
      rx.textContent = formatBytes(sample.rx_bytes);
      rx.dataset.bytes = sample.rx_bytes;
      tx.textContent = formatBytes(sample.tx_bytes);
      tx.dataset.bytes = sample.tx_bytes;
      uptime.textContent = formatClock(sample.uptime_s);
      uptime.dataset.seconds = sample.uptime_s;
      if (last && sample.rx_bytes >= last.rx_bytes) {
        rxRate.textContent = formatRate(sample.rx_bytes - last.rx_bytes, now - last.at);
        txRate.textContent = formatRate(sample.tx_bytes - last.tx_bytes, now - last.at);
      }
      last = { rx_bytes: sample.rx_bytes, tx_bytes: sample.tx_bytes, at: now };
      if (sample.log && sample.uptime_s !== lastLogSecond) {
        lastLogSecond = sample.uptime_s;
        const lines = log.textContent ? log.textContent.split("\n") : [];
        lines.push(sample.log);
        log.textContent = lines.slice(-maxLogLines).join("\n");
        log.scrollTop = log.scrollHeight;
      }
      show(transport, "Live · " + (transport === "websocket" ? "WebSocket" : "server-sent events"));
    }

    // heard handles one message of the feed f, if f is still the one in
    // use; a message that is no sample is ignored.
    function heard(f, data, transport) {
      if (feed !== f) return;
      let sample;
      try {
        sample = JSON.parse(data);
      } catch (err) {
        return;
      }
      if (typeof sample.rx_bytes !== "number") return;
      f.live = true;
      backoff = 1000;
      clearTimeout(silence);
      silence = setTimeout(() => lost(f), liveTimeout);
      render(sample, transport);
    }

    // lost drops the feed f, if it is still the one in use, and plans the
    // next attempt.
    function lost(f) {
      if (feed !== f) return;
      feed = null;
      f.close();
      clearTimeout(silence);
      last = null;
      const wait = f.live ? 500 : backoff;
      if (!f.live) backoff = Math.min(backoff * 2, 8000);
      show("none", "Reconnecting in " + Math.round(wait / 1000) + " s…");
      clearTimeout(retry);
      retry = setTimeout(connect, wait + Math.random() * 250);
    }

    function trySSE() {
      if (typeof EventSource === "undefined") return null;
      const es = new EventSource("/events/live");
      const f = { live: false, close: () => es.close() };
      const onSample = (ev) => heard(f, ev.data, "sse");
      es.addEventListener("sample", onSample);
      es.onmessage = onSample;
      // EventSource retries by itself, but not after every kind of
      // failure: the page owns the retries and their backoff.
      es.onerror = () => lost(f);
      return f;
    }

    function tryWebSocket() {
      if (typeof WebSocket === "undefined") return null;
      let ws;
      try {
        ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/live");
      } catch (err) {
        return null;
      }
      const f = { live: false, opened: false, close: () => ws.close() };
      const opening = setTimeout(() => ws.close(), openTimeout);
      ws.onopen = () => {
        f.opened = true;
        clearTimeout(opening);
      };
      ws.onmessage = (ev) => heard(f, ev.data, "websocket");
      ws.onclose = () => {
        clearTimeout(opening);
        if (feed !== f) return;
        if (!f.opened) {
          // The WebSocket failed: fall back to the event stream now.
          const g = trySSE();
          if (g) {
            feed = g;
            clearTimeout(silence);
            silence = setTimeout(() => lost(g), liveTimeout);
            return;
          }
        }
        lost(f);
      };
      return f;
    }

    function connect() {
      clearTimeout(silence);
      show("none", "Connecting…");
      const f = tryWebSocket() || trySSE();
      if (!f) {
        show("none", "This browser cannot show live data.");
        return;
      }
      feed = f;
      silence = setTimeout(() => lost(f), liveTimeout);
    }

    connect();
  }

  // The curl lines of the logs page name the host the page came from.
  function origins() {
    for (const el of document.querySelectorAll(".origin")) el.textContent = location.origin;
  }

  loadStatus();
  networkForm();
  logTail();
  livePanel();
  origins();
})();
