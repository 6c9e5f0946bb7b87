// Loaded on every page before the page's own script. The policy (Content-Security-Policy) runs
// no inline script, so the page's data comes in a JSON block the server writes
// (<script type="application/json" id="cg-data">, which never executes) and is read here as CG.
// Data never becomes HTML: cgEl builds elements whose text is text, and links and images may
// only point at paths on this site (values in them are encoded with encodeURIComponent).
(function () {
  var block = document.getElementById("cg-data");
  window.CG = block ? JSON.parse(block.textContent) : {};
  // The page's language as the server rendered it: "en" or "zh".
  window.CG_LANG = document.documentElement.lang === "en" ? "en" : "zh";

  // A refusal from the API as a sentence in the page's language: every refusal carries
  // message {zh, en} (kit.errors); anything else (no answer, not JSON) is the page's
  // "failed, try again" (base.html puts it on <body data-failed>).
  window.cgProblem = function (body) {
    var m = body && body.message;
    if (m && typeof m === "object" && m[CG_LANG]) { return m[CG_LANG]; }
    return document.body.dataset.failed;
  };

  // fetch(url, req) answered as {ok, status, body}; a body that is not JSON becomes {}.
  window.cgFetch = function (url, req) {
    return fetch(url, req).then(function (r) {
      return r.text().then(function (t) {
        var body = {};
        try { body = t ? JSON.parse(t) : {}; } catch (e) { body = {}; }
        return {ok: r.ok, status: r.status, body: body};
      });
    });
  };

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

  // A table row of text cells (td, or th for a header). The cells numbered in `data` hold
  // names as the district entered them (streets, units, categories): translate="no".
  window.cgRow = function (cells, tag, data) {
    return cgEl("tr", {}, cells.map(function (v, i) {
      return cgEl(tag || "td", data && data.indexOf(i) >= 0 ? {translate: "no"} : {}, [v]);
    }));
  };

  // The words of a page (CG.words) filled in: cgWord("step_dispatched", {unit: el}) splits
  // the text at {unit} and puts the element (or text) there.
  window.cgWord = function (key, parts) {
    var text = (CG.words || {})[key] || key, out = [];
    text.split(/(\{[a-z_]+\})/).forEach(function (piece) {
      var m = /^\{([a-z_]+)\}$/.exec(piece);
      if (m && parts && m[1] in parts) { out.push(parts[m[1]]); } else if (piece) { out.push(piece); }
    });
    return out;
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

// The handler app's offline data (its service worker's caches and its IndexedDB: the cases seen
// and the outbox) is forgotten on sign-out, from the app or from any page's sign-out button.
(function () {
  window.cgForget = function () {
    var work = [];
    if (window.caches) {
      work.push(caches.keys().then(function (keys) {
        return Promise.all(keys.filter(function (k) { return k.indexOf("cg-handler") === 0; })
          .map(function (k) { return caches.delete(k); }));
      }));
    }
    if (window.indexedDB) {
      work.push(new Promise(function (resolve) {
        var req = indexedDB.deleteDatabase("cg-handler");
        req.onsuccess = req.onerror = req.onblocked = function () { resolve(); };
      }));
    }
    return Promise.all(work).catch(function () {});
  };
  Array.prototype.forEach.call(document.querySelectorAll("form[action='/console/logout']"), function (f) {
    f.addEventListener("submit", function (e) {
      if (f.dataset.forgotten) { return; }
      e.preventDefault();
      window.cgForget().then(function () { f.dataset.forgotten = "1"; f.submit(); });
    });
  });
})();
