"use strict";
// Shared helpers of the staff screens: JSON calls with the CSRF token, live updates, sounds.
const PS = (() => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  async function call(method, url, body) {
    const res = await fetch(url, {
      method,
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json"},
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    const data = await res.json().catch(() => ({}));
    if (res.status === 401) { window.location = "/pack/login?next=" + encodeURIComponent(location.pathname); }
    if (!res.ok) { throw new Error((data.error && data.error.message) || res.statusText); }
    return data;
  }

  function live(url, handlers) {
    const source = new EventSource(url);
    for (const [name, fn] of Object.entries(handlers)) {
      source.addEventListener(name, (e) => fn(JSON.parse(e.data)));
    }
    source.onopen = () => handlers.open && handlers.open();
    return source;
  }

  let audio = null;
  function beep(ok) {
    try {
      audio = audio || new AudioContext();
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = ok ? "sine" : "square";
      osc.frequency.value = ok ? 1200 : 220;
      gain.gain.value = 0.15;
      osc.connect(gain).connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + (ok ? 0.08 : 0.45));
    } catch (err) { /* no audio device: the banner still shows */ }
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v; else if (k.startsWith("data-")) node.setAttribute(k, v); else node[k] = v;
    }
    for (const c of children) { if (c !== null && c !== undefined) node.append(c); }
    return node;
  }

  return {call, live, beep, el, json: (id) => JSON.parse(document.getElementById(id).textContent)};
})();
