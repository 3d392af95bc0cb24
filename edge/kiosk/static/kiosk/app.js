// Customer self-ordering: browse → cart → pay → ticket, one screen at a time; order status;
// scans at the kiosk's own scanner; the idle reset. The cart lives in sessionStorage, so a
// language switch or a reload keeps it and only the idle reset (or "done") clears it.
import * as Cart from "./cart.js";
import {checkout, pay, renderTicket, wire} from "./checkout.js";
import {$, CFG, T, api, beep, fmt, h, money, nameOf, otherName, picture, setMsg, toast, whenSessionExpires} from "./lib.js";
import {onShow, show, view} from "./screens.js";

const {cart} = Cart;
const STORE_KEY = "printstation.kiosk";
const STATUS_KEY = "printstation.kiosk.status";    // tells status.js it was opened from here
const PENDING_KEY = "printstation.kiosk.pending";  // a product scanned on the status page

// -- persistence -----------------------------------------------------------------------
function save() {
  const screen = ["browse", "cart", "ticket", "status"].includes(view.screen) ? view.screen : "cart";
  sessionStorage.setItem(STORE_KEY, JSON.stringify({...Cart.snapshot(), attempt: pay.attempt, order: pay.order, screen}));
}

function load() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORE_KEY) || "{}");
    Cart.restore(saved);
    pay.attempt = saved.attempt || null;
    pay.order = saved.order || null;
    return saved.screen || "browse";
  } catch (err) {
    return "browse";
  }
}

whenSessionExpires(() => {  // the page's session (and CSRF token) is gone: reload, once
  const at = Number(sessionStorage.getItem(STORE_KEY + ".reloaded") || 0);
  if (Date.now() - at > 10000) {
    sessionStorage.setItem(STORE_KEY + ".reloaded", String(Date.now()));
    save();
    location.reload();
  }
});

onShow((name) => {
  if (name === "cart") Cart.render();
  if (name === "browse") refreshBadges();
  if (name === "status") $("status-number").focus();
  save();
});
Cart.onChange(() => {
  if (pay.attempt && !pay.attempt.uncertain) pay.attempt = null;
  refreshBadges();
  save();
});
$("cart-button").addEventListener("click", () => { if (!pay.busy) show("cart"); });
$("cartbar-open").addEventListener("click", () => show("cart"));
$("open-status").addEventListener("click", () => { if (!pay.busy) show("status"); });

// -- browse ----------------------------------------------------------------------------
let category = "";
let searchSeq = 0;
let searchTimer = null;

function productCard(p) {
  Cart.known[p.sku] = p;
  const out = !(p.sellable > 0);
  const name = nameOf(p);
  const inCart = Cart.qtyOf(p.sku);
  return h("article", {class: "product" + (out ? " out" : ""), "data-sku": p.sku},
    picture(p, "pic"),
    h("span", {class: "incart", hidden: !inCart}, fmt(T.in_cart, {n: inCart})),
    h("h3", {class: "name"}, name),
    h("p", {class: "sub"}, otherName(p)),
    !out && p.sellable <= 5 ? h("p", {class: "few"}, fmt(T.few_left, {n: p.sellable})) : null,
    h("div", {class: "buy"},
      h("span", {class: "price"}, money(p.price)),
      out
        ? h("span", {class: "soldout"}, T.sold_out)
        : h("button", {type: "button", class: "add", "aria-label": fmt(T.add_named, {name}), onclick: () => Cart.add(p)}, "+ " + T.add)));
}

function refreshBadges() {
  for (const card of document.querySelectorAll("#products .product")) {
    const n = Cart.qtyOf(card.dataset.sku);
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
    if (seq !== searchSeq) return;
    const found = (data.products || []).filter((p) => !category || p.category === category);
    $("products").replaceChildren(...found.map(productCard));
    $("no-results").hidden = found.length > 0;
  } catch (err) {
    if (seq === searchSeq) toast(err.message, "bad");
  }
}

function choose(chosen) {
  category = chosen;
  for (const c of document.querySelectorAll("#chips .chip")) c.setAttribute("aria-pressed", String(c.dataset.category === chosen));
}

$("q").addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(search, 200); });
$("q").addEventListener("keydown", (e) => { if (e.key === "Enter") { clearTimeout(searchTimer); search(); e.target.blur(); } });
$("chips").addEventListener("click", (e) => {
  const chip = e.target.closest(".chip");
  if (chip) { choose(chip.dataset.category); search(); }
});

// -- order status ----------------------------------------------------------------------
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

// -- scans at the kiosk's own scanner ----------------------------------------------------
function scannerScreen() {
  // Only the kiosk's own screen follows its scanner, not every phone on the store network;
  // a kiosk screen on another machine opts in once with ?scanner=1.
  const param = new URLSearchParams(location.search).get("scanner");
  if (param !== null) localStorage.setItem("printstation.kiosk.scanner", param === "0" ? "0" : "1");
  const chosen = localStorage.getItem("printstation.kiosk.scanner");
  if (chosen !== null) return chosen === "1";
  return ["127.0.0.1", "localhost", "[::1]"].includes(location.hostname);
}

function scanned(product) {
  idle.touched();
  if (pay.busy) { beep(false); return; }
  if (view.screen === "ticket") startOver();
  if (view.screen === "failed" || view.screen === "status") show("cart");
  if (Cart.add(product)) beep(true);
}

function listen() {
  const source = new EventSource("/kiosk/events");
  source.addEventListener("product", (e) => scanned(JSON.parse(e.data).product));
  source.addEventListener("order", (e) => {
    idle.touched();
    if (!pay.busy) openStatus(JSON.parse(e.data).number);
  });
  source.addEventListener("unknown", (e) => {
    idle.touched();
    beep(false);
    toast(fmt(T.unknown_barcode, {code: JSON.parse(e.data).code}), "bad");
  });
}

// -- start over --------------------------------------------------------------------------
function startOver() {
  Cart.clear();
  Object.assign(pay, {attempt: null, order: null, busy: false});
  for (const id of ["q", "coupon", "member", "points", "comment", "status-number"]) $(id).value = "";
  setMsg("status-msg", "", "bad");
  $("toast").hidden = true;
  choose("");
  if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
  show("browse");
  sessionStorage.removeItem(STORE_KEY);
  search();
}

$("done").addEventListener("click", startOver);
wire(save, openStatus);

const idle = window.KioskIdle({
  timeout: Math.max(2, Number(CFG.idle_timeout_s) || 120),
  text: T,
  paused: () => pay.busy,
  dirty: () => view.screen !== "browse" || cart.lines.length > 0 || $("q").value !== "" || category !== "" || window.scrollY > 0,
  reset: startOver,
});

// -- start -------------------------------------------------------------------------------
sessionStorage.removeItem(STATUS_KEY);
const first = load();
if (first === "ticket" && pay.order) renderTicket();
show(first === "ticket" && !pay.order ? "browse" : first);
Cart.render();
search();
const pending = sessionStorage.getItem(PENDING_KEY);
if (pending) {
  sessionStorage.removeItem(PENDING_KEY);
  try { scanned(JSON.parse(pending)); } catch (err) { /* a stale note: ignore */ }
}
if (scannerScreen()) listen();
