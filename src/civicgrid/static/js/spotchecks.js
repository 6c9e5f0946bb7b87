// The inspector's day: the day's checks on a map (WGS-84, drawn on the tiles' datum).
(function () {
  var el = document.getElementById("map");
  if (!el || !window.L) { return; }
  var W = CG.words || {};
  var map = L.map("map", {zoomControl: false, attributionControl: !!CG.tiles});
  L.control.zoom({zoomInTitle: W.zoom_in, zoomOutTitle: W.zoom_out}).addTo(map);
  el.cgMap = map;
  if (CG.tiles) { L.tileLayer(CG.tiles, {maxZoom: 19, attribution: "map tiles"}).addTo(map); }
  var points = [];
  (CG.checks || []).forEach(function (c) {
    var at = cgDatum.toTiles(c.lat, c.lon, CG.datum);
    points.push(at);
    var link = cgEl("a", {href: "/spotchecks/checks/" + encodeURIComponent(c.id), translate: "no"}, [c.name]);
    L.marker(at, {alt: W.site + " " + c.id, title: W.site + " " + c.id}).addTo(map).bindPopup(link);
  });
  if (points.length) { map.fitBounds(L.latLngBounds(points).pad(0.3), {maxZoom: 16}); }
  else { map.setView([45.72, 126.70], 11); }
})();
