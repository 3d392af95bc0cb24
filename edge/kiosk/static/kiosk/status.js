"use strict";
// Order status page: local times, a quiet refresh while it is open, and — when the kiosk
// opened it — the kiosk's idle timeout and scanner, both leading back to the kiosk.
(() => {
  const T = JSON.parse(document.getElementById("i18n").textContent);
  const PENDING_KEY = "printstation.kiosk.pending";
  const lang = document.documentElement.lang || undefined;

  function localTimes(root) {
    const today = new Date().toDateString();
    for (const node of root.querySelectorAll("time[datetime]")) {
      const at = new Date(node.getAttribute("datetime"));
      if (Number.isNaN(at.getTime())) continue;
      const time = at.toLocaleTimeString(lang, {hour: "2-digit", minute: "2-digit"});
      node.textContent = at.toDateString() === today
        ? time : at.toLocaleDateString(lang, {month: "short", day: "numeric"}) + " " + time;
      node.title = at.toLocaleString(lang);
    }
  }

  async function refresh() {
    if (document.hidden) return;
    try {
      const res = await fetch(location.pathname, {credentials: "same-origin", headers: {Accept: "text/html"}});
      if (!res.ok) return;
      const fresh = new DOMParser().parseFromString(await res.text(), "text/html").getElementById("order-status");
      const current = document.getElementById("order-status");
      if (fresh && current && fresh.innerHTML !== current.dataset.source) {
        current.dataset.source = fresh.innerHTML;
        current.replaceChildren(...[...fresh.childNodes].map((n) => document.adoptNode(n)));
        current.dataset.status = fresh.dataset.status;
        localTimes(current);
      }
    } catch (err) { /* offline for a moment: keep what is shown */ }
  }

  const section = document.getElementById("order-status");
  section.dataset.source = section.innerHTML;
  localTimes(section);
  setInterval(refresh, 15000);

  let kiosk = null;
  try { kiosk = JSON.parse(sessionStorage.getItem("printstation.kiosk.status") || "null"); } catch (err) { kiosk = null; }
  if (!kiosk) return;

  window.KioskIdle({
    timeout: Math.max(2, Number(kiosk.idle_timeout_s) || 120),
    text: T,
    paused: () => false,
    dirty: () => true,
    reset: () => {
      sessionStorage.removeItem("printstation.kiosk");  // the idle kiosk starts over, cart and all
      location.assign("/");
    },
  });
  if (kiosk.scanner) {
    const source = new EventSource("/kiosk/events");
    source.addEventListener("product", (e) => {
      sessionStorage.setItem(PENDING_KEY, JSON.stringify(JSON.parse(e.data).product));
      location.assign("/");
    });
    source.addEventListener("order", (e) => {
      location.assign("/o/" + encodeURIComponent(JSON.parse(e.data).number));
    });
  }
})();
