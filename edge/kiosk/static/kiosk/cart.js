// The cart: lines, coupon, member phone and points; the station's quote of it after every
// change; the cart screen. A quantity never goes above what the station may sell.
import {$, T, api, beep, cents, fmt, h, money, nameOf, picture, setMsg, toast, yuan} from "./lib.js";

export const cart = {
  lines: [],       // [{sku, qty, product: {sku, name, name_en, price, image, sellable}}]
  coupon: "",      // the coupon code the customer applied
  member: "",      // the member's phone
  points: 0,       // points to redeem
  quote: null,     // the station's quote of the lines as they are (see fresh())
  quoting: false,  // a quote is scheduled or in flight
  locked: false,   // an order is being placed: no paying twice
};
export const known = {};  // sku → the last product seen, for its sellable count
const notes = {};         // sku → "only N left", shown on that line
let changedHook = () => {};

/** Run `fn` after every change of the cart (the app saves it and refreshes the grid). */
export function onChange(fn) { changedHook = fn; }

export const units = () => cart.lines.reduce((a, l) => a + l.qty, 0);
export const fresh = () => (cart.quote && !cart.quoting ? cart.quote : null);
export const problems = () => ((fresh() || {}).problems || []).filter((p) => cart.lines.some((l) => l.sku === p.sku));
export const qtyOf = (sku) => (cart.lines.find((l) => l.sku === sku) || {qty: 0}).qty;

export function snapshot() {
  const {lines, coupon, member, points} = cart;
  return {lines, coupon, member, points};
}

export function restore(saved) {
  cart.lines = Array.isArray(saved.lines) ? saved.lines.filter((l) => l && l.sku && l.qty > 0 && l.product) : [];
  cart.coupon = saved.coupon || "";
  cart.member = saved.member || "";
  cart.points = Number(saved.points) || 0;
  if (cart.lines.length) scheduleQuote();
}

export function clear() {
  Object.assign(cart, {lines: [], coupon: "", member: "", points: 0, quote: null, quoting: false, locked: false});
  for (const k of Object.keys(notes)) delete notes[k];
  clearTimeout(quoteTimer);
  quoteSeq++;
  showMsg("");
  render();
}

function sellableOf(sku) {
  const q = cart.quote && (cart.quote.lines || []).find((l) => l.sku === sku);
  if (q && typeof q.sellable === "number") return q.sellable;
  const p = known[sku];
  return p && typeof p.sellable === "number" ? p.sellable : Infinity;
}

function slim(p) {
  return {sku: p.sku, name: p.name, name_en: p.name_en, price: p.price, image: p.image || null, sellable: p.sellable};
}

/** Add `n` of product `p`; says so plainly (and adds nothing) past what may be sold. */
export function add(p, n = 1) {
  known[p.sku] = p;
  const line = cart.lines.find((l) => l.sku === p.sku);
  const limit = sellableOf(p.sku);
  const name = nameOf(p);
  if (limit <= 0) { toast(fmt(T.sold_out_named, {name}), "bad"); beep(false); return false; }
  if ((line ? line.qty : 0) + n > limit) {
    notes[p.sku] = fmt(T.only_left, {n: limit});
    toast(fmt(T.only_left_named, {n: limit, name}), "bad");
    beep(false);
    render();
    return false;
  }
  if (line) { line.qty += n; line.product = {...line.product, ...slim(p)}; } else cart.lines.push({sku: p.sku, qty: n, product: slim(p)});
  toast(fmt(T.added, {name}));
  changed();
  return true;
}

function setQty(sku, qty) {
  const line = cart.lines.find((l) => l.sku === sku);
  if (!line) return;
  const limit = sellableOf(sku);
  if (qty > limit) {
    notes[sku] = fmt(T.only_left, {n: limit});
    beep(false);
    render();
    return;
  }
  delete notes[sku];
  if (qty <= 0) cart.lines = cart.lines.filter((l) => l.sku !== sku); else line.qty = qty;
  changed();
}

function swap(sku, alt) {
  const line = cart.lines.find((l) => l.sku === sku);
  const qty = Math.max(1, Math.min(line ? line.qty : 1, alt.sellable > 0 ? alt.sellable : 1));
  cart.lines = cart.lines.filter((l) => l.sku !== sku);
  delete notes[sku];
  known[alt.sku] = alt;
  const existing = cart.lines.find((l) => l.sku === alt.sku);
  if (existing) existing.qty = Math.min(existing.qty + qty, alt.sellable); else cart.lines.push({sku: alt.sku, qty, product: slim(alt)});
  changed();
}

function changed() {
  showMsg("");
  scheduleQuote();
  render();
  changedHook();
}

// -- the station's quote -------------------------------------------------------------
let quoteSeq = 0;
let quoteTimer = null;

function scheduleQuote() {
  cart.quoting = cart.lines.length > 0;
  clearTimeout(quoteTimer);
  quoteTimer = setTimeout(requote, 150);
}

/** Ask the station to price the cart now (latest answer wins). */
export async function requote() {
  clearTimeout(quoteTimer);
  const seq = ++quoteSeq;
  if (!cart.lines.length) { cart.quote = null; cart.quoting = false; render(); return; }
  cart.quoting = true;
  try {
    const {data} = await api("POST", "/api/v1/cart/quote", orderBody());
    if (seq !== quoteSeq) return;
    cart.quote = data;
    for (const q of data.lines || []) {
      const line = cart.lines.find((l) => l.sku === q.sku);
      if (line) line.product = {...line.product, name: q.name, name_en: q.name_en, price: q.unit_price, sellable: q.sellable};
      if (notes[q.sku] && line && line.qty < q.sellable) delete notes[q.sku];
      else if (notes[q.sku]) notes[q.sku] = fmt(T.only_left, {n: Math.max(0, q.sellable)});
    }
  } catch (err) {
    if (seq !== quoteSeq) return;
    cart.quote = null;
    showMsg(fmt(T.error, {msg: err.message}));
  }
  cart.quoting = false;
  render();
  changedHook();
}

/** The lines, and the coupon, member and points the last quote accepted. */
export function orderBody(extra) {
  const body = {lines: cart.lines.map(({sku, qty}) => ({sku, qty})), ...(extra || {})};
  const q = extra ? cart.quote : null;  // when ordering, send only what the quote accepted
  if (cart.coupon && (!q || (q.coupon && q.coupon.ok))) body.coupon = cart.coupon;
  if (cart.member && (!q || q.member)) body.member = cart.member;
  if (cart.member && cart.points > 0 && (!q || q.member)) body.points = cart.points;
  return body;
}

export function showMsg(text) {
  $("cart-msg").textContent = text;
  $("cart-msg").hidden = !text;
}

// -- the cart screen -----------------------------------------------------------------
export function renderCount() {
  const n = units();
  $("cart-count").textContent = String(n);
  $("cart-button").classList.toggle("has-items", n > 0);
  $("cartbar").hidden = n === 0;
  $("cartbar-count").textContent = fmt(T.items, {n});
  const estimate = cart.lines.reduce((a, l) => a + cents(l.product.price) * l.qty, 0);
  $("cartbar-total").textContent = money(fresh() ? fresh().total : yuan(estimate));
}

function cartLine(l) {
  const q = fresh() && (fresh().lines || []).find((x) => x.sku === l.sku);
  const p = {...l.product, ...(q ? {name: q.name, name_en: q.name_en} : {})};
  const name = nameOf(p);
  const atLimit = l.qty >= sellableOf(l.sku);
  return h("li", {class: "cart-line" + (q && q.ok === false ? " bad" : ""), "data-sku": l.sku},
    picture(p, "thumb"),
    h("div", {class: "what"},
      h("b", {class: "name"}, name),
      h("span", {class: "sub"}, fmt(T.each, {price: money(q ? q.unit_price : l.product.price)})),
      notes[l.sku] ? h("span", {class: "note"}, notes[l.sku]) : null),
    h("div", {class: "qty"},
      h("button", {type: "button", class: "minus", "aria-label": T.decrease, disabled: l.qty <= 1, onclick: () => setQty(l.sku, l.qty - 1)}, "−"),
      h("output", {class: "n", "aria-live": "polite"}, String(l.qty)),
      h("button", {type: "button", class: "plus" + (atLimit ? " at-limit" : ""), "aria-label": T.increase, onclick: () => setQty(l.sku, l.qty + 1)}, "+")),
    h("span", {class: "line-total"}, money(q ? q.total : yuan(cents(l.product.price) * l.qty))),
    h("button", {type: "button", class: "remove", "aria-label": fmt(T.remove_named, {name}), onclick: () => setQty(l.sku, 0)}, "✕"));
}

function problemBox(pr) {
  const line = cart.lines.find((l) => l.sku === pr.sku);
  const name = line ? nameOf(line.product) : pr.sku;
  const text = pr.code === "insufficient_stock"
    ? (pr.sellable > 0 ? fmt(T.only_left_named, {n: pr.sellable, name}) : fmt(T.sold_out_named, {name}))
    : pr.code === "unknown_sku" ? fmt(T.unknown_item, {name}) : (pr.message || pr.code);
  const fixes = pr.code === "insufficient_stock" && pr.sellable > 0
    ? [h("button", {type: "button", class: "fix", onclick: () => setQty(pr.sku, pr.sellable)}, fmt(T.set_qty, {n: pr.sellable}))]
    : [h("button", {type: "button", class: "fix", onclick: () => setQty(pr.sku, 0)}, T.remove)];
  for (const alt of pr.alternatives || []) {
    fixes.push(h("button", {type: "button", class: "alt", "data-sku": alt.sku, onclick: () => swap(pr.sku, alt)},
      picture(alt, "mini"), h("span", {}, fmt(T.swap, {name: nameOf(alt)})), h("span", {class: "price"}, money(alt.price))));
  }
  return h("div", {class: "problem", "data-sku": pr.sku, "data-code": pr.code}, h("p", {}, text), h("div", {class: "fixes"}, ...fixes));
}

function recCard(p) {
  known[p.sku] = p;
  return h("article", {class: "rec", "data-sku": p.sku},
    picture(p, "mini"),
    h("span", {class: "name"}, nameOf(p)),
    h("span", {class: "price"}, money(p.price)),
    h("button", {type: "button", class: "add", "aria-label": fmt(T.add_named, {name: nameOf(p)}), onclick: () => add(p)}, "+"));
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

function renderMember(q) {
  const m = q && q.member;
  if (cart.member && m) {
    setMsg("member-msg", fmt(T.member_info, {balance: m.balance, redeem: m.redeem, earn: m.earn}), "good");
    $("points-field").hidden = !(m.balance > 0);
    $("points-label").textContent = fmt(T.points_note, {balance: m.balance});
    $("points").max = String(m.balance);
    if ($("points") !== document.activeElement) $("points").value = cart.points ? String(cart.points) : "";
  } else {
    setMsg("member-msg", cart.member && q ? T.member_unknown : "", "bad");
    $("points-field").hidden = true;
  }
}

export function render() {
  const q = fresh();
  const stuck = problems();
  $("cart-empty").hidden = cart.lines.length > 0;
  $("cart-lines").replaceChildren(...cart.lines.map(cartLine));
  $("problems").hidden = stuck.length === 0;
  $("problems").replaceChildren(...stuck.map(problemBox));
  const recs = ((q && q.recommendations) || []).filter((p) => p.sellable > 0 && !qtyOf(p.sku)).slice(0, 4);
  $("recs-box").hidden = recs.length === 0;
  $("recs").replaceChildren(...recs.map(recCard));
  for (const id of ["coupon", "member"]) if ($(id) !== document.activeElement) $(id).value = cart[id];
  const c = q && q.coupon;
  setMsg("coupon-msg", c ? c.message : "", c ? (c.ok ? "good" : "bad") : "");
  renderMember(q);
  renderTotals(q);
  const blocked = !cart.lines.length || !q || stuck.length > 0 || cart.locked;
  for (const id of ["pay-counter", "pay-card"]) if ($(id)) $(id).disabled = blocked;
  if (q && stuck.length) showMsg(T.fix_cart);
  renderCount();
}

$("coupon-form").addEventListener("submit", (e) => {
  e.preventDefault();
  cart.coupon = $("coupon").value.trim().toUpperCase();
  $("coupon").blur();
  changed();
});
$("member-form").addEventListener("submit", (e) => {
  e.preventDefault();
  cart.member = $("member").value.replace(/\D/g, "");
  if (!cart.member) cart.points = 0;
  $("member").blur();
  changed();
});
$("points-apply").addEventListener("click", () => {
  cart.points = Math.max(0, Math.floor(Number($("points").value) || 0));
  $("points").blur();
  changed();
});
$("points").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); $("points-apply").click(); } });
