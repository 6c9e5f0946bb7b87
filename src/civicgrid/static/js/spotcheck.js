// One spot check: every change is saved at once, and kept on the phone (localStorage) until the
// server has it, so that nothing entered is lost on a bad connection (sent again when online).
(function () {
  var W = CG.words || {}, id = CG.check, base = "/api/v1/spotchecks/checks/" + encodeURIComponent(id);
  var KEY = "cg-spot-queue", status = document.getElementById("status");
  if (CG.done || !document.getElementById("entries")) { return; }
  function say(text) { if (status) { status.textContent = text; } }
  function queue() { try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; } }
  function keep(q) { try { localStorage.setItem(KEY, JSON.stringify(q)); } catch (e) { /* full: the send still runs */ } }
  // what waits for the queue to be empty (the finish), run once everything has been sent
  var busy = false, waiting = [];
  function drained() { var w = waiting; waiting = []; w.forEach(function (f) { f(); }); }
  function flush(then) {
    if (then) { waiting.push(then); }
    if (busy) { return; }
    var q = queue();
    if (!q.length) { drained(); return; }
    busy = true;
    say(W.saving);
    var op = q[0];
    cgFetch(op.url, {method: op.method, headers: {"Content-Type": "application/json"}, body: JSON.stringify(op.body)})
      .then(function (res) {
        busy = false;
        var rest = queue().slice(1);
        keep(rest);
        if (!res.ok) { waiting = []; say(W.failed + ": " + cgProblem(res.body)); return; }
        if (rest.length) { flush(); } else { say(W.saved); drained(); }
      }, function () { busy = false; waiting = []; say(W.queued); });
  }
  function send(url, method, body) {
    var q = queue();
    q.push({url: url, method: method, body: body});
    keep(q);
    flush();
  }
  window.addEventListener("online", function () { flush(); });
  setInterval(function () { if (queue().length) { flush(); } }, 15000);
  flush();

  var mine = (CG.entries || {})[CG.me] || {};
  Array.prototype.forEach.call(document.querySelectorAll("#entries input"), function (input) {
    if (input.dataset.side) {
      var v = (mine[input.dataset.side] || {})[input.dataset.item];
      if (v !== undefined) { input.value = v; }
    } else if (input.dataset.point) {
      var p = ((CG.entries || {}).points || [])[Number(input.dataset.point)];
      if (p !== undefined && p !== null) { input.value = p; }
    }
    // sent as it is typed (after a short pause), and on leaving the field if not sent yet
    var timer = null, sent = input.value;
    function save() {
      clearTimeout(timer);
      if (input.value === "" || input.value === sent) { return; }
      if (!input.checkValidity()) { input.reportValidity(); say(W.out_of_range); return; }
      sent = input.value;
      var value = Number(input.value), body;
      if (input.dataset.side) {
        var side = {}; side[input.dataset.item] = value;
        body = {sides: {}}; body.sides[input.dataset.side] = side;
      } else {
        var points = []; points[Number(input.dataset.point)] = value;
        for (var i = 0; i < points.length; i++) { if (points[i] === undefined) { points[i] = null; } }
        body = {points: points};
      }
      send(base + "/entries", "PUT", body);
    }
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(save, 500); });
    input.addEventListener("change", save);
  });

  document.getElementById("arrive").addEventListener("click", function () {
    if (!navigator.geolocation) { say(W.no_gps); return; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      send(base + "/arrival", "POST", {lon: pos.coords.longitude, lat: pos.coords.latitude,
                                       at: new Date().toISOString()});
      document.getElementById("arrived").textContent = W.arrived;
    }, function () { say(W.no_gps); }, {enableHighAccuracy: true, timeout: 20000});
  });

  var weather = document.getElementById("weather");
  weather.addEventListener("submit", function (e) {
    e.preventDefault();
    var f = new FormData(weather);
    send(base + "/weather", "PUT", {rain: f.get("rain") === "on", snow: f.get("snow") === "on",
      wind_force: Number(f.get("wind_force") || 0), humidity: Number(f.get("humidity") || 0)});
  });

  var photo = document.getElementById("photo");
  photo.addEventListener("submit", function (e) {
    e.preventDefault();
    say(W.saving);
    cgFetch(base + "/photos", {method: "POST", body: new FormData(photo)}).then(function (res) {
      if (!res.ok) { say(W.failed + ": " + cgProblem(res.body)); return; }
      document.getElementById("photo-count").textContent = res.body.photos.length;
      photo.reset();
      say(W.saved);
    }, function () { say(W.failed); });
  });

  document.getElementById("finish").addEventListener("click", function () {
    flush(function () {
      // the answer beside the button (the page is long on a phone)
      var there = document.getElementById("finish-status");
      cgFetch(base + "/finish", {method: "POST"}).then(function (res) {
        if (!res.ok) { there.textContent = W.finish_failed + ": " + cgProblem(res.body); return; }
        location.reload();
      }, function () { there.textContent = W.queued; });
    });
  });
})();
