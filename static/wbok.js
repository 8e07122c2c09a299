// WBOK: mark the active tab after htmx swaps the content or history moves: the longest
// href the address starts with (so /admin/payments/import is not also /admin/payments).
(function () {
  function mark() {
    var links = document.querySelectorAll("#tabs a"), best = null, i, href;
    for (i = 0; i < links.length; i++) {
      href = links[i].getAttribute("href");
      if (location.pathname.indexOf(href) === 0 && (!best || href.length > best.getAttribute("href").length)) best = links[i];
    }
    for (i = 0; i < links.length; i++) {
      if (links[i] === best) links[i].setAttribute("aria-current", "page"); else links[i].removeAttribute("aria-current");
    }
  }
  document.addEventListener("htmx:after:swap", mark);
  window.addEventListener("popstate", mark);
})();
// Finanse: "zaznacz wszystkie", the live count of ticked invoices, and no empty print.
(function () {
  function count(f) {
    var n = f.querySelectorAll("input[name=invoice_id]:checked").length, out = f.querySelector(".fin-count");
    if (out) out.textContent = n;
    if (n) f.querySelector(".fin-none").hidden = true;
    return n;
  }
  function each() {
    var fs = document.querySelectorAll(".fin-print"), cs = document.querySelectorAll(".fin-counter, [data-copy]"), i;
    for (i = 0; i < cs.length; i++) cs[i].hidden = false;  // without JS the count would stay 0
    for (i = 0; i < fs.length; i++) count(fs[i]);
  }
  document.addEventListener("change", function (e) {
    if (e.target.name === "invoice_id" && e.target.form) count(e.target.form);
  });
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("[data-select-all]"), f = a && a.closest(".fin-print");
    if (!f) return;
    e.preventDefault();
    var boxes = f.querySelectorAll("input[name=invoice_id]"), all = count(f) === boxes.length;
    for (var i = 0; i < boxes.length; i++) boxes[i].checked = !all;
    count(f);
  });
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (f.classList.contains("fin-print") && !count(f)) { e.preventDefault(); f.querySelector(".fin-none").hidden = false; }
  });
  document.addEventListener("htmx:after:swap", each);
  document.addEventListener("DOMContentLoaded", each);
})();
// Finanse: copy the account number, the amount or the title (the text stays selectable).
(function () {
  function done(b) {
    var label = b.textContent;
    b.textContent = b.getAttribute("data-done");
    setTimeout(function () { b.textContent = label; }, 2000);
  }
  function fallback(b, text) {
    var t = document.createElement("textarea");
    t.value = text; t.setAttribute("readonly", ""); t.style.position = "fixed"; t.style.opacity = "0";
    document.body.appendChild(t); t.select();
    try { if (document.execCommand("copy")) done(b); } finally { t.remove(); }
  }
  document.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest("button[data-copy]");
    if (!b) return;
    var text = b.getAttribute("data-copy");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(b); }, function () { fallback(b, text); });
    } else fallback(b, text);
  });
})();
