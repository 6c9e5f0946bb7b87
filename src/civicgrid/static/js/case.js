(function () {
  var form = document.getElementById("act"), message = document.getElementById("message");
  var el = document.getElementById("map");
  var lat = parseFloat(el.dataset.lat), lon = parseFloat(el.dataset.lon);
  var map = cgMap("map", {keepView: !isNaN(lat)});
  if (!isNaN(lat)) { L.circleMarker([lat, lon], {radius: 8, color: "#d93025"}).addTo(map); map.setView([lat, lon], 16); }
  if (!form) { return; }
  var action = null, fields = document.getElementById("fields");
  var needs = {dispatch: ["unit"], extend_request: ["until"], rate: ["score"], relocate: ["place"],
               report_done: ["photos"], verify_pass: ["photos"], verify_fail: ["photos"]};
  // 定位: a tap on the map chooses the case's new place (WGS-84, as the outlines are drawn)
  var chosen = null, pin = null;
  map.on("click", function (e) {
    if (action !== "relocate") { return; }
    chosen = {lon: Math.round(e.latlng.lng * 1e7) / 1e7, lat: Math.round(e.latlng.lat * 1e7) / 1e7};
    if (pin) { pin.setLatLng(e.latlng); } else { pin = L.marker(e.latlng, {alt: (CG.words || {}).map_pin}).addTo(map); }
    document.getElementById("place").textContent = chosen.lon.toFixed(6) + ", " + chosen.lat.toFixed(6);
  });
  Array.prototype.forEach.call(form.querySelectorAll("[data-action]"), function (b) {
    b.onclick = function () {
      action = b.dataset.action;
      Array.prototype.forEach.call(form.querySelectorAll("[data-action]"), function (x) { x.className = x === b ? "on" : ""; });
      fields.hidden = false;
      ["unit", "until", "score", "photos", "place"].forEach(function (f) {
        document.getElementById("f-" + f).hidden = (needs[action] || []).indexOf(f) < 0;
      });
      document.getElementById("note").focus();
    };
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (!action) { return; }
    message.className = ""; message.textContent = "";
    var W = CG.words || {};
    if (action === "rate" && !(parseInt(document.getElementById("score").value, 10) >= 1)) {
      message.className = "error"; message.textContent = W.need_score; return;
    }
    var code = form.dataset.code, url = "/api/v1/cases/" + encodeURIComponent(code) + "/" + action.replace(/_/g, "-");
    var note = document.getElementById("note").value, req;
    var pub = document.getElementById("public").checked;  // 公开: the citizen sees this note
    if (["report_done", "verify_pass", "verify_fail"].indexOf(action) >= 0) {
      var data = new FormData(); data.append("note", note); data.append("version", form.dataset.version);
      data.append("public", pub ? "true" : "false");
      Array.prototype.forEach.call(document.getElementById("act-photos").files, function (f) { data.append("photos", f); });
      req = {method: "POST", body: data};
    } else {
      var body = {note: note, public: pub, version: parseInt(form.dataset.version, 10)};
      var unit = document.getElementById("unit").value; if (action === "dispatch" && unit) { body.unit = unit; }
      var until = document.getElementById("until").value;
      if (action === "extend_request" && until) { body.until = until + ":00+08:00"; }
      var score = parseInt(document.getElementById("score").value, 10); if (action === "rate") { body.score = score; }
      if (action === "relocate" && chosen) { body.lon = chosen.lon; body.lat = chosen.lat; }
      req = {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
    }
    cgFetch(url, req)
      .then(function (res) {
        if (res.ok) { location.reload(); return; }
        message.className = "error"; message.textContent = cgProblem(res.body);
      })
      .catch(function () { message.className = "error"; message.textContent = cgProblem(null); });
  });
})();
