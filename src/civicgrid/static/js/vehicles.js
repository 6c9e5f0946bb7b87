// The fleet page: an administrator registers a vehicle or imports a workbook (the JSON API).
(function () {
  var W = CG.words || {};
  function show(el, text) { el.textContent = text; }
  var add = document.getElementById("add-vehicle");
  if (add) {
    add.addEventListener("submit", function (e) {
      e.preventDefault();
      var f = new FormData(add), body = {plate: f.get("plate"), type: f.get("type"), unit: f.get("unit")};
      if (f.get("capacity_m3")) { body.capacity_m3 = Number(f.get("capacity_m3")); }
      var out = document.getElementById("add-result");
      fetch("/api/v1/vehicles", {method: "POST", headers: {"Content-Type": "application/json"},
                                 body: JSON.stringify(body)})
        .then(function (r) { return r.json().then(function (d) { return [r.ok, d]; }); })
        .then(function (res) {
          if (res[0]) { show(out, W.saved + ": " + res[1].plate); setTimeout(function () { location.reload(); }, 600); }
          else { show(out, W.failed + ": " + cgProblem(res[1])); }
        });
    });
  }
  var imp = document.getElementById("import-vehicles");
  if (imp) {
    imp.addEventListener("submit", function (e) {
      e.preventDefault();
      var out = document.getElementById("import-result");
      fetch("/api/v1/vehicles/import", {method: "POST", body: new FormData(imp)})
        .then(function (r) { return r.json().then(function (d) { return [r.ok, d]; }); })
        .then(function (res) {
          var d = res[1];
          if (res[0]) { show(out, W.saved + ": " + d.vehicles + " / " + d.trackers); return; }
          var lines = [W.failed + ": " + cgProblem(d)];
          (d.problems || []).forEach(function (p) { lines.push("#" + p.index + " " + (p.code || "") + " " + p.reason); });
          show(out, lines.join("\n"));
        });
    });
  }
})();
