(function () {
  var map = cgMap("map"), layer = L.layerGroup().addTo(map);
  var colours = {green: "#1e8e3e", yellow: "#f2a900", red: "#d93025"};
  function refresh() {
    fetch("/api/v1/board").then(function (r) { return r.json(); }).then(function (d) {
      layer.clearLayers();
      d.cases.forEach(function (c) {
        if (c.lat == null) { return; }
        L.circleMarker([c.lat, c.lon], {radius: 5, color: colours[c.light] || "#5f6b7a", fillOpacity: 0.8})
          .bindPopup('<a href="/console/cases/' + c.code + '">' + c.code + "</a>").addTo(layer);
      });
      var tbody = document.querySelector("#streets tbody"); tbody.innerHTML = "";
      d.streets.forEach(function (s) {
        var tr = document.createElement("tr");
        [s.name, s.green, s.yellow, s.red, s.total].forEach(function (v) {
          var td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
        });
        tbody.appendChild(tr);
      });
    });
  }
  refresh();
  setInterval(refresh, 30000);
})();
