// The vehicles' places: on the list page, every collection point, road and geofence on one map;
// on a form, the place drawn by clicking the map (a point; a road's or an area's points in
// order; a circle's centre), written as GeoJSON into the form's text field, which may also be
// pasted into (the map follows it). Coordinates are WGS-84, drawn on the tiles' datum.
(function () {
  var W = CG.words || {}, datum = CG.datum;
  function at(lat, lon) { return cgDatum.toTiles(lat, lon, datum); }
  function line(coords) { return coords.map(function (c) { return at(c[1], c[0]); }); }
  var map = L.map("map", {zoomControl: false, zoomSnap: 0.25, attributionControl: !!CG.tiles});
  L.control.zoom({zoomInTitle: W.zoom_in, zoomOutTitle: W.zoom_out}).addTo(map);
  if (CG.tiles) { L.tileLayer(CG.tiles, {maxZoom: 19, attribution: "map tiles"}).addTo(map); }
  var HOME = [45.72, 126.70];

  // deletes ask first
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) { if (!window.confirm(f.dataset.confirm)) { e.preventDefault(); } });
  });

  function fence(f, faint) {
    var style = {color: "#1f5fa8", weight: 2, fillOpacity: 0.08, opacity: faint ? 0.4 : 1, interactive: !faint};
    if (f.kind === "circle") { return L.circle(at(f.coordinates[0][1], f.coordinates[0][0]), Object.assign({radius: f.distance_m}, style)); }
    if (f.kind === "polygon") { return L.polygon(line(f.coordinates), style); }
    return L.polyline(line(f.coordinates), Object.assign({}, style, {weight: 3, dashArray: "6 4"}));
  }
  // every place of `data` on the map; faint ones (beside a form's drawing) take no clicks
  function places(data, faint) {
    var group = L.featureGroup().addTo(map), o = faint ? 0.4 : 1;
    (data.points || []).forEach(function (p) {
      L.circleMarker(at(p.lat, p.lon), {radius: 7, color: "#1e8e3e", opacity: o, fillOpacity: 0.9 * o, interactive: !faint}).bindTooltip(p.name).addTo(group);
    });
    Object.keys(data.roads || {}).forEach(function (code) {
      L.polyline(line(data.roads[code]), {color: "#d93025", weight: 5, opacity: o, interactive: !faint}).bindTooltip(code).addTo(group);
    });
    (data.fences || []).forEach(function (f) { fence(f, faint).bindTooltip(f.name).addTo(group); });
    return group;
  }

  var form = document.getElementById("place-form");
  if (!form) {  // the list: everything on one map
    var all = places(CG, false);
    if (all.getLayers().length) { map.fitBounds(all.getBounds(), {padding: [20, 20], maxZoom: 17}); }
    else { map.setView(HOME, 12); }
    return;
  }
  var context = places(CG.context || {}, true);

  var text = document.getElementById("f-geometry"), kindEl = document.getElementById("f-kind");
  var distanceEl = document.getElementById("f-distance"), hint = document.getElementById("draw-hint");
  var points = [], layer = L.featureGroup().addTo(map);
  function shape() {
    if (CG.kind === "point") { return "point"; }
    if (CG.kind === "road") { return "line"; }
    return kindEl.value;  // polygon, circle, line
  }
  function round(x) { return Math.round(x * 1e7) / 1e7; }
  function geometry() {
    var s = shape();
    if (!points.length) { return null; }
    if (s === "point" || s === "circle") { return {type: "Point", coordinates: points[0]}; }
    if (s === "polygon") { return {type: "Polygon", coordinates: [points.concat([points[0]])]}; }
    return {type: "LineString", coordinates: points.slice()};
  }
  function draw() {
    layer.clearLayers();
    var s = shape(), ll = line(points);
    hint.textContent = W["draw_" + s] || "";
    if (!points.length) { return; }
    if (s === "circle") {
      var r = parseFloat(distanceEl.value);
      L.circle(ll[0], {radius: r > 0 ? r : 1, color: "#1f5fa8", weight: 2, fillOpacity: 0.1, interactive: false}).addTo(layer);
    } else if (s === "polygon" && points.length >= 3) {
      L.polygon(ll, {color: "#1f5fa8", weight: 2, fillOpacity: 0.1, interactive: false}).addTo(layer);
    } else if (s !== "point" && points.length >= 2) {
      L.polyline(ll, {color: "#d93025", weight: 4, interactive: false}).addTo(layer);
    }
    // what is drawn takes no clicks: a click on it adds a point as anywhere on the map
    ll.forEach(function (p) { L.circleMarker(p, {radius: 5, color: "#1d2430", fillOpacity: 1, interactive: false}).addTo(layer); });
  }
  function write() { var g = geometry(); text.value = g ? JSON.stringify(g) : ""; draw(); }
  function read() {  // the text (drawn before, pasted, or sent back with a problem) onto the map
    points = [];
    try {
      var g = JSON.parse(text.value);
      if (g.type === "FeatureCollection" && g.features && g.features.length === 1) { g = g.features[0]; }
      if (g.type === "Feature") { g = g.geometry; }
      if (g.type === "Point") { points = [g.coordinates.slice(0, 2)]; }
      else if (g.type === "LineString") { points = g.coordinates.map(function (c) { return c.slice(0, 2); }); }
      else if (g.type === "Polygon") {
        points = g.coordinates[0].map(function (c) { return c.slice(0, 2); });
        if (points.length > 1 && points[0][0] === points[points.length - 1][0] && points[0][1] === points[points.length - 1][1]) { points.pop(); }
      }
    } catch (e) { points = []; }  // not GeoJSON (yet): the server says what is wrong
    draw();
    if (layer.getLayers().length) { map.fitBounds(layer.getBounds(), {padding: [30, 30], maxZoom: 17}); }
  }
  map.on("click", function (e) {
    var p = cgDatum.fromTiles(e.latlng.lat, e.latlng.lng, datum), pair = [round(p[1]), round(p[0])];
    var s = shape();
    if (s === "point" || s === "circle") { points = [pair]; } else { points.push(pair); }
    write();
  });
  document.getElementById("undo").addEventListener("click", function () { points.pop(); write(); });
  document.getElementById("clear").addEventListener("click", function () { points = []; write(); });
  text.addEventListener("change", read);
  if (kindEl) { kindEl.addEventListener("change", function () { if (points.length) { write(); } else { draw(); } }); }
  if (distanceEl) { distanceEl.addEventListener("input", draw); }
  if (context.getLayers().length) { map.fitBounds(context.getBounds(), {padding: [20, 20], maxZoom: 16}); }
  else { map.setView(HOME, 13); }
  read();
})();
