(function () {
  var W = CG.words, form = document.getElementById("report");
  var search = document.getElementById("cat-search"), choices = document.getElementById("cat-choices");
  var chosen = document.getElementById("category"), message = document.getElementById("message");
  function show(list) {
    choices.replaceChildren.apply(choices, list.slice(0, 12).map(function (c) {
      var b = cgEl("button", {type: "button", role: "option", "data-code": c.code}, [c.name]);
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

  var map = cgMap("map"), marker = null;
  function place(lat, lon) {
    document.getElementById("lat").value = lat; document.getElementById("lon").value = lon;
    if (marker) { marker.setLatLng([lat, lon]); } else { marker = L.marker([lat, lon]).addTo(map); }
    fetch("/api/v1/geo/locate?" + new URLSearchParams({lon: lon, lat: lat})).then(function (r) { return r.json(); })
      .then(function (d) {
        document.getElementById("where").textContent = d.inside
          ? [d.street && d.street.name, d.community && d.community.name, d.grid && d.grid.name].filter(Boolean).join(" · ")
          : (d.message || "");
      });
  }
  map.on("click", function (e) { place(e.latlng.lat.toFixed(7), e.latlng.lng.toFixed(7)); });
  document.getElementById("locate").onclick = function () {
    if (!navigator.geolocation) { return; }
    navigator.geolocation.getCurrentPosition(function (p) {
      place(p.coords.latitude.toFixed(7), p.coords.longitude.toFixed(7));
      map.setView([p.coords.latitude, p.coords.longitude], 16);
    }, function (err) { message.className = "error"; message.textContent = err.message; });
  };

  // One Idempotency-Key per report: a report sent again after a lost answer (the network
  // failed) keeps its key, so the server answers it once; any change makes it a new report.
  var sent = {key: null, signature: null};
  function newKey() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function keyFor(signature) {
    if (sent.signature !== signature) { sent = {key: newKey(), signature: signature}; }
    return sent.key;
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    message.className = ""; message.textContent = "";
    if (!chosen.value) { message.className = "error"; message.textContent = W.need_category; return; }
    var data = new FormData();
    data.append("category", chosen.value);
    ["lon", "lat", "address", "description", "phone"].forEach(function (k) {
      var v = document.getElementById(k).value.trim(); if (v) { data.append(k, v); }
    });
    Array.prototype.forEach.call(document.getElementById("photos").files, function (f) { data.append("photos", f); });
    var signature = JSON.stringify(Array.from(data.entries()).map(function (kv) {
      return typeof kv[1] === "string" ? kv : [kv[0], kv[1].name, kv[1].size, kv[1].lastModified];
    }));
    var key = keyFor(signature);
    var button = document.getElementById("submit"); button.disabled = true;
    fetch("/api/v1/citizen/reports", {method: "POST", body: data, headers: {"Idempotency-Key": key}})
      .then(function (r) { return r.json().then(function (b) { return {ok: r.ok, body: b}; }); })
      .then(function (res) {
        button.disabled = false;
        sent = {key: null, signature: null};  // answered: the next send is a new report
        if (!res.ok) { message.className = "error"; message.textContent = res.body.detail || W.failed; return; }
        form.hidden = true;
        document.getElementById("done").hidden = false;
        document.getElementById("done-code").textContent = res.body.code;
        var link = document.getElementById("done-link"), url = cgLocal(res.body.track_url);
        if (url) { link.href = url; link.textContent = location.origin + url; }
      })
      .catch(function () { button.disabled = false; message.className = "error"; message.textContent = W.failed; });
  });
})();
