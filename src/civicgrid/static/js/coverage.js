// A unit's day of sanitation work on the map: each road coloured by its coverage (red under
// 60 %, yellow under 90 %, green above), each collection point by its state, the geofences
// outlined. Everything is WGS-84 and drawn on the tiles' datum (datum.js).
(function () {
  var W = CG.words || {};
  function at(lat, lon) { return cgDatum.toTiles(lat, lon, CG.datum); }
  function line(coords) { return coords.map(function (c) { return at(c[1], c[0]); }); }
  var map = L.map("map", {zoomControl: false, zoomSnap: 0.25, attributionControl: !!CG.tiles});
  L.control.zoom({zoomInTitle: W.zoom_in, zoomOutTitle: W.zoom_out}).addTo(map);
  document.getElementById("map").cgMap = map;
  if (CG.tiles) { L.tileLayer(CG.tiles, {maxZoom: 19, attribution: "map tiles"}).addTo(map); }
  var drawn = L.featureGroup().addTo(map);
  Object.keys(CG.roads || {}).forEach(function (code) {
    var share = (CG.coverage || {})[code] || 0;
    var colour = share >= 0.9 ? "#1e8e3e" : share >= 0.6 ? "#f2a900" : "#d93025";
    L.polyline(line(CG.roads[code]), {color: colour, weight: 6, opacity: 0.85})
      .bindTooltip(code + " · " + (share * 100).toFixed(1) + "%").addTo(drawn);
  });
  var colours = {served: "#1e8e3e", missed: "#d93025", open: "#6b7480"};
  (CG.points || []).forEach(function (p) {
    L.circleMarker(at(p.lat, p.lon), {radius: 8, color: colours[p.state], fillOpacity: 0.9})
      .bindTooltip(p.name + " · " + (W["state_" + p.state] || p.state)).addTo(drawn);
  });
  (CG.fences || []).forEach(function (f) {
    var style = {color: "#1f5fa8", weight: 2, fill: f.kind !== "line", fillOpacity: 0.08};
    if (f.kind === "circle") {
      L.circle(at(f.coordinates[0][1], f.coordinates[0][0]), Object.assign({radius: f.distance_m}, style)).addTo(drawn);
    } else if (f.kind === "polygon") {
      L.polygon(line(f.coordinates), style).addTo(drawn);
    } else {
      L.polyline(line(f.coordinates), {color: "#1f5fa8", weight: 2, dashArray: "6 4"}).addTo(drawn);
    }
  });
  if (drawn.getLayers().length) { map.fitBounds(drawn.getBounds(), {padding: [20, 20]}); }
  else { map.setView([45.72, 126.70], 12); }
})();
