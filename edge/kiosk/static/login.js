"use strict";
// Staff login: a touch PIN pad, or a badge scanned on the station's scanner.
(() => {
  const pin = document.getElementById("pin");
  const form = document.getElementById("pin-form");
  for (const key of document.querySelectorAll(".key")) {
    key.addEventListener("click", () => {
      const k = key.dataset.key;
      if (k === "OK") form.submit();
      else if (k === "⌫") pin.value = pin.value.slice(0, -1);
      else if (pin.value.length < 12) pin.value += k;
    });
  }
  const status = document.getElementById("badge-status");
  const source = new EventSource("/pack/login/events");
  source.addEventListener("badge", async (e) => {
    const {token} = JSON.parse(e.data);
    const res = await fetch("/pack/login/badge", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({token}), credentials: "same-origin",
    });
    const out = await res.json().catch(() => ({}));
    if (res.ok) { source.close(); window.location = out.next; }
    else status.textContent = (out.error && out.error.message) || res.statusText;
  });
})();
