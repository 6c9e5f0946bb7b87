// The public map of reports (/reports, /reports/{code}): each case of the page's list (CG.cases,
// WGS-84) as a point linking its public page; the view fits them.
(function () {
  var cases = (CG.cases || []).filter(function (c) { return c.lat != null && c.lon != null; });
  var map = cgMap("map", {keepView: cases.length > 0});
  var layer = L.featureGroup().addTo(map);
  cases.forEach(function (c) {
    var closed = c.state === "closed";
    L.circleMarker([c.lat, c.lon], {radius: 7, weight: 2, color: closed ? "#2a7d6f" : "#b3261e", fillOpacity: 0.4})
      .bindTooltip(c.code).on("click", function () { var u = cgLocal(c.url); if (u) { location.href = u; } })
      .addTo(layer);
  });
  if (cases.length === 1) { map.setView([cases[0].lat, cases[0].lon], 16); }
  else if (cases.length) { map.fitBounds(layer.getBounds().pad(0.2), {maxZoom: 16}); }
  document.getElementById("map").dataset.points = cases.length;
})();
