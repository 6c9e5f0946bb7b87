// A Leaflet map of the district. Tiles only when a tile URL is set; without tiles (a closed
// network) the district and street outlines are drawn on a plain background.
window.cgMap = function (id, opts) {
  opts = opts || {};
  var W = CG.words || {};
  var map = L.map(id, {zoomControl: false, zoomSnap: 0.25, attributionControl: !!CG.tiles});
  L.control.zoom({zoomInTitle: W.zoom_in, zoomOutTitle: W.zoom_out}).addTo(map);
  document.getElementById(id).cgMap = map;  // for the browser tests: where a place is on screen
  map.setView([45.72, 126.70], 11);
  if (CG.tiles) {
    L.tileLayer(CG.tiles, {maxZoom: 19, attribution: "map tiles"}).addTo(map);
  }
  fetch("/api/v1/geo/areas.geojson?level=street&simplify=0.0005")
    .then(function (r) { return r.json(); })
    .then(function (data) {
      var layer = L.geoJSON(data, {style: {color: "#1f5fa8", weight: 1.5, fillOpacity: 0.04}})
        .addTo(map);
      if (!opts.keepView && layer.getBounds().isValid()) { map.fitBounds(layer.getBounds()); }
      if (opts.onOutline) { opts.onOutline(layer); }
    });
  return map;
};
