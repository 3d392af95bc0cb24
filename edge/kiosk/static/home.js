"use strict";
// Customer start screen: product search by name, SKU or barcode.
(() => {
  const q = document.getElementById("q");
  const grid = document.getElementById("products");
  const zh = document.documentElement.lang === "zh-CN";
  let timer = null;

  function card(p) {
    const img = p.image
      ? Object.assign(document.createElement("img"), {src: p.image, alt: "", loading: "lazy"})
      : Object.assign(document.createElement("div"), {className: "placeholder", textContent: (p.name || "?").slice(0, 1)});
    const box = document.createElement("article");
    box.className = "product";
    const name = document.createElement("h3");
    name.textContent = zh ? p.name : (p.name_en || p.name);
    const price = document.createElement("p");
    price.className = "price";
    price.textContent = "¥" + p.price;
    box.append(img, name, price);
    return box;
  }

  async function search() {
    const res = await fetch("/api/v1/products?q=" + encodeURIComponent(q.value.trim()));
    const data = await res.json();
    grid.replaceChildren(...data.products.map(card));
  }

  q.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 150); });
  search();
})();
