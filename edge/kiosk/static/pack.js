"use strict";
// Packing screen: everything changes through scans; the server pushes each change here.
(() => {
  const T = PS.json("i18n");
  const reasons = PS.json("reasons");
  const banner = document.getElementById("banner");
  let state = null;
  const selected = new Set();

  const reasonSelect = document.getElementById("reason");
  for (const [key, label] of Object.entries(reasons)) reasonSelect.append(PS.el("option", {value: key}, label));

  function say(kind, text) {
    banner.className = "banner " + kind;
    banner.textContent = text;
  }

  function onScan(r) {
    const text = (T[r.outcome] || r.outcome).replace("{msg}", r.message);
    say(r.ok ? (r.outcome === "order_packed" ? "done" : "good") : "bad", text);
    banner.dataset.outcome = r.outcome;
    PS.beep(r.ok);
    refreshSoon();
  }

  function lineRow(l, bins) {
    const done = l.packed_qty >= l.qty;
    const bar = PS.el("progress", {max: l.qty, value: l.packed_qty});
    return PS.el("tr", {class: done ? "done" : ""},
      PS.el("td", {}, PS.el("b", {}, l.name), PS.el("div", {class: "sub"}, l.sku + (l.name_en ? " · " + l.name_en : ""))),
      PS.el("td", {}, bins[l.sku] || ""),
      PS.el("td", {class: "count"}, `${l.packed_qty} / ${l.qty} `, bar));
  }

  function render() {
    const o = state.open_order;
    document.getElementById("order").hidden = !o;
    document.getElementById("order-empty").hidden = !!o;
    if (o) {
      document.getElementById("order-number").textContent = o.number;
      document.getElementById("sort-code").textContent = o.sort_code || "";
      document.getElementById("order-meta").textContent =
        [o.customer_name, o.address, o.carrier, o.service_level].filter(Boolean).join(" · ");
      document.getElementById("order-lines").replaceChildren(...o.lines.map((l) => lineRow(l, state.bins || {})));
    }
    document.getElementById("queue").replaceChildren(...state.queue.map((q) => {
      const box = PS.el("input", {type: "checkbox", checked: selected.has(q.id), disabled: q.status !== "open"});
      box.addEventListener("change", () => box.checked ? selected.add(q.id) : selected.delete(q.id));
      const units = q.lines.reduce((a, l) => a + l.qty, 0);
      return PS.el("li", {class: "status-" + q.status, "data-number": q.number},
        PS.el("label", {}, box, PS.el("b", {}, q.number),
          ` ${units} · ${T["st_" + q.status] || q.status}` + (q.priority > 0 ? " ★" : "")));
    }));
    document.getElementById("exceptions").replaceChildren(...state.exceptions.map((q) =>
      PS.el("li", {}, PS.el("b", {}, q.number), " ", q.exception_reason || "")));
    document.getElementById("jobs").replaceChildren(...state.jobs.map((j) => {
      const link = PS.el("a", {href: `/api/v1/print-jobs/${j.id}/preview.png`, target: "_blank"}, `#${j.id} ${j.kind}`);
      return PS.el("li", {class: "job-" + j.status, "data-job": j.id}, link, " ", PS.el("span", {class: "tag"}, T[j.status] || j.status),
        j.last_error ? PS.el("div", {class: "sub"}, j.last_error) : null);
    }));
  }

  let soon = null;
  function refreshSoon() {  // one fetch for a burst of pushed changes
    if (!soon) soon = setTimeout(() => { soon = null; refresh(); }, 30);
  }

  async function refresh() {
    try {
      state = await PS.call("GET", "/pack/state");
      render();
    } catch (err) { say("bad", T.error.replace("{msg}", err.message)); }
  }

  async function act(method, url, body, after) {
    try {
      const out = await PS.call(method, url, body);
      if (after) after(out);
      refresh();
    } catch (err) { say("bad", T.error.replace("{msg}", err.message)); PS.beep(false); }
  }

  document.getElementById("flag").addEventListener("click", () => {
    if (state.open_order && confirm(T.confirm_exception)) {
      act("POST", "/pack/exception", {order_id: state.open_order.id, reason: reasonSelect.value});
    }
  });
  document.getElementById("reprint").addEventListener("click", () =>
    state.open_order && act("POST", "/pack/reprint", {order_id: state.open_order.id}));
  document.getElementById("close").addEventListener("click", () => act("POST", "/pack/close", {}));
  document.getElementById("batch").addEventListener("click", () => {
    if (!selected.size) return;
    const ids = [...selected];
    act("POST", "/pack/batch", {order_ids: ids}, (out) => {
      selected.clear();
      say("good", T.batch_started.replace("{msg}", out.orders));
    });
  });
  document.getElementById("manual").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = document.getElementById("manual-code");
    const code = input.value;
    input.value = "";
    if (code.trim()) act("POST", "/pack/scan", {code});
  });
  document.getElementById("logout").addEventListener("click", () =>
    act("POST", "/pack/logout", {}, (out) => { window.location = out.next; }));

  PS.live("/pack/events", {scan: onScan, print_job: refreshSoon, orders: refreshSoon, open: refresh});
  refresh();
})();
