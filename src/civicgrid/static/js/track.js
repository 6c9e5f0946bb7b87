(function () {
  var W = CG.words, box = document.getElementById("case"), code = box.dataset.code;
  var secret = new URLSearchParams(location.search).get("s") || "";
  var message = document.getElementById("message"), score = 0;
  function load() {
    fetch("/api/v1/citizen/cases/" + encodeURIComponent(code) + "?s=" + encodeURIComponent(secret))
      .then(function (r) { return r.json().then(function (b) { return {ok: r.ok, body: b}; }); })
      .then(function (res) {
        if (!res.ok) { message.className = "error"; message.textContent = res.body.detail; return; }
        var c = res.body;
        document.getElementById("summary").textContent = [c.category.name, c.state_zh,
          c.unit ? W.unit + ": " + c.unit : "", c.deadline ? W.deadline + ": " + c.deadline.slice(0, 16).replace("T", " ") : "",
          c.score ? W.rate + ": " + c.score : ""].filter(Boolean).join(" · ");
        var photos = document.getElementById("photos");
        photos.replaceChildren.apply(photos, c.photos.filter(function (p) { return cgLocal(p.thumb_url); })
          .map(function (p) { return cgEl("img", {src: p.thumb_url, alt: p.stage === "done" ? W.after : W.before}); }));
        var ul = document.getElementById("timeline");
        ul.replaceChildren.apply(ul, c.timeline.map(function (e) {
          return cgEl("li", {}, [e.at.slice(0, 16).replace("T", " ") + "  " + (e.text || e.action_zh) + (e.note ? " — " + e.note : "")]);
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
    fetch("/api/v1/citizen/cases/" + encodeURIComponent(code) + "/rate", {method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({s: secret, score: score, comment: document.getElementById("rate-comment").value})})
      .then(function (r) { return r.json().then(function (b) { return {ok: r.ok, body: b}; }); })
      .then(function (res) {
        message.className = res.ok ? "ok" : "error";
        message.textContent = res.ok ? W.thanks : res.body.detail;
        load();
      });
  });
  load();
})();
