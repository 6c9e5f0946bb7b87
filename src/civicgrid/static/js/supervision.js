// The rule table of the supervision page: an administrator saves one rule at a time.
(function () {
  var message = document.getElementById("message");
  Array.prototype.forEach.call(document.querySelectorAll("#rules [data-save]"), function (b) {
    b.addEventListener("click", function () {
      var row = b.closest("tr"), step = row.dataset.step;
      var body = {
        light: row.querySelector("[name=light]").value,
        after_hours: parseFloat(row.querySelector("[name=after_hours]").value),
        enabled: row.querySelector("[name=enabled]").checked
      };
      message.className = ""; message.textContent = "";
      cgFetch("/api/v1/supervision/rules/" + encodeURIComponent(step), {
        method: "PUT", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)
      }).then(function (res) {
        message.className = res.ok ? "" : "error";
        message.textContent = res.ok ? CG.words.saved : cgProblem(res.body);
      }).catch(function () { message.className = "error"; message.textContent = cgProblem(null); });
    });
  });
})();
