// A vehicle-day's playback: the track (Leaflet simplifies a polyline per zoom), stop markers
// with arrival, departure and duration, the trips and the summary, and a marker that plays the
// day at 1×–20× (1× = one minute of track a second), following the vehicle when asked.
(function () {
  var W = CG.words || {}, id = CG.vehicle, day = CG.day;

  // Fixes are WGS-84; the tiles may be GCJ-02 (datum.js shifts them).
  function gcj(lat, lon) { return cgDatum.toTiles(lat, lon, CG.datum); }
  function hm(iso) { return iso.slice(11, 19); }
  function dur(s) {
    var h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
    return (h ? h + " " + W.unit_h + " " : "") + m + " " + W.unit_min;
  }
  function cell(row, text) { var td = document.createElement("td"); td.textContent = text; row.appendChild(td); }

  var map = L.map("map", {zoomControl: false, zoomSnap: 0.25, attributionControl: !!CG.tiles});
  L.control.zoom({zoomInTitle: W.zoom_in, zoomOutTitle: W.zoom_out}).addTo(map);
  document.getElementById("map").cgMap = map;
  map.setView([45.72, 126.70], 12);
  if (CG.tiles) { L.tileLayer(CG.tiles, {maxZoom: 19, attribution: "map tiles"}).addTo(map); }

  var points = [], marker = null, playing = false, clock = 0, lastFrame = 0, index = 0;
  var seek = document.getElementById("seek"), clockText = document.getElementById("clock");
  var q = "?day=" + encodeURIComponent(day);

  Promise.all([
    fetch("/api/v1/vehicles/" + id + "/track" + q).then(function (r) { return r.json(); }),
    fetch("/api/v1/vehicles/" + id + "/report" + q).then(function (r) { return r.json(); })
  ]).then(function (res) {
    var track = res[0], report = res[1];
    points = track.points.map(function (p) { return {t: p[0], ll: gcj(p[2], p[1]), v: p[3], dir: p[4]}; });
    var summary = document.querySelector("#summary tbody"), s = report.summary;
    [[W.distance, (s.distance_m / 1000).toFixed(2) + " km"], [W.moving, dur(s.moving_s)],
     [W.parked, dur(s.parked_s)], [W.max_speed, s.max_speed_kmh + " km/h"],
     [W.avg_speed, s.average_speed_kmh + " km/h"], [W.trips, s.trips], [W.stops, s.stops],
     [W.fixes, report.fixes]].forEach(function (pair) {
      var tr = document.createElement("tr"); cell(tr, pair[0]); cell(tr, pair[1]); summary.appendChild(tr);
    });
    var trips = document.querySelector("#trips tbody");
    report.trips.forEach(function (t) {
      var tr = document.createElement("tr");
      cell(tr, hm(t.start_time)); cell(tr, t.open ? W.open : hm(t.end_time));
      cell(tr, (t.distance_m / 1000).toFixed(2) + " km"); cell(tr, dur(t.duration_s));
      cell(tr, t.average_speed_kmh); cell(tr, t.max_speed_kmh); trips.appendChild(tr);
    });
    var stops = document.querySelector("#stops tbody");
    report.stops.forEach(function (st, n) {
      var tr = document.createElement("tr");
      cell(tr, hm(st.start_time)); cell(tr, st.open ? W.open : hm(st.end_time)); cell(tr, dur(st.duration_s));
      stops.appendChild(tr);
      var text = W.arrival + " " + hm(st.start_time) + "<br>" + W.departure + " " +
        (st.open ? W.open : hm(st.end_time)) + "<br>" + W.duration + " " + dur(st.duration_s);
      L.circleMarker(gcj(st.lat, st.lon), {radius: 7, color: "#b03030", fillOpacity: 0.8})
        .bindPopup(text).addTo(map).bindTooltip(String(n + 1));
    });
    if (!points.length) { document.getElementById("empty").hidden = false; return; }
    var line = L.polyline(points.map(function (p) { return p.ll; }), {color: "#1f5fa8", weight: 3}).addTo(map);
    map.fitBounds(line.getBounds(), {padding: [20, 20]});
    marker = L.circleMarker(points[0].ll, {radius: 8, color: "#0a7d32", fillOpacity: 1}).addTo(map);
    clock = points[0].t;
    place();
  });

  function place() {
    while (index + 1 < points.length && points[index + 1].t <= clock) { index++; }
    while (index > 0 && points[index].t > clock) { index--; }
    var a = points[index], b = points[Math.min(index + 1, points.length - 1)], ll = a.ll;
    if (b.t > a.t && clock > a.t) {
      var f = Math.min(1, (clock - a.t) / (b.t - a.t));
      ll = [a.ll[0] + (b.ll[0] - a.ll[0]) * f, a.ll[1] + (b.ll[1] - a.ll[1]) * f];
    }
    marker.setLatLng(ll);
    if (document.getElementById("follow").checked && playing) { map.panTo(ll, {animate: false}); }
    var first = points[0].t, last = points[points.length - 1].t;
    seek.value = last > first ? Math.round((clock - first) / (last - first) * 1000) : 0;
    var local = new Date((clock + 8 * 3600) * 1000).toISOString().slice(11, 19);
    clockText.textContent = local + " · " + a.v.toFixed(1) + " km/h";
  }

  function frame(now) {
    if (!playing) { return; }
    var factor = Number(document.getElementById("factor").value);
    var elapsed = lastFrame ? (now - lastFrame) / 1000 : 0;
    lastFrame = now;
    clock += elapsed * 60 * factor;
    // a stretch without fixes (the terminal off) is skipped, not waited through
    if (index + 1 < points.length && points[index + 1].t - points[index].t > 600 && clock > points[index].t + 60) {
      clock = Math.max(clock, points[index + 1].t);
    }
    if (clock >= points[points.length - 1].t) { clock = points[points.length - 1].t; toggle(); }
    place();
    requestAnimationFrame(frame);
  }
  function toggle() {
    if (!points.length) { return; }
    playing = !playing;
    document.getElementById("play").textContent = playing ? W.pause : W.play;
    if (playing) {
      if (clock >= points[points.length - 1].t) { clock = points[0].t; index = 0; }
      lastFrame = 0; requestAnimationFrame(frame);
    }
  }
  document.getElementById("play").addEventListener("click", toggle);
  seek.addEventListener("input", function () {
    if (!points.length) { return; }
    var first = points[0].t, last = points[points.length - 1].t;
    clock = first + (last - first) * seek.value / 1000;
    place();
  });
})();
