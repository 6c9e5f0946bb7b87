// The console's card of the signed-in person's own post rows this month (GET
// /api/v1/stats/assessment answers a post's holder with their own row and its rank only).
(function () {
  var box = document.getElementById("my-assessment");
  if (!box) { return; }
  var now = new Date(), y = now.getFullYear(), m = now.getMonth() + 1;
  function day(year, month) { return year + "-" + (month < 10 ? "0" : "") + month + "-01"; }
  var start = day(y, m), end = m === 12 ? day(y + 1, 1) : day(y, m + 1);
  var list = box.querySelector("ul"), d = box.dataset;
  box.dataset.posts.split(",").forEach(function (post) {
    var q = "subject=post&post=" + encodeURIComponent(post) + "&start=" + start + "&end=" + end;
    fetch("/api/v1/stats/assessment?" + q).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (report) {
        var row = report && report.rows[0];
        if (!row) { return; }
        var c = row.composite == null ? "—" : row.composite.toFixed(2);
        var text = d["name" + post.charAt(0).toUpperCase() + post.slice(1)] + ": " + d.wComposite + " " + c +
          " · " + d.wRank + " " + (row.rank == null ? "—" : row.rank) + " · " + d.wGrade + " " + (row.grade || "—");
        var li = document.createElement("li");
        li.textContent = text;
        li.dataset.post = post;
        list.appendChild(li);
        box.hidden = false;
      });
  });
})();
