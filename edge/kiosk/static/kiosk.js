"use strict";
// Customer self-ordering: browse → cart → pay → ticket, one screen at a time.
// The cart lives in sessionStorage (a language switch or reload keeps it; the idle timer
// clears it). Every text from the server goes in with textContent, never as HTML.
(() => {
  const $ = (id) => document.getElementById(id);
  const T = JSON.parse($("i18n").textContent);
  const CFG = JSON.parse($("kiosk-config").textContent);
  const CSRF = document.querySelector('meta[name="csrf-token"]').content;
  const ZH = CFG.lang === "zh-CN";
  const STORE_KEY = "printstation.kiosk";
  const STATUS_KEY = "printstation.kiosk.status";  // read by status.js on /o/<number>
  const PENDING_KEY = "printstation.kiosk.pending";  // a scan seen on the status page
  const SCREENS = ["browse", "cart", "paying", "failed", "ticket", "status"];

  // -- state -------------------------------------------------------------------------
  let cart = [];              // [{sku, qty, product: {sku, name, name_en, price, image, sellable}}]
  let coupon = "";            // applied coupon code
  let member = "";            // member phone
  let points = 0;             // points to redeem
  let quote = null;           // the last answer of /api/v1/cart/quote for the current cart
  let quoting = false;        // a quote is scheduled or in flight
  let attempt = null;         // {key, uncertain}: the Idempotency-Key of the checkout attempt
                              // and whether its outcome is still unknown
  let order = null;           // the order on the ticket screen
  let screen = "browse";
  let busy = false;           // an order is being placed
  let lastPayment = "counter";
  let rating = 0;
  const notes = {};           // sku → "only N left" shown on that cart line
  const known = {};           // sku → last product seen (for its sellable count)

  // -- small helpers -----------------------------------------------------------------
  const fmt = (s, vars) => s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  const money = (v) => "¥" + (v === undefined || v === null || v === "" ? "0.00" : v);
  const cents = (v) => Math.round(parseFloat(v || "0") * 100);
  const yuan = (c) => (c / 100).toFixed(2);
  const nameOf = (p) => (ZH ? p.name : (p.name_en || p.name)) || p.sku;
  const otherName = (p) => (ZH ? p.name_en : (p.name_en ? p.name : "")) || "";

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k === "hidden" || k === "disabled") node[k] = true;
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
    return node;
  }

  function uuid() {  // crypto.randomUUID needs a secure context; phones on the LAN have none
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const x = [...b].map((n) => n.toString(16).padStart(2, "0")).join("");
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
  }

  let audio = null;
  function beep(ok) {
    try {
      audio = audio || new AudioContext();
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = ok ? 1200 : 260;
      gain.gain.value = 0.12;
      osc.connect(gain).connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + (ok ? 0.08 : 0.35));
    } catch (err) { /* no audio: the toast still shows */ }
  }

  let toastTimer = null;
  function toast(text, kind) {
    const box = $("toast");
    box.textContent = text;
    box.className = "toast " + (kind || "good");
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, 3500);
  }

  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }

  async function api(method, url, body, headers, timeoutMs) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs || 20000);
    let res;
    try {
      res = await fetch(url, {
        method,
        credentials: "same-origin",
        signal: abort.signal,
        headers: {
          Accept: "application/json",
          ...(body === undefined ? {} : {"Content-Type": "application/json", "X-CSRF-Token": CSRF}),
          ...(headers || {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, "network", T.offline);
    } finally {
      clearTimeout(timer);
    }
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      const e = data.error || {};
      if (res.status === 401 || res.status === 403) reloadOnce();  // the page's session expired
      throw new ApiError(res.status, e.code || "http_" + res.status, e.message || res.statusText);
    }
    return {status: res.status, data};
  }

  function reloadOnce() {
    const at = Number(sessionStorage.getItem(STORE_KEY + ".reloaded") || 0);
    if (Date.now() - at > 10000) {
      sessionStorage.setItem(STORE_KEY + ".reloaded", String(Date.now()));
      save();
      location.reload();
    }
  }

  // -- persistence -------------------------------------------------------------------
  function save() {
    const keep = ["browse", "cart", "ticket", "status"].includes(screen) ? screen : "cart";
    sessionStorage.setItem(STORE_KEY, JSON.stringify({cart, coupon, member, points, attempt, order, screen: keep}));
  }

  function load() {
    try {
      const s = JSON.parse(sessionStorage.getItem(STORE_KEY) || "{}");
      cart = Array.isArray(s.cart) ? s.cart.filter((l) => l && l.sku && l.qty > 0 && l.product) : [];
      coupon = s.coupon || "";
      member = s.member || "";
      points = Number(s.points) || 0;
      attempt = s.attempt || null;
      order = s.order || null;
      return s.screen || "browse";
    } catch (err) {
      return "browse";
    }
  }

  // -- screens -----------------------------------------------------------------------
  function show(name) {
    screen = name;
    for (const s of SCREENS) $("screen-" + s).hidden = s !== name;
    document.body.dataset.screen = name;
    if (name !== "browse" && name !== "cart") $("toast").hidden = true;
    window.scrollTo(0, 0);
    if (name === "cart") renderCart();
    if (name === "status") $("status-number").focus();
    save();
  }

  document.addEventListener("click", (e) => {
    const go = e.target.closest("[data-go]");
    if (go) show(go.dataset.go);
  });
  $("cart-button").addEventListener("click", () => { if (!busy) show("cart"); });
  $("cartbar-open").addEventListener("click", () => show("cart"));
  $("open-status").addEventListener("click", () => { if (!busy) show("status"); });

  // -- browse ------------------------------------------------------------------------
  let category = "";
  let searchSeq = 0;
  let searchTimer = null;
  let listed = [];

  function hue(text) {
    let n = 0;
    for (const c of text) n = (n * 31 + c.codePointAt(0)) % 9973;
    return n % 8;
  }

  function picture(p, cls) {
    const name = nameOf(p);
    const tile = h("div", {class: `${cls} tile tile-${hue(p.sku || name)}`, "aria-hidden": "true"},
      Array.from(name.trim())[0] || "?");
    if (!p.image) return tile;
    const img = h("img", {class: cls, src: p.image, alt: "", loading: "lazy"});
    img.addEventListener("error", () => img.replaceWith(tile), {once: true});
    return img;
  }

  function qtyInCart(sku) {
    const line = cart.find((l) => l.sku === sku);
    return line ? line.qty : 0;
  }

  function productCard(p) {
    known[p.sku] = p;
    const out = !(p.sellable > 0);
    const name = nameOf(p);
    const action = out
      ? h("span", {class: "soldout"}, T.sold_out)
      : h("button", {type: "button", class: "add", "aria-label": fmt(T.add_named, {name}), onclick: () => addToCart(p)},
          "+ " + T.add);
    const inCart = qtyInCart(p.sku);
    return h("article", {class: "product" + (out ? " out" : ""), "data-sku": p.sku},
      picture(p, "pic"),
      h("span", {class: "incart", hidden: !inCart}, fmt(T.in_cart, {n: inCart})),
      h("h3", {class: "name"}, name),
      h("p", {class: "sub"}, otherName(p)),
      !out && p.sellable <= 5 ? h("p", {class: "few"}, fmt(T.few_left, {n: p.sellable})) : null,
      h("div", {class: "buy"}, h("span", {class: "price"}, money(p.price)), action));
  }

  function renderProducts(list) {
    listed = list;
    $("products").replaceChildren(...list.map(productCard));
    $("no-results").hidden = list.length > 0;
  }

  function refreshBadges() {
    for (const card of document.querySelectorAll("#products .product")) {
      const n = qtyInCart(card.dataset.sku);
      const badge = card.querySelector(".incart");
      badge.hidden = !n;
      badge.textContent = fmt(T.in_cart, {n});
    }
  }

  async function search() {
    const seq = ++searchSeq;
    const params = new URLSearchParams({q: $("q").value.trim(), category, limit: "60"});
    try {
      const {data} = await api("GET", "/api/v1/products?" + params);
      const found = (data.products || []).filter((p) => !category || p.category === category);
      if (seq === searchSeq) renderProducts(found);
    } catch (err) {
      if (seq === searchSeq) toast(err.message, "bad");
    }
  }

  $("q").addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(search, 200); });
  $("q").addEventListener("keydown", (e) => { if (e.key === "Enter") { clearTimeout(searchTimer); search(); e.target.blur(); } });
  $("chips").addEventListener("click", (e) => {
    const chip = e.target.closest(".chip");
    if (!chip) return;
    category = chip.dataset.category;
    for (const c of document.querySelectorAll("#chips .chip")) c.setAttribute("aria-pressed", String(c === chip));
    search();
  });

  // -- cart --------------------------------------------------------------------------
  function sellableOf(sku) {
    const q = quote && (quote.lines || []).find((l) => l.sku === sku);
    if (q && typeof q.sellable === "number") return q.sellable;
    const p = known[sku];
    return p && typeof p.sellable === "number" ? p.sellable : Infinity;
  }

  function slim(p) {
    return {sku: p.sku, name: p.name, name_en: p.name_en, price: p.price, image: p.image || null, sellable: p.sellable};
  }

  function addToCart(p, n = 1) {
    known[p.sku] = p;
    const line = cart.find((l) => l.sku === p.sku);
    const have = line ? line.qty : 0;
    const limit = sellableOf(p.sku);
    const name = nameOf(p);
    if (limit <= 0) { toast(fmt(T.sold_out_named, {name}), "bad"); beep(false); return false; }
    if (have + n > limit) {
      notes[p.sku] = fmt(T.only_left, {n: limit});
      toast(fmt(T.only_left_named, {n: limit, name}), "bad");
      beep(false);
      renderCart();
      return false;
    }
    if (line) { line.qty += n; line.product = {...line.product, ...slim(p)}; } else cart.push({sku: p.sku, qty: n, product: slim(p)});
    toast(fmt(T.added, {name}));
    changed();
    return true;
  }

  function setQty(sku, qty) {
    const line = cart.find((l) => l.sku === sku);
    if (!line) return;
    const limit = sellableOf(sku);
    if (qty > limit) {
      notes[sku] = fmt(T.only_left, {n: limit});
      beep(false);
      renderCart();
      return;
    }
    delete notes[sku];
    if (qty <= 0) cart = cart.filter((l) => l.sku !== sku); else line.qty = qty;
    changed();
  }

  function swap(sku, alt) {
    const line = cart.find((l) => l.sku === sku);
    const qty = Math.max(1, Math.min(line ? line.qty : 1, alt.sellable > 0 ? alt.sellable : 1));
    cart = cart.filter((l) => l.sku !== sku);
    delete notes[sku];
    known[alt.sku] = alt;
    const existing = cart.find((l) => l.sku === alt.sku);
    if (existing) existing.qty = Math.min(existing.qty + qty, alt.sellable); else cart.push({sku: alt.sku, qty, product: slim(alt)});
    changed();
  }

  function changed() {
    if (attempt && !attempt.uncertain) attempt = null;
    $("cart-msg").hidden = true;
    save();
    renderCount();
    refreshBadges();
    renderCart();
    scheduleQuote();
  }

  function renderCount() {
    const n = cart.reduce((a, l) => a + l.qty, 0);
    $("cart-count").textContent = String(n);
    $("cart-button").classList.toggle("has-items", n > 0);
    $("cartbar").hidden = n === 0;
    $("cartbar-count").textContent = fmt(T.items, {n});
    const estimate = cart.reduce((a, l) => a + cents(l.product.price) * l.qty, 0);
    $("cartbar-total").textContent = money(quote && !quoting ? quote.total : yuan(estimate));
  }

  function quoteLine(sku) {
    return quote && !quoting ? (quote.lines || []).find((l) => l.sku === sku) : null;
  }

  function cartLine(l) {
    const q = quoteLine(l.sku);
    const p = {...l.product, ...(q ? {name: q.name, name_en: q.name_en} : {})};
    const name = nameOf(p);
    const limit = sellableOf(l.sku);
    const bad = q && q.ok === false;
    const total = q ? q.total : yuan(cents(l.product.price) * l.qty);
    return h("li", {class: "cart-line" + (bad ? " bad" : ""), "data-sku": l.sku},
      picture(p, "thumb"),
      h("div", {class: "what"},
        h("b", {class: "name"}, name),
        h("span", {class: "sub"}, fmt(T.each, {price: money(q ? q.unit_price : l.product.price)})),
        notes[l.sku] ? h("span", {class: "note"}, notes[l.sku]) : null),
      h("div", {class: "qty"},
        h("button", {type: "button", class: "minus", "aria-label": T.decrease, disabled: l.qty <= 1, onclick: () => setQty(l.sku, l.qty - 1)}, "−"),
        h("output", {class: "n", "aria-live": "polite"}, String(l.qty)),
        h("button", {type: "button", class: "plus" + (l.qty >= limit ? " at-limit" : ""), "aria-label": T.increase, onclick: () => setQty(l.sku, l.qty + 1)}, "+")),
      h("span", {class: "line-total"}, money(total)),
      h("button", {type: "button", class: "remove", "aria-label": fmt(T.remove_named, {name}), onclick: () => setQty(l.sku, 0)}, "✕"));
  }

  function problemBox(pr) {
    const line = cart.find((l) => l.sku === pr.sku);
    const name = line ? nameOf(line.product) : pr.sku;
    const text = pr.code === "insufficient_stock"
      ? (pr.sellable > 0 ? fmt(T.only_left_named, {n: pr.sellable, name}) : fmt(T.sold_out_named, {name}))
      : pr.code === "unknown_sku" ? fmt(T.unknown_item, {name}) : (pr.message || pr.code);
    const fix = [];
    if (pr.code === "insufficient_stock" && pr.sellable > 0) {
      fix.push(h("button", {type: "button", class: "fix", onclick: () => setQty(pr.sku, pr.sellable)}, fmt(T.set_qty, {n: pr.sellable})));
    } else {
      fix.push(h("button", {type: "button", class: "fix", onclick: () => setQty(pr.sku, 0)}, T.remove));
    }
    for (const alt of pr.alternatives || []) {
      fix.push(h("button", {type: "button", class: "alt", "data-sku": alt.sku, onclick: () => swap(pr.sku, alt)},
        picture(alt, "mini"), h("span", {}, fmt(T.swap, {name: nameOf(alt)})), h("span", {class: "price"}, money(alt.price))));
    }
    return h("div", {class: "problem", "data-sku": pr.sku, "data-code": pr.code}, h("p", {}, text), h("div", {class: "fixes"}, ...fix));
  }

  function recCard(p) {
    known[p.sku] = p;
    return h("article", {class: "rec", "data-sku": p.sku},
      picture(p, "mini"),
      h("span", {class: "name"}, nameOf(p)),
      h("span", {class: "price"}, money(p.price)),
      h("button", {type: "button", class: "add", "aria-label": fmt(T.add_named, {name: nameOf(p)}), onclick: () => addToCart(p)}, "+"));
  }

  function setMsg(id, text, kind) {
    const node = $(id);
    node.textContent = text || "";
    node.className = "msg" + (kind ? " " + kind : "");
  }

  function renderCart() {
    $("cart-empty").hidden = cart.length > 0;
    $("cart-lines").replaceChildren(...cart.map(cartLine));
    const current = quote && !quoting ? quote : null;
    const problems = current ? (current.problems || []).filter((p) => cart.some((l) => l.sku === p.sku)) : [];
    $("problems").hidden = problems.length === 0;
    $("problems").replaceChildren(...problems.map(problemBox));
    const recs = current ? (current.recommendations || []).filter((p) => p.sellable > 0 && !cart.some((l) => l.sku === p.sku)).slice(0, 4) : [];
    $("recs-box").hidden = recs.length === 0;
    $("recs").replaceChildren(...recs.map(recCard));

    if ($("coupon") !== document.activeElement) $("coupon").value = coupon;
    const c = current && current.coupon;
    setMsg("coupon-msg", c ? c.message : "", c ? (c.ok ? "good" : "bad") : "");
    const m = current && current.member;
    if (member && m) {
      setMsg("member-msg", fmt(T.member_info, {balance: m.balance, redeem: m.redeem, earn: m.earn}), "good");
      $("points-field").hidden = !(m.balance > 0);
      $("points-label").textContent = fmt(T.points_note, {balance: m.balance});
      $("points").max = String(m.balance);
      if ($("points") !== document.activeElement) $("points").value = points ? String(points) : "";
    } else {
      setMsg("member-msg", member && current ? T.member_unknown : "", member && current ? "bad" : "");
      $("points-field").hidden = true;
    }
    renderTotals(current);
    const blocked = !cart.length || quoting || !current || problems.length > 0 || busy;
    $("pay-counter").disabled = blocked;
    if ($("pay-card")) $("pay-card").disabled = blocked;
    if (current && problems.length) showCartMsg(T.fix_cart);
    renderCount();
  }

  function renderTotals(q) {
    $("t-subtotal").textContent = q ? money(q.subtotal) : "—";
    $("t-discount-row").hidden = !q || cents(q.discount) === 0;
    $("t-discount").textContent = q ? "−" + money(q.discount) : "";
    $("t-points-row").hidden = !q || cents(q.points_discount) === 0;
    $("t-points").textContent = q ? "−" + money(q.points_discount) : "";
    $("t-total").textContent = q ? money(q.total) : "—";
    $("t-tax").textContent = q ? money(q.tax) : "—";
  }

  function showCartMsg(text) {
    $("cart-msg").textContent = text;
    $("cart-msg").hidden = !text;
  }

  let quoteSeq = 0;
  let quoteTimer = null;
  function scheduleQuote() {
    quoting = cart.length > 0;
    clearTimeout(quoteTimer);
    quoteTimer = setTimeout(requote, 150);
  }

  async function requote() {
    clearTimeout(quoteTimer);
    const seq = ++quoteSeq;
    if (!cart.length) { quote = null; quoting = false; renderCart(); return; }
    quoting = true;
    const body = {lines: cart.map(({sku, qty}) => ({sku, qty}))};
    if (coupon) body.coupon = coupon;
    if (member) body.member = member;
    if (member && points > 0) body.points = points;
    try {
      const {data} = await api("POST", "/api/v1/cart/quote", body);
      if (seq !== quoteSeq) return;
      quote = data;
      for (const q of data.lines || []) {
        const line = cart.find((l) => l.sku === q.sku);
        if (line) line.product = {...line.product, name: q.name, name_en: q.name_en, price: q.unit_price, sellable: q.sellable};
        if (notes[q.sku] && line && line.qty < q.sellable) delete notes[q.sku];
        else if (notes[q.sku]) notes[q.sku] = fmt(T.only_left, {n: Math.max(0, q.sellable)});
      }
      save();
    } catch (err) {
      if (seq !== quoteSeq) return;
      quote = null;
      showCartMsg(fmt(T.error, {msg: err.message}));
    }
    quoting = false;
    renderCart();
  }

  $("coupon-form").addEventListener("submit", (e) => {
    e.preventDefault();
    coupon = $("coupon").value.trim().toUpperCase();
    $("coupon").value = coupon;
    $("coupon").blur();
    changed();
  });
  $("member-form").addEventListener("submit", (e) => {
    e.preventDefault();
    member = $("member").value.replace(/\D/g, "");
    $("member").value = member;
    $("member").blur();
    if (!member) points = 0;
    changed();
  });
  $("points-apply").addEventListener("click", () => {
    points = Math.max(0, Math.floor(Number($("points").value) || 0));
    $("points").blur();
    changed();
  });
  $("points").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); $("points-apply").click(); } });

  // -- checkout ----------------------------------------------------------------------
  function paying(payment) {
    const total = quote ? money(quote.total) : "";
    $("paying-title").textContent = payment === "card" ? T.card_title : T.placing;
    $("paying-total").textContent = total;
    $("paying-text").textContent = payment === "card" ? fmt(T.card_text, {total}) : T.wait_text;
    $("screen-paying").classList.toggle("card-wait", payment === "card");
    show("paying");
  }

  function failed(title, text, payment) {
    $("failed-title").textContent = title;
    $("failed-text").textContent = text;
    $("retry").textContent = payment === "card" ? T.retry_card : T.retry;
    $("retry").dataset.payment = payment;
    $("fallback-counter").hidden = payment !== "card";
    show("failed");
  }

  async function checkout(payment) {
    if (busy || !cart.length) return;
    if (quoting) await requote();
    if (!quote || (quote.problems || []).length) { show("cart"); return; }
    busy = true;
    lastPayment = payment;
    // Until the station answers, the attempt's outcome is unknown: a reload or a network
    // failure retries with the same key, so the station never makes the order twice.
    if (!attempt || !attempt.uncertain) attempt = {key: uuid(), uncertain: true};
    save();
    paying(payment);
    const body = {lines: cart.map(({sku, qty}) => ({sku, qty})), payment};
    if (coupon && quote.coupon && quote.coupon.ok) body.coupon = coupon;
    if (member && quote.member) body.member = member;
    if (member && quote.member && points > 0) body.points = points;
    try {
      const {data} = await api("POST", "/api/v1/orders", body, {"Idempotency-Key": attempt.key}, 120000);
      busy = false;
      attempt = null;
      showTicket(data);
    } catch (err) {
      busy = false;
      if (err.status === 0 || err.status === 502 || err.status === 503) {
        failed(T.uncertain_title, T.uncertain_text, payment);
      } else {
        attempt = null;
        if (err.code === "payment_declined") failed(T.declined_title, T.declined_text, payment);
        else if (err.code === "payment_timeout") failed(T.timeout_title, T.timeout_text, payment);
        else if (err.code === "insufficient_stock" || err.code === "unknown_sku") {
          show("cart");
          showCartMsg(T.stock_changed);
          requote();
        } else if (err.code === "coupon_invalid") {
          show("cart");
          coupon = "";
          changed();
          showCartMsg(fmt(T.coupon_invalid, {msg: err.message}));
        } else failed(T.failed_title, err.message, payment);
      }
      save();
    }
  }

  $("pay-counter").addEventListener("click", () => checkout("counter"));
  if ($("pay-card")) $("pay-card").addEventListener("click", () => checkout("card"));
  $("retry").addEventListener("click", (e) => checkout(e.currentTarget.dataset.payment || lastPayment));
  $("fallback-counter").addEventListener("click", () => checkout("counter"));

  // -- ticket ------------------------------------------------------------------------
  function showTicket(o) {
    order = o;
    cart = [];
    coupon = "";
    member = "";
    points = 0;
    quote = null;
    rating = 0;
    for (const k of Object.keys(notes)) delete notes[k];
    renderCount();
    refreshBadges();
    renderTicket();
    show("ticket");
  }

  function renderTicket() {
    const o = order;
    $("ticket-number").textContent = o.number;
    $("ticket-paid").textContent = o.paid ? T.paid : T.unpaid;
    $("ticket-paid").className = "paid-state " + (o.paid ? "good" : "todo");
    const lines = Array.isArray(o.instructions) ? o.instructions : String(o.instructions || "").split("\n");
    $("ticket-instructions").replaceChildren(...lines.filter(Boolean).map((t) => h("p", {}, t)));
    $("ticket-qr").src = o.qr_url || `/o/${encodeURIComponent(o.number)}/qr.png`;
    $("ticket-lines").replaceChildren(...(o.lines || []).map((l) =>
      h("li", {}, h("span", {class: "name"}, nameOf(l)), h("span", {class: "n"}, "× " + l.qty),
        h("span", {class: "price"}, money(l.total || yuan(cents(l.unit_price) * l.qty))))));
    const rows = [[T.subtotal, money(o.subtotal)]];
    if (cents(o.discount)) rows.push([T.discount, "−" + money(o.discount)]);
    if (cents(o.points_discount)) rows.push([T.points, "−" + money(o.points_discount)]);
    rows.push([T.total, money(o.total)], [T.tax, money(o.tax)]);
    $("ticket-totals").replaceChildren(...rows.map(([k, v]) =>
      h("div", {class: k === T.total ? "grand" : (k === T.tax ? "tax" : "")}, h("dt", {}, k), h("dd", {}, v))));
    $("feedback").hidden = false;
    $("comment").value = "";
    setRating(0);
    setMsg("feedback-msg", "");
  }

  function setRating(n) {
    rating = n;
    for (const star of document.querySelectorAll("#feedback .star")) {
      const v = Number(star.dataset.rating);
      star.classList.toggle("on", v <= n);
      star.setAttribute("aria-checked", String(v === n));
      star.setAttribute("aria-label", fmt(T.stars, {n: v}));
    }
    $("feedback-send").disabled = n === 0;
  }

  document.querySelector("#feedback .stars").addEventListener("click", (e) => {
    const star = e.target.closest(".star");
    if (star) setRating(Number(star.dataset.rating));
  });
  $("feedback").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!rating || !order) return;
    $("feedback-send").disabled = true;
    const body = {rating};
    const comment = $("comment").value.trim();
    if (comment) body.comment = comment.slice(0, 500);
    try {
      await api("POST", `/api/v1/orders/${encodeURIComponent(order.id)}/feedback`, body);
      thanked();
    } catch (err) {
      if (err.code === "conflict" || err.status === 409) thanked();
      else { setMsg("feedback-msg", fmt(T.error, {msg: err.message}), "bad"); $("feedback-send").disabled = false; }
    }
  });

  function thanked() {
    $("feedback").hidden = true;
    toast(T.thanks);
  }

  $("done").addEventListener("click", () => startOver());
  $("ticket-qr").addEventListener("click", () => order && openStatus(order.number));

  // -- order status ------------------------------------------------------------------
  function normalNumber(raw) {
    const text = raw.trim().toUpperCase().replace(/\s+/g, "");
    const m = text.match(/\/O\/([^/?#]+)/);  // a scanned ticket QR holds the status URL
    if (m) return decodeURIComponent(m[1]);
    return /^\d{1,6}$/.test(text) ? `${CFG.station}-${text.padStart(6, "0")}` : text;
  }

  async function openStatus(number) {
    setMsg("status-msg", "", "bad");
    if (!number) return;
    const url = "/o/" + encodeURIComponent(number);
    try {
      const res = await fetch(url, {method: "HEAD", credentials: "same-origin"});
      if (res.status === 404) {
        show("status");
        $("status-number").value = number;
        setMsg("status-msg", fmt(T.no_order, {number}), "bad");
        return;
      }
    } catch (err) {
      setMsg("status-msg", T.offline, "bad");
      return;
    }
    sessionStorage.setItem(STATUS_KEY, JSON.stringify({idle_timeout_s: CFG.idle_timeout_s, scanner: scannerScreen()}));
    save();
    location.assign(url);
  }

  $("status-form").addEventListener("submit", (e) => {
    e.preventDefault();
    openStatus(normalNumber($("status-number").value));
  });

  // -- scans at the kiosk's own scanner ------------------------------------------------
  function scannerScreen() {
    // Only the kiosk's own screen follows its scanner, not every phone on the store network.
    const param = new URLSearchParams(location.search).get("scanner");
    if (param !== null) localStorage.setItem("printstation.kiosk.scanner", param === "0" ? "0" : "1");
    const chosen = localStorage.getItem("printstation.kiosk.scanner");
    if (chosen !== null) return chosen === "1";
    return ["127.0.0.1", "localhost", "[::1]", "::1"].includes(location.hostname);
  }

  function onScannedProduct(p) {
    idle.touched();
    if (busy) { beep(false); return; }
    if (screen === "ticket") startOver();
    if (screen === "failed" || screen === "status" || screen === "paying") show("cart");
    if (addToCart(p)) beep(true);
  }

  function listen() {
    const source = new EventSource("/kiosk/events");
    source.addEventListener("product", (e) => onScannedProduct(JSON.parse(e.data).product));
    source.addEventListener("order", (e) => {
      idle.touched();
      if (!busy) openStatus(JSON.parse(e.data).number);
    });
    source.addEventListener("unknown", (e) => {
      idle.touched();
      beep(false);
      toast(fmt(T.unknown_barcode, {code: JSON.parse(e.data).code}), "bad");
    });
    source.addEventListener("open", () => { document.body.dataset.scanner = "on"; });
  }

  // -- start over ----------------------------------------------------------------------
  function startOver() {
    cart = [];
    coupon = "";
    member = "";
    points = 0;
    quote = null;
    quoting = false;
    attempt = null;
    order = null;
    busy = false;
    rating = 0;
    for (const k of Object.keys(notes)) delete notes[k];
    for (const id of ["q", "coupon", "member", "points", "comment", "status-number"]) $(id).value = "";
    setMsg("status-msg", "", "bad");
    showCartMsg("");
    $("toast").hidden = true;
    category = "";
    for (const c of document.querySelectorAll("#chips .chip")) c.setAttribute("aria-pressed", String(c.dataset.category === ""));
    document.activeElement && document.activeElement.blur && document.activeElement.blur();
    renderCount();
    show("browse");
    sessionStorage.removeItem(STORE_KEY);
    search();
  }

  const idle = window.KioskIdle({
    timeout: Math.max(2, Number(CFG.idle_timeout_s) || 120),
    text: T,
    paused: () => busy,
    dirty: () => screen !== "browse" || cart.length > 0 || $("q").value !== "" || category !== "" || window.scrollY > 0,
    reset: startOver,
  });

  // -- start -------------------------------------------------------------------------
  sessionStorage.removeItem(STATUS_KEY);
  const first = load();
  renderCount();
  if (first === "ticket" && order) { renderTicket(); show("ticket"); } else show(first === "ticket" ? "browse" : first);
  if (cart.length) scheduleQuote();
  search();
  const pending = sessionStorage.getItem(PENDING_KEY);
  if (pending) {
    sessionStorage.removeItem(PENDING_KEY);
    try { onScannedProduct(JSON.parse(pending)); } catch (err) { /* a stale note: ignore */ }
  }
  if (scannerScreen()) listen();
})();
