// The administrators' people pages: each form sends JSON to its route (data-url, data-method)
// and shows the answer's sentence; a list field (data-list) is split at commas and spaces,
// the checked roles are a list. No HTML is built from strings (CSP, cg.js's rule).
(function () {
  var words = JSON.parse(document.getElementById("cg-data").textContent);
  function show(box, ok, text) {
    box.className = "msg " + (ok ? "ok" : "error");
    box.textContent = text;
  }
  function body(form) {
    var out = {}, roles = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name) { return; }
      if (el.type === "checkbox") { if (el.checked) { roles.push(el.value); } return; }
      var value = el.value.trim();
      if (el.dataset.list) {
        out[el.name] = value ? value.split(/[\s,，、;]+/).filter(Boolean) : [];
      } else if (value !== "" || el.dataset.keepEmpty) {
        out[el.name] = value;
      }
    });
    if (form.querySelector("input[type=checkbox][name=roles]")) { out.roles = roles; }
    return out;
  }
  Array.prototype.forEach.call(document.querySelectorAll("form.people-form"), function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var box = form.querySelector(".msg");
      var sent = body(form);
      // the refusal's sentence in the page's language (kit.errors' message {zh, en})
      cgFetch(form.dataset.url, {
        method: form.dataset.method,
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify(sent)
      })
        .then(function (res) {
          if (!res.ok) { show(box, false, words.failed + ": " + cgProblem(res.body)); return; }
          show(box, true, words.saved);
          var next = form.dataset.then ? form.dataset.then + encodeURIComponent(res.body.username) : null;
          setTimeout(function () { if (next) { location.href = next; } else { location.reload(); } }, 600);
        })
        .catch(function () { show(box, false, words.failed); });
    });
  });
})();
