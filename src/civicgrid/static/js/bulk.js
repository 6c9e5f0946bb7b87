(function () {
  var form = document.getElementById("bulk"), message = document.getElementById("bulk-message");
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var codes = Array.prototype.map.call(form.querySelectorAll("input[name=code]:checked"), function (x) { return x.value; });
    if (!codes.length) { return; }
    Promise.all(codes.map(function (code) {
      return fetch("/api/v1/cases/" + encodeURIComponent(code) + "/dispatch", {method: "POST",
        headers: {"Content-Type": "application/json"}, body: "{}"})
        .then(function (r) { return r.ok ? null : r.json().then(function (b) { return code + ": " + b.detail; }); });
    })).then(function (errors) {
      errors = errors.filter(Boolean);
      if (errors.length) { message.className = "error"; message.textContent = errors.join("; "); }
      else { location.reload(); }
    });
  });
})();
