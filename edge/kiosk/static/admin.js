"use strict";
// Station admin: device status, jobs needing a decision, exceptions and stock.
(() => {
  const L = PS.json("labels");

  function device(name, d) {
    const ok = d.online !== false && d.connected !== false;
    const paper = d.paper ? ` · ${L.paper}: ${d.paper}` : "";
    return PS.el("li", {class: ok ? "ok" : "bad", "data-device": name},
      PS.el("b", {}, name), ` ${d.type || ""} · ${ok ? L.online : L.offline}${paper}`,
      d.last_error ? PS.el("div", {class: "sub"}, d.last_error) : null);
  }

  function button(label, cls, fn) {
    const b = PS.el("button", {class: cls}, label);
    b.addEventListener("click", fn);
    return b;
  }

  async function act(url, body) {
    try { await PS.call("POST", url, body); } catch (err) { alert(err.message); }
    refresh();
  }

  async function refresh() {
    const s = await PS.call("GET", "/admin/state");
    const printers = Object.entries(s.printers.printers || {});
    const scanners = Object.entries(s.scanners.scanners || s.scanners || {}).filter(([, d]) => typeof d === "object");
    document.getElementById("printers").replaceChildren(...(printers.length ? printers.map(([n, d]) => device(n, d)) : [PS.el("li", {}, L.never)]));
    document.getElementById("scanners").replaceChildren(...(scanners.length ? scanners.map(([n, d]) => device(n, d)) : [PS.el("li", {}, L.never)]));
    document.getElementById("attention").replaceChildren(...s.attention.map((j) =>
      PS.el("li", {class: "job-" + j.status, "data-job": j.id},
        PS.el("a", {href: `/api/v1/print-jobs/${j.id}/preview.png`, target: "_blank"}, `#${j.id} ${j.kind} → ${j.printer}`),
        ` ${j.status} `, PS.el("div", {class: "sub"}, j.last_error || ""),
        j.status === "uncertain" ? button(L.printed, "small", () => act(`/admin/jobs/${j.id}/resolve`, {printed: true})) : null,
        j.status === "uncertain" ? button(L.reprint, "small warn", () => act(`/admin/jobs/${j.id}/resolve`, {printed: false})) : null)));
    document.getElementById("exceptions").replaceChildren(...s.exceptions.map((o) =>
      PS.el("li", {}, PS.el("b", {}, o.number), ` ${o.exception_reason || ""} `,
        button(L.release, "small", () => act(`/admin/orders/${o.id}/release`, {})),
        button(L.cancel, "small warn", () => act(`/admin/orders/${o.id}/cancel`, {})))));
    document.getElementById("stock").replaceChildren(...s.stock.map((p) =>
      PS.el("tr", {class: p.sellable <= 0 ? "bad" : ""}, PS.el("td", {}, p.sku), PS.el("td", {}, p.name),
        PS.el("td", {}, p.bin), PS.el("td", {}, String(p.sellable)))));
  }

  PS.live("/pack/events", {print_job: refresh, orders: refresh, devices: refresh, open: refresh});
  refresh();
})();
