// The snow season's pages: declaring an event, editing the deadline table, the gate's tickets,
// and an event's map (sections coloured by their clear light, fields outlined with their fill).
(function () {
  var W = CG.words || {};
  function send(method, url, body) {
    return cgFetch(url, {method: method, headers: {"Content-Type": "application/json"},
                         body: JSON.stringify(body)});
  }
  function say(el, ok, body) {
    el.textContent = ok ? body : cgProblem(body);
    el.className = ok ? "muted" : "error";
  }
  var declare = document.getElementById("declare");
  if (declare) {
    declare.addEventListener("submit", function (e) {
      e.preventDefault();
      var f = declare.elements, body = {name: f.name.value, started_at: f.started_at.value};
      ["snow_end_at", "forecast_at", "grade"].forEach(function (k) { if (f[k].value) { body[k] = f[k].value; } });
      ["precipitation_mm", "depth_m"].forEach(function (k) { if (f[k].value !== "") { body[k] = Number(f[k].value); } });
      send("POST", "/api/v1/snow/events", body).then(function (r) {
        if (r.ok) { window.location.href = "/snow/events/" + encodeURIComponent(r.body.id); }
        else { say(document.getElementById("declare-status"), false, r.body); }
      });
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("#snow-limits tr[data-grade]"), function (row) {
    var inputs = row.querySelectorAll("input.hours");
    Array.prototype.forEach.call(inputs, function (input) {
      input.addEventListener("change", function () {
        var url = "/api/v1/snow/limits/" + encodeURIComponent(row.dataset.grade) + "/" +
          encodeURIComponent(row.dataset["class"]);
        send("PUT", url, {clear_hours: Number(inputs[0].value), haul_hours: Number(inputs[1].value)})
          .then(function (r) {
            row.classList.toggle("saved", r.ok);
            row.classList.toggle("refused", !r.ok);
            input.title = r.ok ? W.saved : cgProblem(r.body);
          });
      });
    });
  });
  var gate = document.getElementById("gate");
  if (gate) {
    gate.addEventListener("submit", function (e) {
      e.preventDefault();
      var f = gate.elements, out = document.getElementById("gate-status");
      var body = {field: f.field.value, plate: f.plate.value, volume_m3: Number(f.volume_m3.value)};
      if (f.section.value) { body.section = f.section.value; }
      send("POST", "/api/v1/snow/events/" + encodeURIComponent(CG.event) + "/tickets", body)
        .then(function (r) {
          if (r.ok) {
            say(out, true, W.ticket_saved + " · " + r.body.plate + " · " + r.body.volume_m3 + " m³");
            f.plate.value = "";
          } else { say(out, false, r.body); }
        });
    });
  }
  var mapEl = document.getElementById("map");
  if (mapEl && CG.sections) {
    var at = function (lat, lon) { return cgDatum.toTiles(lat, lon, CG.datum); };
    var line = function (coords) { return coords.map(function (c) { return at(c[1], c[0]); }); };
    var map = L.map("map", {zoomControl: false, zoomSnap: 0.25, attributionControl: !!CG.tiles});
    L.control.zoom({zoomInTitle: W.zoom_in, zoomOutTitle: W.zoom_out}).addTo(map);
    mapEl.cgMap = map;
    if (CG.tiles) { L.tileLayer(CG.tiles, {maxZoom: 19, attribution: "map tiles"}).addTo(map); }
    var colours = {done: "#1f5fa8", green: "#1e8e3e", yellow: "#f2a900", red: "#d93025", grey: "#9aa3ad"};
    var drawn = L.featureGroup().addTo(map);
    CG.sections.forEach(function (s) {
      L.polyline(line(s.coordinates), {color: colours[s.clear] || "#9aa3ad", weight: 6, opacity: 0.85})
        .bindTooltip(s.name + " · " + (W["light_" + s.clear] || s.clear)).addTo(drawn);
    });
    (CG.fields || []).forEach(function (f) {
      var colour = f.percent >= 95 ? "#d93025" : f.percent >= 80 ? "#f2a900" : "#1f5fa8";
      L.polygon(line(f.polygon), {color: colour, weight: 2, fillOpacity: 0.15})
        .bindTooltip(f.name + " · " + f.percent + "%").addTo(drawn);
    });
    if (drawn.getLayers().length) { map.fitBounds(drawn.getBounds(), {padding: [20, 20]}); }
    else { map.setView([45.72, 126.70], 12); }
  }
})();
