(function () {
  var W = CG.words, form = document.getElementById("report");
  var chosen = document.getElementById("category"), message = document.getElementById("message");
  cgCategoryPicker(document.getElementById("cat-search"), document.getElementById("cat-choices"), chosen);
  cgPlacePicker(message);
  var keys = cgReportKey();

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    message.className = ""; message.textContent = "";
    if (!chosen.value) { message.className = "error"; message.textContent = W.need_category; return; }
    var data = new FormData();
    data.append("category", chosen.value);
    ["lon", "lat", "address", "description", "phone"].forEach(function (k) {
      var v = document.getElementById(k).value.trim(); if (v) { data.append(k, v); }
    });
    Array.prototype.forEach.call(document.getElementById("photos").files, function (f) { data.append("photos", f); });
    var key = keys.key(data);
    var button = document.getElementById("submit"); button.disabled = true;
    cgFetch("/api/v1/citizen/reports", {method: "POST", body: data, headers: {"Idempotency-Key": key}})
      .then(function (res) {
        button.disabled = false;
        keys.done();  // answered: the next send is a new report
        if (!res.ok) { message.className = "error"; message.textContent = cgProblem(res.body); return; }
        form.hidden = true;
        document.getElementById("done").hidden = false;
        document.getElementById("done-code").textContent = res.body.code;
        var link = document.getElementById("done-link"), url = cgLocal(res.body.track_url);
        if (url) { link.href = url; link.textContent = location.origin + url; }
      })
      .catch(function () { button.disabled = false; message.className = "error"; message.textContent = W.failed; });
  });
})();
