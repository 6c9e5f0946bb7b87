(function () {
  var charts = {};
  ["trend", "top", "dist", "composite"].forEach(function (id) { charts[id] = echarts.init(document.getElementById(id)); });
  var W = CG.words;
  var cols = ["name", "registered", "due", "closed", "closure_rate", "on_time_rate", "extension_rate",
    "rework_rate", "satisfaction_rate", "composite", "grade"];
  function fmt(key, v) {
    if (v == null) { return "—"; }
    if (/_rate$/.test(key)) { return (v * 100).toFixed(1) + "%"; }
    if (key === "composite") { return v.toFixed(2); }
    return v;
  }
  function bounds() {
    var m = document.getElementById("month").value, y = +m.slice(0, 4), mo = +m.slice(5, 7);
    var next = mo === 12 ? (y + 1) + "-01" : y + "-" + String(mo + 1).padStart(2, "0");
    return {start: m + "-01", end: next + "-01", month: m};
  }
  function get(path) { return fetch(path).then(function (r) { return r.json(); }); }
  function load() {
    var b = bounds(), g = document.getElementById("group").value;
    function query(more) { return new URLSearchParams(Object.assign({start: b.start, end: b.end}, more)).toString(); }
    var q = query({});
    document.getElementById("dl-csv").href = "/api/v1/stats/kpis?" + query({group_by: g, format: "csv"});
    document.getElementById("dl-xlsx").href = "/api/v1/stats/kpis?" + query({group_by: g, format: "xlsx"});
    document.getElementById("dl-assess").href = "/stats/assessment/" + encodeURIComponent(b.month);
    get("/api/v1/stats/kpis?" + query({group_by: g})).then(function (d) {
      var thead = document.querySelector("#kpis thead"), tbody = document.querySelector("#kpis tbody");
      thead.replaceChildren(cgRow(cols.map(function (c) { return c === "name" ? W["group_" + g] : W["kpi_" + c]; }), "th"));
      tbody.replaceChildren.apply(tbody, d.rows.map(function (r) {
        return cgRow(cols.map(function (c) { return fmt(c, r[c]); }), "td", [0]);  // the name is the district's
      }).concat([cgRow(cols.map(function (c) { return c === "name" ? W.total_sum : fmt(c, d.total[c]); }))]));
      document.getElementById("cutoff").textContent = W.cut_off + ": " + d.cutoff.slice(0, 19).replace("T", " ");
      var ranked = d.rows.filter(function (r) { return r.composite != null; }).sort(function (a, b) { return b.composite - a.composite; });
      charts.composite.setOption({grid: {left: 110}, xAxis: {type: "value", max: 100}, yAxis: {type: "category", inverse: true,
        data: ranked.map(function (r) { return r.name; })}, series: [{type: "bar", data: ranked.map(function (r) { return +r.composite.toFixed(2); })}]}, true);
    });
    get("/api/v1/stats/trend?" + q + "&by=day").then(function (d) {
      // The tooltip is drawn on the canvas (richText): ECharts' HTML tooltip carries inline
      // styles, which the page's policy refuses.
      charts.trend.setOption({tooltip: {trigger: "axis", renderMode: "richText"}, legend: {data: [W.kpi_reported, W.kpi_registered, W.kpi_closed]},
        xAxis: {type: "category", data: d.series.map(function (s) { return s.bucket.slice(5); })}, yAxis: {type: "value"},
        series: [[W.kpi_reported, "reported"], [W.kpi_registered, "registered"], [W.kpi_closed, "closed"]].map(function (p) {
          return {name: p[0], type: "line", data: d.series.map(function (s) { return s[p[1]]; })}; })}, true);
    });
    get("/api/v1/stats/top-categories?" + q).then(function (d) {
      charts.top.setOption({grid: {left: 100}, xAxis: {type: "value"}, yAxis: {type: "category", inverse: true,
        data: d.map(function (c) { return c.name; })}, series: [{type: "bar", data: d.map(function (c) { return c.count; })}]}, true);
    });
    get("/api/v1/stats/distributions?" + q).then(function (d) {
      // the bins' labels ("≤10min") with the page's word for minutes
      charts.dist.setOption({xAxis: {type: "category", data: d.dispatch.bins.map(function (b) { return b.label.replace("min", W.unit_minute); })},
        yAxis: {type: "value"}, series: [{type: "bar", data: d.dispatch.bins.map(function (b) { return b.count; })}]}, true);
    });
  }
  document.getElementById("period").addEventListener("submit", function (e) { e.preventDefault(); load(); });
  load();
})();
