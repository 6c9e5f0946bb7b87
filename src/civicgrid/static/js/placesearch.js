// The place search above a report map (#place-search, on /report and /console/new): streets,
// communities, grids and the gazetteer by name, alias, pinyin initials or a mistyped name
// (/api/v1/geo/places). Choosing one zooms the map there and moves the pin as a tap would (the
// page's own tap handler sets the place and names it). A tap at district zoom zooms in on it.
// Loaded with `defer`: it runs after the page's script has made the map (#map's cgMap).
(function () {
  var mount = document.getElementById("place-search"), mapEl = document.getElementById("map");
  if (!mount || !mapEl || !mapEl.cgMap) { return; }
  var map = mapEl.cgMap, W = CG.words || {}, TAP_ZOOM = 16, PLACE_ZOOM = 17;

  map.on("click", function (e) {
    if (map.getZoom() < TAP_ZOOM) { map.setView(e.latlng, TAP_ZOOM, {animate: false}); }
  });

  var input = cgEl("input", {type: "search", id: "place-q", autocomplete: "off", role: "combobox",
                             "aria-expanded": "false", "aria-controls": "place-results",
                             "aria-label": W.place_search_label, placeholder: W.place_search});
  var list = cgEl("div", {id: "place-results", role: "listbox", hidden: ""});
  mount.replaceChildren(input, list);
  var asked = 0, timer = null;

  function close() { list.hidden = true; input.setAttribute("aria-expanded", "false"); }
  function choose(p) {
    input.value = p.name; close();
    map.setView([p.lat, p.lon], PLACE_ZOOM, {animate: false});
    map.fire("click", {latlng: L.latLng(p.lat, p.lon)});
    var address = document.getElementById("address");
    if (address && !address.value.trim() && p.kind === "place") { address.value = p.name; }
  }
  function show(found) {
    if (!found.length) {
      list.replaceChildren(cgEl("p", {class: "muted"}, [W.place_none]));
    } else {
      list.replaceChildren.apply(list, found.map(function (p) {
        var b = cgEl("button", {type: "button", role: "option"}, [
          cgEl("span", {translate: "no"}, [p.name]),
          cgEl("small", {}, [(W["place_kind_" + p.kind] || p.kind) + (p.within ? " · " : "")]),
          cgEl("small", {translate: "no"}, [p.within])
        ]);
        b.onclick = function () { choose(p); };
        return b;
      }));
    }
    list.hidden = false; input.setAttribute("aria-expanded", "true");
  }
  function ask() {
    var q = input.value.trim(), mine = ++asked;
    if (!q) { close(); return; }
    cgFetch("/api/v1/geo/places?" + new URLSearchParams({q: q, limit: 8}))
      .then(function (res) { if (mine === asked) { show(res.ok ? res.body : []); } });
  }
  input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(ask, 200); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { close(); }
    if (e.key === "Enter") {  // the first answer, without leaving the form
      e.preventDefault();
      var first = list.querySelector("button");
      if (first && !list.hidden) { first.click(); }
    }
    if (e.key === "ArrowDown") { var b = list.querySelector("button"); if (b) { e.preventDefault(); b.focus(); } }
  });
  document.addEventListener("click", function (e) { if (!mount.contains(e.target)) { close(); } });
})();
