(function () {
  var form = document.getElementById("bulk"), message = document.getElementById("bulk-message");
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var codes = Array.prototype.map.call(form.querySelectorAll("input[name=code]:checked"), function (x) { return x.value; });
    if (!codes.length) { return; }
    Promise.all(codes.map(function (code) {
      return cgFetch("/api/v1/cases/" + encodeURIComponent(code) + "/dispatch", {method: "POST",
        headers: {"Content-Type": "application/json"}, body: "{}"})
        .then(function (res) { return res.ok ? null : code + ": " + cgProblem(res.body); },
              function () { return code + ": " + cgProblem(null); });
    })).then(function (errors) {
      errors = errors.filter(Boolean);
      if (errors.length) { message.className = "error"; message.textContent = errors.join("; "); }
      else { location.reload(); }
    });
  });
})();
