// WBOK: mark the active tab after htmx swaps the content or history moves.
(function () {
  function mark() {
    var links = document.querySelectorAll("#tabs a");
    for (var i = 0; i < links.length; i++) {
      var a = links[i], here = location.pathname.indexOf(a.getAttribute("href")) === 0;
      if (here) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
  }
  document.addEventListener("htmx:after:swap", mark);
  window.addEventListener("popstate", mark);
})();
