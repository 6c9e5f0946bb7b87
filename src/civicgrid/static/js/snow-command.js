// The command centre's snow layout (during a snow event): the event's sections on the big
// screen's map coloured by their clearing light, and its dumping fields by their fill. The
// trucks are fleet-live.js's markers.
(function () {
  var snow = CG.snow, el = document.getElementById("map"), W = CG.words || {};
  if (!snow || !el) { return; }
  function draw() {
    var map = el.cgMap;
    if (!map) { setTimeout(draw, 100); return; }
    var colours = {done: "#1f5fa8", green: "#1e8e3e", yellow: "#f2a900", red: "#d93025", grey: "#9aa3ad"};
    var layer = L.featureGroup().addTo(map);
    snow.sections.forEach(function (s) {
      L.polyline(s.coordinates.map(function (c) { return [c[1], c[0]]; }),
        {color: colours[s.clear] || "#9aa3ad", weight: 5, opacity: 0.9})
        .bindTooltip(s.name + " · " + (W["snow_light_" + s.clear] || s.clear)).addTo(layer);
    });
    snow.fields.forEach(function (f) {
      var colour = f.percent >= 95 ? "#d93025" : f.percent >= 80 ? "#f2a900" : "#1f5fa8";
      L.polygon(f.polygon.map(function (c) { return [c[1], c[0]]; }), {color: colour, weight: 2, fillOpacity: 0.2})
        .bindTooltip(f.name + " · " + f.percent + "%").addTo(layer);
    });
    if (layer.getLayers().length) { map.fitBounds(layer.getBounds(), {padding: [20, 20]}); }
  }
  draw();
})();
