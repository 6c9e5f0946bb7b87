// A Leaflet map of the district. The base map is the setting's (#cg-map: an XYZ URL template,
// or this site's /tiles/ for a local source) in EPSG:3857 on its datum; without tiles (a closed
// network with no local source) the outlines are drawn on a plain background.
//
// Positions are WGS-84 everywhere in the pages. The map's CRS takes WGS-84 and projects it on
// the tiles' datum (GCJ-02 for AMap: datum.js shifts it), so every overlay (outlines, case
// points, the pin) lands on its place in the tiles, and a tap's e.latlng comes back as WGS-84.
//
// At street zoom the map also draws the communities and grids with their names and the unit
// responsible (/api/v1/geo/map.geojson). For tests and scripts the element tells where it is:
// data-tiles="loaded", data-outlines="drawn", data-areas="drawn" (or "none" below street zoom).
(function () {
  var block = document.getElementById("cg-map");
  var SOURCE = block ? JSON.parse(block.textContent) : {};
  if (!SOURCE.tiles && window.CG && CG.tiles) { SOURCE.tiles = CG.tiles; }
  var AREA_ZOOM = 14, GRID_ZOOM = 15, GRID_LABEL_ZOOM = 16, COMMUNITY_LABEL_MAX = 16;

  // EPSG:3857 whose projection first moves WGS-84 onto the tiles' datum
  function crsFor(datum) {
    if (datum !== "gcj02") { return L.CRS.EPSG3857; }
    var sm = L.Projection.SphericalMercator;
    return L.extend({}, L.CRS.EPSG3857, {
      projection: {
        R: sm.R, MAX_LATITUDE: sm.MAX_LATITUDE, bounds: sm.bounds,
        project: function (ll) {
          var t = cgDatum.toTiles(ll.lat, ll.lng, datum);
          return sm.project(L.latLng(t[0], t[1]));
        },
        unproject: function (p) {
          var ll = sm.unproject(p), w = cgDatum.fromTiles(ll.lat, ll.lng, datum);
          return L.latLng(w[0], w[1]);
        }
      }
    });
  }

  function label(feature) {
    var p = feature.properties, unit = p.unit && p.unit.name;
    var el = cgEl("span", {translate: "no"}, [p.name]);
    if (unit && unit !== p.name) { el.appendChild(cgEl("small", {}, [unit])); }
    return el;
  }

  // Whether [lon, lat] lies in a GeoJSON Polygon or MultiPolygon (ray casting; holes out).
  function inRing(lon, lat, ring) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > lat) !== (yj > lat) && lon < (xj - xi) * (lat - yi) / (yj - yi) + xi) { inside = !inside; }
    }
    return inside;
  }
  function contains(geometry, lon, lat) {
    var polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
    return polygons.some(function (rings) {
      return inRing(lon, lat, rings[0]) && !rings.slice(1).some(function (h) { return inRing(lon, lat, h); });
    });
  }
  // Whether a drawn area is large enough on the screen to carry its name (LABEL_PX: width,
  // height in pixels).
  var LABEL_PX = [96, 36];
  function roomy(map, layer) {
    var b = layer.getBounds();
    var a = map.latLngToContainerPoint(b.getNorthWest()), c = map.latLngToContainerPoint(b.getSouthEast());
    return Math.abs(c.x - a.x) >= LABEL_PX[0] && Math.abs(c.y - a.y) >= LABEL_PX[1];
  }
  var GRID_STYLE = {color: "#2a7d6f", weight: 1, fill: false};
  var FOCUS_STYLE = {color: "#0b5d4f", weight: 3.5, fill: false};

  // The communities and grids of the view, redrawn after each move at street zoom and above;
  // the grid holding the map's place (a case's point, the last tap or search) drawn bold.
  function areas(map, el) {
    map.createPane("cgLabels");  // above the outlines, below the pins
    var shapes = L.layerGroup().addTo(map), names = L.layerGroup().addTo(map), asked = 0, timer = null;
    var grids = [], place = isNaN(parseFloat(el.dataset.lat)) ? null
      : {lon: parseFloat(el.dataset.lon), lat: parseFloat(el.dataset.lat)};
    function focus() {
      grids.forEach(function (g) {
        var on = place && contains(g.feature.geometry, place.lon, place.lat);
        g.layer.setStyle(on ? FOCUS_STYLE : GRID_STYLE);
        var path = g.layer.getLayers()[0] && g.layer.getLayers()[0].getElement();
        if (path) { path.classList.toggle("cg-grid-focus", !!on); }
      });
    }
    map.on("click", function (e) { place = {lon: e.latlng.lng, lat: e.latlng.lat}; focus(); });
    function refresh() {
      var zoom = map.getZoom(), b = map.getBounds(), mine = ++asked;
      if (zoom < AREA_ZOOM || b.getEast() - b.getWest() > 0.5 || b.getNorth() - b.getSouth() > 0.5) {
        shapes.clearLayers(); names.clearLayers(); el.dataset.areas = "none"; return;
      }
      el.dataset.areas = "loading";
      var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); });
      cgFetch("/api/v1/geo/map.geojson?" + new URLSearchParams({bbox: bbox.join(",")}))
        .then(function (res) {
          if (mine !== asked) { return; }
          shapes.clearLayers(); names.clearLayers(); grids = [];
          (res.ok ? res.body.features : []).forEach(function (f) {
            var p = f.properties, grid = p.level === "grid";
            if (grid && zoom < GRID_ZOOM) { return; }
            var layer = L.geoJSON(f, {interactive: false, style: grid ? GRID_STYLE
              : {color: "#7a4fa3", weight: 1.5, dashArray: "5 4", fill: false}}).addTo(shapes);
            if (grid) { grids.push({feature: f, layer: layer}); }
            // a name only where it can be read: its area is wide enough on the screen for it
            // (a district's small grids would bury the map in names), or it holds the place
            var held = grid && place && contains(f.geometry, place.lon, place.lat);
            if ((grid ? zoom >= GRID_LABEL_ZOOM : zoom < COMMUNITY_LABEL_MAX) && (held || roomy(map, layer))) {
              // a marker of text (gone at once when cleared; a tooltip fades out)
              var icon = L.divIcon({className: "cg-area-label cg-area-" + p.level, html: label(f), iconSize: null});
              L.marker([p.label[1], p.label[0]], {icon: icon, pane: "cgLabels", interactive: false, keyboard: false})
                .addTo(names);
            }
          });
          focus();
          el.dataset.areas = "drawn";
        })
        .catch(function () { if (mine === asked) { el.dataset.areas = "failed"; } });
    }
    map.on("moveend", function () { clearTimeout(timer); timer = setTimeout(refresh, 120); });
  }

  window.cgMapSource = SOURCE;
  window.cgMap = function (id, opts) {
    opts = opts || {};
    var W = CG.words || {}, el = document.getElementById(id);
    var map = L.map(id, {crs: crsFor(SOURCE.datum), zoomControl: false, zoomSnap: 0.25,
                         maxZoom: SOURCE.max_zoom || 18, attributionControl: !!SOURCE.tiles});
    L.control.zoom({zoomInTitle: W.zoom_in, zoomOutTitle: W.zoom_out}).addTo(map);
    el.cgMap = map;  // for the browser tests and other scripts: where a place is on screen
    el.dataset.datum = SOURCE.datum || "wgs84";
    areas(map, el);
    map.setView([45.72, 126.70], 11);
    if (SOURCE.tiles) {
      L.tileLayer(SOURCE.tiles, {maxZoom: SOURCE.max_zoom || 18, subdomains: SOURCE.subdomains || "abc",
                                 attribution: "map tiles"})
        .on("loading", function () { el.dataset.tiles = "loading"; })
        .on("load", function () { el.dataset.tiles = "loaded"; })
        .addTo(map);
    }
    fetch("/api/v1/geo/areas.geojson?level=street&simplify=0.0005")
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var layer = L.geoJSON(data, {style: {color: "#1f5fa8", weight: 1.5, fillOpacity: 0.04}})
          .addTo(map);
        // not animated: the view is final when data-outlines says "drawn"
        if (!opts.keepView && layer.getBounds().isValid()) { map.fitBounds(layer.getBounds(), {animate: false}); }
        if (opts.onOutline) { opts.onOutline(layer); }
        el.dataset.outlines = "drawn";
      });
    return map;
  };
})();
