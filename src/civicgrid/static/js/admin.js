(function () {
  function show(box, ok, text, problems) {
    box.className = "msg " + (ok ? "ok" : "error");
    box.textContent = text;
    if (problems && problems.length) {
      var ul = document.createElement("ul");
      problems.slice(0, 50).forEach(function (p) {
        var li = document.createElement("li");
        var why = p.message && p.message[CG_LANG] || p.reason;
        li.textContent = typeof p === "string" ? p : "#" + p.index + " " + (p.code || "") + ": " + why;
        ul.appendChild(li);
      });
      box.appendChild(ul);
    }
  }
  Array.prototype.forEach.call(document.querySelectorAll("form.admin"), function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var box = form.querySelector(".msg"), req;
      if (form.dataset.multipart) {
        req = {method: form.dataset.method, body: new FormData(form)};
      } else {
        var body = {};
        Array.prototype.forEach.call(form.elements, function (el) {
          if (!el.name || el.value === "") { return; }
          if (el.dataset.list) { body[el.name] = [el.value]; }
          else if (el.dataset.number) { body[el.name] = parseFloat(el.value); }
          else if (el.dataset.bool) { body[el.name] = el.value === "true"; }
          else { body[el.name] = el.value; }
        });
        req = {method: form.dataset.method, headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
      }
      cgFetch(form.dataset.url, req)
        .then(function (res) {
          if (res.ok) { show(box, true, CG.words.saved); setTimeout(function () { location.reload(); }, 800); }
          else { show(box, false, cgProblem(res.body), res.body.problems); }
        })
        .catch(function () { show(box, false, cgProblem(null)); });
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("button.delete"), function (b) {
    b.onclick = function () {
      var box = b.closest("form").querySelector(".msg");
      cgFetch(b.dataset.url, {method: "DELETE"}).then(function (res) {
        if (res.ok) { location.reload(); } else { show(box, false, cgProblem(res.body)); }
      }).catch(function () { show(box, false, cgProblem(null)); });
    };
  });
})();
