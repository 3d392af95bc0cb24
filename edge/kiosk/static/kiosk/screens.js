// One screen of the customer app is visible at a time.
import {$} from "./lib.js";

const SCREENS = ["browse", "cart", "paying", "failed", "ticket", "status"];
export const view = {screen: "browse"};
const hooks = [];

/** Run `fn(name)` after every change of screen. */
export function onShow(fn) { hooks.push(fn); }

export function show(name) {
  view.screen = name;
  for (const s of SCREENS) $("screen-" + s).hidden = s !== name;
  document.body.dataset.screen = name;
  if (name !== "browse" && name !== "cart") $("toast").hidden = true;
  window.scrollTo(0, 0);
  for (const fn of hooks) fn(name);
}

document.addEventListener("click", (e) => {
  const go = e.target.closest("[data-go]");
  if (go) show(go.dataset.go);
});
