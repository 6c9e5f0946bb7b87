// Staff's case entry (/console/new): a supervisor's patrol or a hotline call, sent as a form
// with photos to /api/v1/cases/entry.
(function () {
  var W = CG.words, form = document.getElementById("entry");
  var chosen = document.getElementById("category"), message = document.getElementById("message");
  cgCategoryPicker(document.getElementById("cat-search"), document.getElementById("cat-choices"), chosen);
  cgPlacePicker(message);
  var keys = cgReportKey();
  function byId(id) { return document.getElementById(id); }

  // The caller's earlier cases, once a phone is typed (a pause in the typing asks).
  var phone = byId("contact_phone"), names = {};
  CG.categories.forEach(function (c) { names[c.code] = c.name; });
  function lookUp() {
    var list = byId("history-list"), none = byId("history-none"), v = phone.value.trim();
    list.replaceChildren();
    if (!v) { none.textContent = W.caller_history_hint; return; }
    cgFetch("/api/v1/cases/entry/caller?" + new URLSearchParams({phone: v}))
      .then(function (res) {
        if (!res.ok) { none.textContent = cgProblem(res.body); return; }
        none.textContent = res.body.length ? "" : W.caller_history_none;
        res.body.forEach(function (c) {
          list.appendChild(cgEl("li", {}, [
            cgEl("a", {href: "/console/cases/" + encodeURIComponent(c.code)}, [c.code]),
            " " + c.reported_at.slice(0, 10) + " ",
            cgEl("span", {translate: "no"}, [names[c.category] || c.category]),
            " · " + (W["state_" + c.state] || c.state),
            cgEl("br"), cgEl("span", {translate: "no"}, [c.address + " " + c.description])
          ]));
        });
      });
  }
  if (phone) {
    var timer = null;
    phone.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(lookUp, 400); });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    message.className = ""; message.textContent = "";
    if (!chosen.value) { message.className = "error"; message.textContent = W.need_category; return; }
    var data = new FormData();
    data.append("category", chosen.value);
    data.append("source", CG.source);
    ["lon", "lat", "address", "description", "contact_phone", "contact_name"].forEach(function (k) {
      var el = byId(k), v = el ? el.value.trim() : ""; if (v) { data.append(k, v); }
    });
    if (byId("callback") && byId("callback").checked) { data.append("callback", "true"); }
    if (byId("photos")) {
      Array.prototype.forEach.call(byId("photos").files, function (f) { data.append("photos", f); });
    }
    var key = keys.key(data);
    var button = byId("submit"); button.disabled = true;
    cgFetch("/api/v1/cases/entry", {method: "POST", body: data, headers: {"Idempotency-Key": key}})
      .then(function (res) {
        button.disabled = false;
        keys.done();
        if (!res.ok) { message.className = "error"; message.textContent = cgProblem(res.body); return; }
        form.hidden = true;
        var history = byId("history"); if (history) { history.hidden = true; }
        byId("done").hidden = false;
        var link = byId("done-code");
        link.textContent = res.body.code; link.href = "/console/cases/" + encodeURIComponent(res.body.code);
      })
      .catch(function () { button.disabled = false; message.className = "error"; message.textContent = W.failed; });
  });
})();
