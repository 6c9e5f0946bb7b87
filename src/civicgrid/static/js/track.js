(function () {
  var W = CG.words, box = document.getElementById("case"), code = box.dataset.code;
  var secret = new URLSearchParams(location.search).get("s") || "";
  var message = document.getElementById("message"), score = 0;
  function load() {
    cgFetch("/api/v1/citizen/cases/" + encodeURIComponent(code) + "?s=" + encodeURIComponent(secret))
      .then(function (res) {
        if (!res.ok) { message.className = "error"; message.textContent = cgProblem(res.body); return; }
        var c = res.body, summary = document.getElementById("summary");
        function name(text) { return cgEl("span", {translate: "no"}, [text]); }  // the district's names
        var parts = [[name(c.category.name)], [W["state_" + c.state] || c.state]];
        if (c.unit) { parts.push([W.unit + ": ", name(c.unit)]); }
        if (c.deadline) { parts.push([W.deadline + ": " + c.deadline.slice(0, 16).replace("T", " ")]); }
        if (c.score) { parts.push([W.rate + ": " + c.score]); }
        summary.replaceChildren();
        parts.forEach(function (p, i) {
          if (i) { summary.appendChild(document.createTextNode(" · ")); }
          p.forEach(function (x) { summary.appendChild(x instanceof Node ? x : document.createTextNode(x)); });
        });
        var photos = document.getElementById("photos");
        photos.replaceChildren.apply(photos, c.photos.filter(function (p) { return cgLocal(p.thumb_url); })
          .map(function (p) { return cgEl("img", {src: p.thumb_url, alt: p.stage === "done" ? W.after : W.before}); }));
        var ul = document.getElementById("timeline");
        ul.replaceChildren.apply(ul, c.timeline.map(function (e) {
          // the step's fixed public text (已受理, 已派遣至…) in the page's language
          var text = e.step && W["step_" + e.step]
            ? cgWord("step_" + e.step, {unit: name(e.unit || W.unknown_unit)})
            : [W["state_" + e.step] || W["action_" + e.action] || e.text];
          return cgEl("li", {}, [e.at.slice(0, 16).replace("T", " ") + "  "].concat(text,
            e.note ? [" — ", name(e.note)] : []));
        }));
        document.getElementById("rate").hidden = !c.can_rate;
      });
  }
  var stars = document.getElementById("stars");
  [1, 2, 3, 4, 5].forEach(function (n) {
    var b = document.createElement("button"); b.type = "button"; b.textContent = "★ " + n;
    b.setAttribute("aria-label", n);
    b.onclick = function () { score = n; Array.prototype.forEach.call(stars.children, function (x, i) { x.className = i < n ? "on" : ""; }); };
    stars.appendChild(b);
  });
  document.getElementById("rate").addEventListener("submit", function (e) {
    e.preventDefault();
    if (!score) { message.className = "error"; message.textContent = W.need_score; return; }
    cgFetch("/api/v1/citizen/cases/" + encodeURIComponent(code) + "/rate", {method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({s: secret, score: score, comment: document.getElementById("rate-comment").value})})
      .then(function (res) {
        message.className = res.ok ? "ok" : "error";
        message.textContent = res.ok ? W.thanks : cgProblem(res.body);
        load();
      });
  });
  load();
})();
