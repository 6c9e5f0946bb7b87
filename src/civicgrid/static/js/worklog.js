// A person's work log of a day: begin it (the draft is written from their case actions and
// tracked route), add and correct lines (time, place picked on the map, words, linked case,
// photos), submit; their leader approves or returns it on the same page (the JSON API).
(function () {
  var W = CG.words || {};
  function $(id) { return document.getElementById(id); }
  function say(el, ok, body) { if (el) { el.textContent = ok ? W.saved : W.failed + ": " + cgProblem(body); } }
  function post(url, body) {
    var req = {method: "POST"};
    if (body !== undefined) { req.headers = {"Content-Type": "application/json"}; req.body = JSON.stringify(body); }
    return cgFetch(url, req);
  }
  function reloadTo(url) { if (url) { location.href = url; } else { location.reload(); } }

  // begin the log, or bring the draft up to date
  ["begin-log", "refresh-log"].forEach(function (id) {
    var b = $(id);
    if (!b) { return; }
    b.addEventListener("click", function () {
      b.disabled = true;
      post("/api/v1/worklogs/mine/" + encodeURIComponent(b.dataset.day)).then(function (r) {
        b.disabled = false;
        if (r.ok) { reloadTo("/worklogs?day=" + encodeURIComponent(b.dataset.day)); } else { say($("begin-result"), false, r.body); }
      });
    });
  });

  // the map: the lines' places, the tracked route, a click sets the form's place
  var mapEl = $("log-map"), marker = null, map = null;
  function at(lat, lon) { return cgDatum.toTiles(lat, lon, CG.datum); }
  if (mapEl && window.L) {
    map = L.map("log-map", {zoomControl: false, attributionControl: !!CG.tiles});
    L.control.zoom({zoomInTitle: W.zoom_in, zoomOutTitle: W.zoom_out}).addTo(map);
    mapEl.cgMap = map;
    if (CG.tiles) { L.tileLayer(CG.tiles, {maxZoom: 19, attribution: "map tiles"}).addTo(map); }
    var drawn = L.featureGroup().addTo(map);
    (CG.entries || []).forEach(function (e) {
      if (e.lat == null || e.lon == null) { return; }
      L.circleMarker(at(e.lat, e.lon), {radius: 7, color: e.amendment ? "#f2a900" : "#1f5fa8", fillOpacity: 0.8})
        .bindTooltip("#" + e.seq + " " + e.time).addTo(drawn);
    });
    function fit() {
      if (drawn.getLayers().length) { map.fitBounds(drawn.getBounds(), {padding: [20, 20], maxZoom: 17}); }
      else { map.setView([45.72, 126.70], 12); }
    }
    fit();
    if (CG.log) {
      cgFetch("/api/v1/worklogs/" + CG.log + "/route").then(function (r) {
        if (r.ok && r.body.points && r.body.points.length > 1) {
          L.polyline(r.body.points.map(function (p) { return at(p.lat, p.lon); }), {color: "#1e8e3e", weight: 4})
            .bindTooltip(W.route).addTo(drawn);
          fit();
        }
      });
    }
    map.on("click", function (ev) {
      var form = $("entry-form");
      if (!form) { return; }
      // the tiles' datum back to WGS-84 for the stored place
      var p = cgDatum.fromTiles(ev.latlng.lat, ev.latlng.lng, CG.datum);
      form.elements.lat.value = p[0].toFixed(6);
      form.elements.lon.value = p[1].toFixed(6);
      if (marker) { marker.remove(); }
      marker = L.marker(ev.latlng).addTo(map);
    });
  }

  // add a line (or an amendment), or save a draft line being edited; then its photos
  var form = $("entry-form");
  if (form) {
    var out = $("entry-result"), cancel = $("entry-cancel");
    function reset() { form.reset(); form.elements.entry_id.value = ""; cancel.hidden = true; }
    cancel.addEventListener("click", reset);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var f = form.elements, body = {at: form.dataset.day + "T" + f.time.value + ":00", text: f.text.value};
      if (f.case_code.value.trim()) { body.case_code = f.case_code.value.trim(); }
      if (f.lon.value !== "" || f.lat.value !== "") { body.lon = Number(f.lon.value); body.lat = Number(f.lat.value); }
      if (f.corrects && f.corrects.value) { body.corrects = Number(f.corrects.value); }
      var base = "/api/v1/worklogs/" + form.dataset.log + "/entries", id = f.entry_id.value;
      var req = {method: id ? "PUT" : "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
      cgFetch(id ? base + "/" + id : base, req).then(function (r) {
        if (!r.ok) { say(out, false, r.body); return; }
        if (!f.photos.files.length) { reloadTo(); return; }
        var data = new FormData();
        Array.prototype.forEach.call(f.photos.files, function (file) { data.append("photos", file); });
        cgFetch(base + "/" + r.body.id + "/photos", {method: "POST", body: data}).then(function (p) {
          if (p.ok) { reloadTo(); } else { say(out, false, p.body); }
        });
      });
    });
    // a draft line into the form
    Array.prototype.forEach.call(document.querySelectorAll(".edit-entry"), function (b) {
      b.addEventListener("click", function () {
        var e = (CG.entries || []).filter(function (x) { return String(x.id) === b.dataset.id; })[0];
        if (!e) { return; }
        var f = form.elements;
        f.entry_id.value = e.id; f.time.value = e.time; f.text.value = e.text;
        f.case_code.value = e.case_code || ""; f.lon.value = e.lon == null ? "" : e.lon; f.lat.value = e.lat == null ? "" : e.lat;
        cancel.hidden = false;
        f.text.focus();
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll(".delete-entry"), function (b) {
      b.addEventListener("click", function () {
        cgFetch("/api/v1/worklogs/" + form.dataset.log + "/entries/" + b.dataset.id, {method: "DELETE"}).then(function (r) {
          if (r.ok) { reloadTo(); } else { say(out, false, r.body); }
        });
      });
    });
  }

  var submit = $("submit-log");
  if (submit) {
    submit.addEventListener("click", function () {
      post("/api/v1/worklogs/" + submit.dataset.log + "/submit").then(function (r) {
        if (r.ok) { reloadTo(); } else { say($("submit-result"), false, r.body); }
      });
    });
  }

  var review = $("review-form");
  if (review) {
    review.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var decision = ev.submitter ? ev.submitter.value : "approve";
      post("/api/v1/worklogs/" + review.dataset.log + "/review", {decision: decision, comment: review.elements.comment.value})
        .then(function (r) { if (r.ok) { reloadTo(); } else { say($("review-result"), false, r.body); } });
    });
  }
})();
