// What the report pages share (the citizen's /report, staff's /console/new): the category
// search by name or pinyin initials, the place by GPS or a tap on the map, and one
// Idempotency-Key per report.
(function () {
  // The category search: `search` filters CG.categories into `choices`; a choice sets `chosen`.
  window.cgCategoryPicker = function (search, choices, chosen) {
    function show(list) {
      choices.replaceChildren.apply(choices, list.slice(0, 12).map(function (c) {
        var b = cgEl("button", {type: "button", role: "option", "data-code": c.code, translate: "no"}, [c.name]);
        if (chosen.value === c.code) { b.className = "on"; }
        b.onclick = function () { chosen.value = c.code; search.value = c.name; show(list); };
        return b;
      }));
    }
    function filter() {
      var q = search.value.trim().toLowerCase();
      if (!q) { show(CG.categories); return; }
      show(CG.categories.filter(function (c) {
        return c.name.indexOf(q) >= 0 || c.initials.split(" ").some(function (i) { return i.indexOf(q) === 0; })
          || c.code.indexOf(q) === 0 || (c.keywords || "").indexOf(q) >= 0;
      }));
    }
    search.addEventListener("input", filter);
    show(CG.categories);
  };

  // The map (#map), the GPS button (#locate, if there is one) and the hidden #lon/#lat; #where names the place.
  window.cgPlacePicker = function (message) {
    var map = cgMap("map"), marker = null;
    function place(lat, lon) {
      document.getElementById("lat").value = lat; document.getElementById("lon").value = lon;
      if (marker) { marker.setLatLng([lat, lon]); } else { marker = L.marker([lat, lon], {alt: CG.words.map_pin}).addTo(map); }
      cgFetch("/api/v1/geo/locate?" + new URLSearchParams({lon: lon, lat: lat}))
        .then(function (res) {
          var d = res.body, where = document.getElementById("where"), names = d.inside
            ? [d.street && d.street.name, d.community && d.community.name, d.grid && d.grid.name].filter(Boolean)
            : [];
          // the names of the place (the district's own) and, for a point outside, a sentence
          where.replaceChildren(cgEl("span", {translate: "no"}, [names.join(" · ")]));
          var notice = res.ok ? d.notice && d.notice[CG_LANG] : cgProblem(d);
          if (notice) { where.appendChild(document.createTextNode((names.length ? " · " : "") + notice)); }
        });
    }
    map.on("click", function (e) { place(e.latlng.lat.toFixed(7), e.latlng.lng.toFixed(7)); });
    var locate = document.getElementById("locate");  // a hotline call has no GPS of its own
    if (locate) locate.onclick = function () {
      var W = CG.words;
      if (!navigator.geolocation) { message.className = "error"; message.textContent = W.geo_none; return; }
      navigator.geolocation.getCurrentPosition(function (p) {
        place(p.coords.latitude.toFixed(7), p.coords.longitude.toFixed(7));
        map.setView([p.coords.latitude, p.coords.longitude], 16);
      }, function (err) {
        // err.message is the browser's own English ("User denied Geolocation"): the page
        // says it in its language by the error's code (1 denied, 2 unavailable, 3 timeout)
        message.className = "error"; message.textContent = W["geo_" + err.code] || W.geo_2;
      });
    };
    return map;
  };

  // One Idempotency-Key per report: a report sent again after a lost answer (the network
  // failed) keeps its key, so the server answers it once; any change makes it a new report.
  // key(formData) gives the key; done() after an answer makes the next send a new report.
  window.cgReportKey = function () {
    var sent = {key: null, signature: null};
    function newKey() {
      var bytes = new Uint8Array(16);
      crypto.getRandomValues(bytes);
      return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    }
    return {
      key: function (data) {
        var signature = JSON.stringify(Array.from(data.entries()).map(function (kv) {
          return typeof kv[1] === "string" ? kv : [kv[0], kv[1].name, kv[1].size, kv[1].lastModified];
        }));
        if (sent.signature !== signature) { sent = {key: newKey(), signature: signature}; }
        return sent.key;
      },
      done: function () { sent = {key: null, signature: null}; }
    };
  };
})();
