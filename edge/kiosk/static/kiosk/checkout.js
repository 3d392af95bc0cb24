// Paying (at the counter, or by card on the terminal) and the ticket screen with its rating.
// Each checkout attempt carries its own Idempotency-Key: a double tap, a reload or a lost
// answer retries with the same key and the station never makes the order twice.
import * as Cart from "./cart.js";
import {$, T, api, cents, fmt, h, money, nameOf, setMsg, toast, uuid, yuan} from "./lib.js";
import {show} from "./screens.js";

const {cart} = Cart;
export const pay = {
  attempt: null,  // {key, uncertain}: the current attempt; uncertain until the station answers
  order: null,    // the order on the ticket screen
  busy: false,    // an order is being placed
};
let saveHook = () => {};
let statusHook = () => {};
let rating = 0;

/** `save()` persists the app's state; `openStatus(number)` shows an order's status page. */
export function wire(save, openStatus) { saveHook = save; statusHook = openStatus; }

function paying(payment) {
  const total = cart.quote ? money(cart.quote.total) : "";
  $("paying-title").textContent = payment === "card" ? T.card_title : T.placing;
  $("paying-total").textContent = total;
  $("paying-text").textContent = payment === "card" ? fmt(T.card_text, {total}) : T.wait_text;
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

export async function checkout(payment) {
  if (pay.busy || !cart.lines.length) return;
  if (cart.quoting) await Cart.requote();
  if (!Cart.fresh() || Cart.problems().length) { show("cart"); return; }
  pay.busy = cart.locked = true;
  if (!pay.attempt || !pay.attempt.uncertain) pay.attempt = {key: uuid(), uncertain: true};
  saveHook();
  paying(payment);
  try {
    const {data} = await api("POST", "/api/v1/orders", Cart.orderBody({payment}),
      {"Idempotency-Key": pay.attempt.key}, 120000);
    pay.attempt = null;
    showTicket(data);
  } catch (err) {
    if (err.status !== 0 && err.status !== 502 && err.status !== 503) pay.attempt = null;  // a clear no
    cart.locked = false;
    if (pay.attempt) failed(T.uncertain_title, T.uncertain_text, payment);
    else if (err.code === "payment_declined") failed(T.declined_title, T.declined_text, payment);
    else if (err.code === "payment_timeout") failed(T.timeout_title, T.timeout_text, payment);
    else if (err.code === "insufficient_stock" || err.code === "unknown_sku") {
      show("cart");
      await Cart.requote();
      Cart.showMsg(T.stock_changed);
    } else if (err.code === "coupon_invalid") {
      cart.coupon = "";
      show("cart");
      await Cart.requote();
      Cart.showMsg(fmt(T.coupon_invalid, {msg: err.message}));
    } else failed(T.failed_title, err.message, payment);
  } finally {
    pay.busy = false;
    saveHook();
  }
}

function showTicket(order) {
  pay.order = order;
  Cart.clear();
  renderTicket();
  show("ticket");
}

export function renderTicket() {
  const o = pay.order;
  $("ticket-number").textContent = o.number;
  $("ticket-paid").textContent = o.paid ? T.paid : T.unpaid;
  $("ticket-paid").className = "paid-state " + (o.paid ? "good" : "todo");
  const lines = Array.isArray(o.instructions) ? o.instructions : String(o.instructions || "").split("\n");
  $("ticket-instructions").replaceChildren(...lines.filter(Boolean).map((t) => h("p", {}, t)));
  $("ticket-qr").src = o.qr_url || `/o/${encodeURIComponent(o.number)}/qr.png`;
  $("ticket-lines").replaceChildren(...(o.lines || []).map((l) =>
    h("li", {}, h("span", {class: "name"}, nameOf(l)), h("span", {class: "n"}, "× " + l.qty),
      h("span", {class: "price"}, money(l.total || yuan(cents(l.unit_price) * l.qty))))));
  const rows = [["", T.subtotal, money(o.subtotal)]];
  if (cents(o.discount)) rows.push(["", T.discount, "−" + money(o.discount)]);
  if (cents(o.points_discount)) rows.push(["", T.points, "−" + money(o.points_discount)]);
  rows.push(["grand", T.total, money(o.total)], ["tax", T.tax, money(o.tax)]);
  $("ticket-totals").replaceChildren(...rows.map(([cls, k, v]) => h("div", {class: cls}, h("dt", {}, k), h("dd", {}, v))));
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

function thanked() {
  $("feedback").hidden = true;
  toast(T.thanks);
}

$("pay-counter").addEventListener("click", () => checkout("counter"));
if ($("pay-card")) $("pay-card").addEventListener("click", () => checkout("card"));
$("retry").addEventListener("click", (e) => checkout(e.currentTarget.dataset.payment || "counter"));
$("fallback-counter").addEventListener("click", () => checkout("counter"));
$("ticket-qr").addEventListener("click", () => pay.order && statusHook(pay.order.number));
document.querySelector("#feedback .stars").addEventListener("click", (e) => {
  const star = e.target.closest(".star");
  if (star) setRating(Number(star.dataset.rating));
});
$("feedback").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!rating || !pay.order) return;
  $("feedback-send").disabled = true;
  const body = {rating};
  const comment = $("comment").value.trim();
  if (comment) body.comment = comment.slice(0, 500);
  try {
    await api("POST", `/api/v1/orders/${encodeURIComponent(pay.order.id)}/feedback`, body);
    thanked();
  } catch (err) {
    if (err.status === 409) thanked();  // already rated
    else { setMsg("feedback-msg", fmt(T.error, {msg: err.message}), "bad"); $("feedback-send").disabled = false; }
  }
});
