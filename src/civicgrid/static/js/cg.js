// Loaded on every page before the page's own script. The policy (Content-Security-Policy) runs
// no inline script, so the page's data comes in a JSON block the server writes
// (<script type="application/json" id="cg-data">, which never executes) and is read here as CG.
// Data never becomes HTML: cgEl builds elements whose text is text, and links and images may
// only point at paths on this site (values in them are encoded with encodeURIComponent).
(function () {
  var block = document.getElementById("cg-data");
  window.CG = block ? JSON.parse(block.textContent) : {};

  // A path on this site ("/x"), or null: no scheme (javascript:, data:, http:), no "//host",
  // no backslash or control character or space (browsers drop or turn them into "/").
  window.cgLocal = function (url) {
    return typeof url === "string" && /^\/(?![/\\])[^\\\s\u0000-\u001f\u007f]*$/.test(url) ? url : null;
  };

  // cgEl("a", {href: "/console/cases/" + encodeURIComponent(code)}, [code]): an element with
  // attributes and children; strings and numbers become text nodes, null an empty one. An href
  // or src that is not a path on this site is left out.
  window.cgEl = function (tag, attrs, children) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if ((name === "href" || name === "src") && (value = cgLocal(value)) === null) { return; }
      el.setAttribute(name, value);
    });
    (children || []).forEach(function (child) {
      el.appendChild(child instanceof Node ? child : document.createTextNode(child == null ? "" : String(child)));
    });
    return el;
  };

  // A table row of text cells (td, or th for a header).
  window.cgRow = function (cells, tag) {
    return cgEl("tr", {}, cells.map(function (v) { return cgEl(tag || "td", {}, [v]); }));
  };

  // The header's menu on a phone (CSS shows the button only on narrow screens).
  Array.prototype.forEach.call(document.querySelectorAll("header .menu-toggle"), function (b) {
    b.addEventListener("click", function () {
      var open = b.parentNode.classList.toggle("open");
      b.setAttribute("aria-expanded", open ? "true" : "false");
    });
  });

  // Buttons that print the page (data-print), in place of an inline onclick.
  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
})();
