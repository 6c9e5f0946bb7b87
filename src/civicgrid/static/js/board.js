(function () {
  var map = cgMap("map"), layer = L.layerGroup().addTo(map);
  var colours = {green: "#1e8e3e", yellow: "#f2a900", red: "#d93025"};
  function popup(c) {  // an element, not HTML: the code is text
    return cgEl("a", {href: "/console/cases/" + encodeURIComponent(c.code)}, [c.code]);
  }
  function refresh() {
    fetch("/api/v1/board").then(function (r) { return r.json(); }).then(function (d) {
      layer.clearLayers();
      d.cases.forEach(function (c) {
        if (c.lat == null) { return; }
        L.circleMarker([c.lat, c.lon], {radius: 5, color: colours[c.light] || "#5f6b7a", fillOpacity: 0.8})
          .bindPopup(popup(c)).addTo(layer);
      });
      var tbody = document.querySelector("#streets tbody");
      tbody.replaceChildren.apply(tbody, d.streets.map(function (s) {
        return cgRow([s.name, s.green, s.yellow, s.red, s.none, s.total], "td", [0]);
      }));
      var sum = {green: 0, yellow: 0, red: 0, none: 0, total: 0};
      d.streets.forEach(function (s) { Object.keys(sum).forEach(function (k) { sum[k] += s[k]; }); });
      var tfoot = document.querySelector("#streets tfoot");
      tfoot.replaceChildren(cgRow([tfoot.dataset.label, sum.green, sum.yellow, sum.red, sum.none, sum.total], "th"));
    });
  }
  refresh();
  setInterval(refresh, 30000);
})();
