(function () {
  var map = cgMap("map"), layer = L.layerGroup().addTo(map), timer = null;
  var colours = {green: "#1e8e3e", yellow: "#f2a900", red: "#d93025"};
  function rows(id, items, cells) {
    var tbody = document.querySelector("#" + id + " tbody");
    tbody.replaceChildren.apply(tbody, items.map(function (item) {
      return cgRow(cells(item).map(function (v) { return v == null ? "—" : v; }));
    }));
  }
  function load() {
    fetch("/api/v1/command/summary").then(function (r) { return r.json(); }).then(function (d) {
      ["reported", "registered", "closed", "open", "yellow", "red"].forEach(function (k) {
        document.getElementById("c-" + k).textContent = d.today[k];
      });
      document.getElementById("clock").textContent = d.now.slice(0, 16).replace("T", " ");
      layer.clearLayers();
      d.cases.forEach(function (c) {
        if (c.lat == null) { return; }
        L.circleMarker([c.lat, c.lon], {radius: 4, color: colours[c.light] || "#5f6b7a", fillOpacity: 0.8}).addTo(layer);
      });
      rows("latest", d.latest, function (c) { return [c.code, c.state_zh, (c.address || "").slice(0, 16)]; });
      rows("ranking", d.ranking, function (r) { return [r.rank, r.name, r.composite == null ? null : r.composite.toFixed(1), r.grade]; });
    });
  }
  function soon() { if (!timer) { timer = setTimeout(function () { timer = null; load(); }, 500); } }
  load();
  var live = document.getElementById("live");
  var source = new EventSource("/api/v1/command/stream");
  source.addEventListener("case", function () { live.className = "ok"; soon(); });
  source.onerror = function () { live.className = "error"; };
  setInterval(load, 60000);
})();
