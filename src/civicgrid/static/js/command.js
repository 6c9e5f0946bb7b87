(function () {
  var map = cgMap("map"), layer = L.layerGroup().addTo(map), timer = null;
  var colours = {green: "#1e8e3e", yellow: "#f2a900", red: "#d93025"};
  function rows(id, items, cells, data) {
    var tbody = document.querySelector("#" + id + " tbody");
    tbody.replaceChildren.apply(tbody, items.map(function (item) {
      return cgRow(cells(item).map(function (v) { return v == null ? "—" : v; }), "td", data);
    }));
  }
  var W = CG.words || {};
  // "剩 2 小时 5 分" / "超时 40 分" from milliseconds, as the console shows it
  function left(ms) {
    var m = Math.floor(Math.abs(ms) / 60000), d = Math.floor(m / 1440), h = Math.floor(m / 60) % 24;
    var parts = [[d, W.unit_day], [h, W.unit_hour], [m % 60, W.unit_minute]]
      .filter(function (p) { return p[0]; }).slice(0, 2)
      .map(function (p) { return p[0] + " " + p[1]; });
    return (ms >= 0 ? W.time_left : W.time_over).replace("{t}", parts.join(" ") || "0 " + W.unit_minute);
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
      var now = Date.parse(d.now);
      rows("latest", d.latest, function (c) {
        return [c.code, W["state_" + c.state] || c.state, (c.address || "").slice(0, 16), c.light && c.deadline ? left(Date.parse(c.deadline) - now) : null];
      }, [2]);
      rows("ranking", d.ranking, function (r) { return [r.rank, r.name, r.composite == null ? null : r.composite.toFixed(1), r.grade]; }, [1]);
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
