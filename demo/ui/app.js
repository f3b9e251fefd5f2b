// vigil-demo: fills the pages from status.json, drives the network form and
// shows the end of the system log. No dependencies; the pages work without it.
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

  // The curl lines of the logs page name the host the page came from.
  function origins() {
    for (const el of document.querySelectorAll(".origin")) el.textContent = location.origin;
  }

  loadStatus();
  networkForm();
  logTail();
  origins();
})();
