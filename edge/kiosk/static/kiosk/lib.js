// Helpers of the customer screens: the page's strings and settings, DOM building (text only,
// never HTML), money, the JSON API with the page's CSRF token, feedback by toast and beep.
export const $ = (id) => document.getElementById(id);
export const T = JSON.parse($("i18n").textContent);
export const CFG = JSON.parse($("kiosk-config").textContent);
const CSRF = document.querySelector('meta[name="csrf-token"]').content;
const ZH = CFG.lang === "zh-CN";

export const fmt = (s, vars) => s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
export const money = (v) => "¥" + (v === undefined || v === null || v === "" ? "0.00" : v);
export const cents = (v) => Math.round(parseFloat(v || "0") * 100);
export const yuan = (c) => (c / 100).toFixed(2);
export const nameOf = (p) => (ZH ? p.name : (p.name_en || p.name)) || p.sku;
export const otherName = (p) => (ZH ? p.name_en : (p.name_en ? p.name : "")) || "";

/** An element with attributes (`on…` functions become listeners) and text/element children. */
export function h(tag, attrs, ...children) {
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

export function setMsg(id, text, kind) {
  const node = $(id);
  node.textContent = text || "";
  node.className = "msg" + (kind ? " " + kind : "");
}

function hue(text) {
  let n = 0;
  for (const c of text) n = (n * 31 + c.codePointAt(0)) % 9973;
  return n % 8;
}

/** The product's picture, or its first character on a colour tile (also when the image fails). */
export function picture(p, cls) {
  const name = nameOf(p);
  const tile = h("div", {class: `${cls} tile tile-${hue(p.sku || name)}`, "aria-hidden": "true"},
    Array.from(name.trim())[0] || "?");
  if (!p.image) return tile;
  const img = h("img", {class: cls, src: p.image, alt: "", loading: "lazy"});
  img.addEventListener("error", () => img.replaceWith(tile), {once: true});
  return img;
}

export function uuid() {  // crypto.randomUUID needs a secure context; phones on the LAN have none
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((n) => n.toString(16).padStart(2, "0")).join("");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

let audio = null;
export function beep(ok) {
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
export function toast(text, kind) {
  const box = $("toast");
  box.textContent = text;
  box.className = "toast " + (kind || "good");
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 3500);
}

export class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

let onExpired = () => {};
/** What to do when the page's session is gone (401/403): the app saves and reloads. */
export function whenSessionExpires(fn) { onExpired = fn; }

/** A JSON call; failures throw ApiError (status 0: no answer, the outcome is unknown). */
export async function api(method, url, body, headers, timeoutMs) {
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
    if (res.status === 401 || res.status === 403) onExpired();
    throw new ApiError(res.status, e.code || "http_" + res.status, e.message || res.statusText);
  }
  return {status: res.status, data};
}
