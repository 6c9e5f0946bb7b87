(function () {
  var charts = {};
  ["trend", "top", "dist", "composite"].forEach(function (id) { charts[id] = echarts.init(document.getElementById(id)); });
  var cols = [["name", "名称"], ["registered", "立案数"], ["due", "应结案数"], ["closed", "结案数"],
    ["closure_rate", "结案率"], ["on_time_rate", "按时完成率"], ["extension_rate", "延期率"],
    ["rework_rate", "返工率"], ["satisfaction_rate", "满意率"], ["composite", "综合指标值"], ["grade", "等级"]];
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
      thead.replaceChildren(cgRow(cols.map(function (c) { return c[1]; }), "th"));
      tbody.replaceChildren.apply(tbody, d.rows.concat([Object.assign({name: "合计"}, d.total)]).map(function (r) {
        return cgRow(cols.map(function (c) { return fmt(c[0], r[c[0]]); }));
      }));
      document.getElementById("cutoff").textContent = "截止 cut-off: " + d.cutoff;
      var ranked = d.rows.filter(function (r) { return r.composite != null; }).sort(function (a, b) { return b.composite - a.composite; });
      charts.composite.setOption({grid: {left: 110}, xAxis: {type: "value", max: 100}, yAxis: {type: "category", inverse: true,
        data: ranked.map(function (r) { return r.name; })}, series: [{type: "bar", data: ranked.map(function (r) { return +r.composite.toFixed(2); })}]}, true);
    });
    get("/api/v1/stats/trend?" + q + "&by=day").then(function (d) {
      // The tooltip is drawn on the canvas (richText): ECharts' HTML tooltip carries inline
      // styles, which the page's policy refuses.
      charts.trend.setOption({tooltip: {trigger: "axis", renderMode: "richText"}, legend: {data: ["上报", "立案", "结案"]},
        xAxis: {type: "category", data: d.series.map(function (s) { return s.bucket.slice(5); })}, yAxis: {type: "value"},
        series: [["上报", "reported"], ["立案", "registered"], ["结案", "closed"]].map(function (p) {
          return {name: p[0], type: "line", data: d.series.map(function (s) { return s[p[1]]; })}; })}, true);
    });
    get("/api/v1/stats/top-categories?" + q).then(function (d) {
      charts.top.setOption({grid: {left: 100}, xAxis: {type: "value"}, yAxis: {type: "category", inverse: true,
        data: d.map(function (c) { return c.name; })}, series: [{type: "bar", data: d.map(function (c) { return c.count; })}]}, true);
    });
    get("/api/v1/stats/distributions?" + q).then(function (d) {
      charts.dist.setOption({xAxis: {type: "category", data: d.dispatch.bins.map(function (b) { return b.label; })},
        yAxis: {type: "value"}, series: [{type: "bar", data: d.dispatch.bins.map(function (b) { return b.count; })}]}, true);
    });
  }
  document.getElementById("period").addEventListener("submit", function (e) { e.preventDefault(); load(); });
  load();
})();
