// Overlays on the tiles' datum: positions are WGS-84; GCJ-02 tiles (AMap, Tencent) need them
// shifted (the public algorithm, as geo/datum.py computes it on the server).
var cgDatum = (function () {
  function gcj02(lat, lon) {
    if (lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271) { return [lat, lon]; }
    var a = 6378245.0, ee = 0.00669342162296594323, x = lon - 105.0, y = lat - 35.0;
    var dLat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    dLat += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    dLat += (20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin(y / 3.0 * Math.PI)) * 2.0 / 3.0;
    dLat += (160.0 * Math.sin(y / 12.0 * Math.PI) + 320 * Math.sin(y * Math.PI / 30.0)) * 2.0 / 3.0;
    var dLon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    dLon += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    dLon += (20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin(x / 3.0 * Math.PI)) * 2.0 / 3.0;
    dLon += (150.0 * Math.sin(x / 12.0 * Math.PI) + 300.0 * Math.sin(x / 30.0 * Math.PI)) * 2.0 / 3.0;
    var rad = lat / 180.0 * Math.PI, magic = Math.sin(rad);
    magic = 1 - ee * magic * magic;
    var sq = Math.sqrt(magic);
    dLat = (dLat * 180.0) / ((a * (1 - ee)) / (magic * sq) * Math.PI);
    dLon = (dLon * 180.0) / (a / sq * Math.cos(rad) * Math.PI);
    return [lat + dLat, lon + dLon];
  }
  // [lat, lon] for Leaflet, on tiles of `datum` ("wgs84" or "gcj02")
  function toTiles(lat, lon, datum) { return datum === "gcj02" ? gcj02(lat, lon) : [lat, lon]; }
  // the inverse: a point clicked on the tiles back to WGS-84 (a few fixed-point steps, well
  // under a metre)
  function fromTiles(lat, lon, datum) {
    if (datum !== "gcj02") { return [lat, lon]; }
    var p = [lat, lon];
    for (var i = 0; i < 4; i++) { var t = gcj02(p[0], p[1]); p = [p[0] - (t[0] - lat), p[1] - (t[1] - lon)]; }
    return p;
  }
  return {toTiles: toTiles, fromTiles: fromTiles};
})();
