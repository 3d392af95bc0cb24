/* The ops dashboard's own script: polls the JSON feeds and redraws tables and charts.
   Text from stations is always set with textContent, never parsed as HTML. */
"use strict";
const Dash = (() => {
  const refresh = Number(document.body.dataset.refreshMs || 5000);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k.startsWith("data-")) node.setAttribute(k, v);
      else node[k] = v;
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  async function getJSON(url) {
    const resp = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (resp.status === 401) { window.location = "/login?next=" + encodeURIComponent(location.pathname); return null; }
    if (!resp.ok) throw new Error(url + ": " + resp.status);
    return resp.json();
  }

  function poll(url, render) {
    async function tick() {
      try { const data = await getJSON(url); if (data) render(data); }
      catch (err) { console.warn(err); }
      setTimeout(tick, refresh);
    }
    setTimeout(tick, refresh);
  }

  const show = (v) => (v === null || v === undefined ? "" : v);

  function chip(name, cls, extra) { return el("span", { class: "chip " + cls }, name + (extra || "")); }

  function fleetRow(s) {
    const printers = el("td", { class: "printers" });
    for (const [name, p] of Object.entries(s.printers)) {
      const bad = p.online === false || p.paper === "out";
      const warn = p.paused || p.paper === "low";
      printers.append(chip(name, bad ? "bad" : warn ? "warn" : "ok", (p.online === false ? " offline"
        : p.paper === "out" ? " no paper" : p.paused ? " paused" : "")));
    }
    const scanners = el("td", { class: "scanners" });
    for (const [name, sc] of Object.entries(s.scanners)) scanners.append(chip(name, sc.connected ? "ok" : "bad"));
    const link = el("a", { href: "/stations/" + encodeURIComponent(s.id) }, s.id);
    return el("tr", { "data-station": s.id, class: s.online ? "online" : "offline" },
      el("td", {}, link), el("td", {}, show(s.store)),
      el("td", { class: "state" }, s.online ? "online" : "offline"),
      el("td", { class: "when" }, show(s.last_seen)), el("td", {}, show(s.version)),
      printers, scanners, el("td", { class: "paper" }, s.paper),
      el("td", { class: "num" }, show(s.outbox_depth)), el("td", { class: "num" }, show(s.print_queue)),
      el("td", { class: "num" }, show(s.scans_per_min)), el("td", { class: "num" }, s.open_alerts || ""));
  }

  function pollFleet(url) {
    poll(url, (data) => {
      document.getElementById("n-stations").textContent = data.summary.stations;
      document.getElementById("n-online").textContent = data.summary.online;
      document.getElementById("n-offline").textContent = data.summary.offline;
      document.getElementById("n-alerts").textContent = data.summary.open_alerts;
      document.getElementById("generated").textContent = data.generated_at;
      document.querySelector("#fleet tbody").replaceChildren(...data.stations.map(fleetRow));
      document.getElementById("alerts").replaceChildren(...data.alerts.map((a) =>
        el("li", { "data-kind": a.kind, "data-station": a.station || "" }, a.at + " — " + a.message)));
    });
  }

  const layout = (title) => ({ title: { text: title }, margin: { t: 40, r: 10, b: 60, l: 50 }, height: 320,
    legend: { orientation: "h", y: -0.25 } });

  function stationCharts(view) {
    if (!window.Plotly) return;
    const h = view.history, at = h.map((p) => p.at);
    Plotly.react("chart-queues", [
      { x: at, y: h.map((p) => p.outbox_depth), name: "outbox", type: "scatter", mode: "lines" },
      { x: at, y: h.map((p) => p.print_queue), name: "print queue", type: "scatter", mode: "lines" },
      { x: at, y: h.map((p) => (p.online ? 1 : 0)), name: "online", type: "scatter", mode: "lines",
        line: { shape: "hv" }, yaxis: "y2" },
    ], { ...layout("Queues and presence"), margin: { t: 40, r: 60, b: 60, l: 50 }, yaxis: { rangemode: "tozero", title: { text: "events / jobs" } },
      yaxis2: { overlaying: "y", side: "right", range: [0, 1.1], tickvals: [0, 1], ticktext: ["offline", "online"],
        showgrid: false } },
    { displaylogo: false, responsive: true });
    const scans = [];
    for (let i = 1; i < h.length; i++) {
      const minutes = (Date.parse(h[i].at) - Date.parse(h[i - 1].at)) / 60000;
      scans.push(minutes > 0 ? Math.max(0, (h[i].scans || 0) - (h[i - 1].scans || 0)) / minutes : 0);
    }
    Plotly.react("chart-scans", [{ x: at.slice(1), y: scans, name: "scans/min", type: "bar" }],
      layout("Scans per minute"), { displaylogo: false, responsive: true });
  }

  function station(url) {
    const view = JSON.parse(document.getElementById("station-data").textContent);
    stationCharts(view);
    poll(url, (data) => {
      const s = data.station, badge = document.getElementById("station-state");
      badge.textContent = s.online ? "online" : "offline";
      badge.className = "badge " + (s.online ? "online" : "offline");
      document.getElementById("last-seen").textContent = show(s.last_seen);
      document.getElementById("outbox").textContent = show(s.outbox_depth);
      document.getElementById("queue").textContent = show(s.print_queue);
      for (const c of data.commands) {
        const row = document.querySelector(`#commands tr[data-command="${CSS.escape(c.id)}"]`);
        if (row) {
          row.dataset.status = c.status;
          row.querySelector(".status").textContent = c.status;
          row.querySelector(".result").textContent = c.result === null ? "" : JSON.stringify(c.result);
        }
      }
      const known = new Set([...document.querySelectorAll("#commands tr[data-command]")].map((r) => r.dataset.command));
      const jobs = new Set([...document.querySelectorAll("#jobs tr[data-job]")].map((r) => r.dataset.job));
      const alertsNow = data.alerts.filter((a) => a.cleared_at === null).length;
      const alertsShown = document.querySelectorAll("#station-alerts tr.open").length;
      const fresh = data.commands.some((c) => !known.has(c.id)) ||
        data.print_jobs.some((j) => !jobs.has(String(j.job_id))) || alertsNow !== alertsShown;
      if (fresh && !document.activeElement.matches("input")) window.location.reload();
      else stationCharts(data);
    });
  }

  function orderFlow() {
    if (!window.Plotly) return;
    const view = JSON.parse(document.getElementById("flow-data").textContent);
    const traces = (groups) => Object.entries(groups).map(([name, hours]) =>
      ({ x: Object.keys(hours), y: Object.values(hours), name, type: "bar" }));
    Plotly.newPlot("chart-channel", traces(view.orders_per_hour.by_channel),
      { ...layout("Orders per hour by channel (48 h)"), barmode: "stack" }, { displaylogo: false, responsive: true });
    Plotly.newPlot("chart-station", traces(view.orders_per_hour.by_station),
      { ...layout("Orders per hour by station (48 h)"), barmode: "stack" }, { displaylogo: false, responsive: true });
  }

  function forecast() {
    if (!window.Plotly) return;
    const views = JSON.parse(document.getElementById("forecast-data").textContent);
    for (const v of views) {
      const node = document.querySelector(`.forecast[data-store="${CSS.escape(v.store)}"]`);
      Plotly.newPlot(node, [
        { x: v.actual.map((p) => p.hour), y: v.actual.map((p) => p.orders), name: "actual", type: "bar" },
        { x: v.forecast.map((p) => p.hour), y: v.forecast.map((p) => p.expected), name: "expected",
          type: "scatter", mode: "lines", line: { dash: "dot" } },
      ], layout("Orders per hour"), { displaylogo: false, responsive: true });
    }
  }

  return { pollFleet, station, orderFlow, forecast };
})();
