// Live positions of the fleet on a map page (/command, /board): each active tracker's last
// fix, coloured by vehicle type, with its plate and how long ago it was seen. Polled every
// 30 s; the map is the page's own (map.js keeps it on its element as cgMap).
(function () {
  var el = document.getElementById("map");
  if (!el || !el.cgMap || !window.fetch) { return; }
  var map = el.cgMap, layer = L.layerGroup().addTo(map);
  var en = document.documentElement.lang === "en";
  var colours = {garbage_truck: "#7a4f01", sprinkler: "#1c7ed6", sweeper: "#2b8a3e",
                 snow_plough: "#5f3dc4", snow_hauler: "#862e9c", enforcement: "#c92a2a"};
  function ago(iso) {
    var minutes = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 60000));
    if (minutes < 60) { return minutes + (en ? " min ago" : " 分钟前"); }
    if (minutes < 1440) { return Math.floor(minutes / 60) + (en ? " h ago" : " 小时前"); }
    return Math.floor(minutes / 1440) + (en ? " d ago" : " 天前");
  }
  function load() {
    fetch("/api/v1/vehicles/live").then(function (r) { return r.ok ? r.json() : []; })
      .then(function (items) {
        layer.clearLayers();
        items.forEach(function (v) {
          var stale = Date.now() - Date.parse(v.time) > 30 * 60000;
          var label = (v.plate || v.terminal_id) + " · " + (v.type_name || (en ? "person" : "人员")) +
            " · " + ago(v.time);
          L.circleMarker([v.lat, v.lon], {radius: 6, weight: 2, color: "#fff",
            fillColor: colours[v.type] || "#495057", fillOpacity: stale ? 0.35 : 0.95})
            .bindTooltip(label).addTo(layer);
        });
      });
  }
  load();
  setInterval(load, 30000);
})();
