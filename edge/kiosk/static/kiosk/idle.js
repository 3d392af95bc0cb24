"use strict";
// Idle timeout of the customer screens: after `timeout` seconds without a touch or a key, warn
// with a countdown for the last seconds, then call `reset`. Used by the kiosk and, when it was
// opened from the kiosk, by the order status page.
window.KioskIdle = function KioskIdle({timeout, text, dirty, paused, reset}) {
  const WARN_S = Math.min(10, timeout / 2);
  let last = Date.now();
  let overlay = null;

  function build() {
    const count = document.createElement("p");
    count.id = "idle-count";
    const stay = document.createElement("button");
    stay.type = "button";
    stay.className = "paybtn primary";
    stay.textContent = text.idle_stay;
    const title = document.createElement("h2");
    title.textContent = text.idle_title;
    const box = document.createElement("div");
    box.className = "card";
    box.append(title, count, stay);
    overlay = document.createElement("div");
    overlay.id = "idle";
    overlay.className = "idle-overlay";
    overlay.setAttribute("role", "alertdialog");
    overlay.setAttribute("aria-modal", "true");
    overlay.hidden = true;
    overlay.append(box);
    document.body.append(overlay);
  }

  function touched() {
    last = Date.now();
    if (overlay && !overlay.hidden) overlay.hidden = true;
  }

  function tick() {
    if (paused() || !dirty()) { last = Date.now(); overlay.hidden = true; return; }
    const left = timeout - (Date.now() - last) / 1000;
    if (left <= 0) {
      overlay.hidden = true;
      last = Date.now();
      reset();
    } else if (left <= WARN_S) {
      overlay.querySelector("#idle-count").textContent = text.idle_text.replace("{n}", Math.ceil(left));
      overlay.hidden = false;
    } else {
      overlay.hidden = true;
    }
  }

  build();
  for (const name of ["pointerdown", "keydown", "touchstart", "wheel", "input"]) {
    window.addEventListener(name, touched, {capture: true, passive: true});
  }
  setInterval(tick, 250);
  return {touched};
};
