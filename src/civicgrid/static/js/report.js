// The citizen's report page: the category, the photos (previewed, scaled in the browser), the
// place (open public cases near it, which the citizen may follow instead of reporting again),
// the required fields (CG.needs) checked before sending; the answer keeps the case: its code,
// a copy button, a QR code, and the "我的上报" list of this phone.
(function () {
  var W = CG.words, form = document.getElementById("report");
  var chosen = document.getElementById("category"), message = document.getElementById("message");
  cgCategoryPicker(document.getElementById("cat-search"), document.getElementById("cat-choices"), chosen);
  var keys = cgReportKey();

  function fill(key, parts) { return cgWord(key, parts).join(""); }
  function kb(n) { return n >= 1048576 ? (n / 1048576).toFixed(1) + " MB" : Math.round(n / 1024) + " KB"; }

  // --- open public cases near the pin ----------------------------------------------------
  var map, nearbyLayer = null, asked = 0;
  var nearby = document.getElementById("nearby"), nearbyList = document.getElementById("nearby-list");
  function meToo(item, c) {
    var phone = cgEl("input", {type: "tel", inputmode: "tel", maxlength: "20", "aria-label": W.cz_me_too_phone, placeholder: W.cz_me_too_phone});
    var send = cgEl("button", {type: "button", class: "me-too-send"}, [W.cz_me_too_send]);
    var said = cgEl("p", {role: "status"});
    var box = cgEl("div", {class: "me-too-form"}, [phone, send, said]);
    send.onclick = function () {
      send.disabled = true;
      cgFetch("/api/v1/citizen/cases/" + encodeURIComponent(c.code) + "/follow", {
        method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({phone: phone.value.trim()})
      }).then(function (res) {
        send.disabled = false;
        if (!res.ok) { said.className = "error"; said.textContent = cgProblem(res.body); return; }
        box.replaceChildren(cgEl("p", {class: "ok", role: "status"}, [fill("cz_me_too_done", {n: res.body.followers})]));
        item.classList.add("followed");
        item.querySelector(".followers").textContent = fill("cz_followers", {n: res.body.followers});
        cgMine.add({code: res.body.code, url: "/reports/" + encodeURIComponent(res.body.code), at: new Date().toISOString(), followed: true});
        showMine();
      }).catch(function () { send.disabled = false; said.className = "error"; said.textContent = W.failed; });
    };
    return box;
  }
  function showNearby(list) {
    if (nearbyLayer) { nearbyLayer.clearLayers(); } else { nearbyLayer = L.layerGroup().addTo(map); }
    nearby.hidden = false;
    nearby.dataset.count = list.length;
    if (!list.length) { nearbyList.replaceChildren(cgEl("li", {class: "muted"}, [W.cz_nearby_none])); return; }
    var followed = {};
    cgMine.list().forEach(function (x) { if (x.followed) { followed[x.code] = true; } });
    nearbyList.replaceChildren.apply(nearbyList, list.map(function (c, i) {
      L.circleMarker([c.lat, c.lon], {radius: 8, color: "#b3261e", weight: 2, fillOpacity: 0.35})
        .bindTooltip(String(i + 1), {permanent: true, direction: "center", className: "nearby-no"}).addTo(nearbyLayer);
      var button = cgEl("button", {type: "button", class: "secondary me-too"}, [W.cz_me_too]);
      var item = cgEl("li", {"data-code": c.code}, [
        cgEl("strong", {}, [(i + 1) + ". "]), cgEl("span", {translate: "no"}, [c.category.name]),
        " · " + (W["state_" + c.state] || c.state_zh) + " · " + fill("cz_metres", {m: Math.round(c.distance_m)}),
        cgEl("br"), cgEl("span", {class: "muted"}, [(c.reported_at || "").slice(0, 16).replace("T", " ") + " "]),
        cgEl("span", {class: "muted", translate: "no"}, [c.description || c.address || ""]),
        cgEl("br"), cgEl("span", {class: "followers"}, [fill("cz_followers", {n: c.followers})]), " ",
        cgEl("a", {href: c.url}, [W.cz_details]), cgEl("br"), button
      ]);
      button.onclick = function () { button.replaceWith(meToo(item, c)); };
      if (followed[c.code]) {  // said on this phone already (我的上报)
        item.classList.add("followed");
        button.replaceWith(cgEl("p", {class: "ok"}, [W.cz_mine_followed]));
      }
      return item;
    }));
  }
  function lookNearby(lat, lon) {
    var mine = ++asked;
    nearby.dataset.state = "loading";
    cgFetch("/api/v1/citizen/nearby?" + new URLSearchParams({lon: lon, lat: lat}))
      .then(function (res) {
        if (mine !== asked) { return; }
        showNearby(res.ok ? res.body : []);
        nearby.dataset.state = "shown";
      });
  }
  map = cgPlacePicker(message, lookNearby);

  // --- photos: preview, scaled before sending -------------------------------------------
  var photos = document.getElementById("photos"), preview = document.getElementById("photo-preview");
  var ready = Promise.resolve([]);
  photos.addEventListener("change", function () {
    var files = Array.prototype.slice.call(photos.files);
    preview.dataset.state = "scaling";
    preview.replaceChildren(files.length ? cgEl("p", {class: "muted"}, [W.cz_scaling]) : cgEl("span"));
    ready = Promise.all(files.map(function (f) { return cgScalePhoto(f); }));
    ready.then(function (done) {
      preview.replaceChildren.apply(preview, done.map(function (d) {
        var img = cgEl("img", {alt: d.file.name});
        img.src = URL.createObjectURL(d.file);  // a blob: URL (not a path: set directly)
        var said = d.to < d.from ? fill("cz_scaled", {from: kb(d.from), to: kb(d.to)}) : kb(d.to);
        return cgEl("figure", {"data-bytes": d.to, "data-width": d.width || "", "data-height": d.height || ""}, [img, cgEl("figcaption", {}, [said])]);
      }));
      preview.dataset.state = "ready";
    });
  });

  // --- required fields (the settings' report_requires) ----------------------------------
  var needsEl = document.getElementById("needs"), NEEDS = CG.needs || [];
  function needText(list) {
    return list.map(function (need) {
      return need.map(function (n) { return W["cz_need_" + n]; }).join(W.cz_or);
    }).join(W.cz_and);
  }
  if (NEEDS.length) { needsEl.textContent = fill("cz_needs", {needs: needText(NEEDS)}); }
  var FIELD = {photo: "photos", words: "description", place: "map", phone: "phone"};
  function has(n) {
    if (n === "photo") { return photos.files.length > 0; }
    if (n === "words") { return !!document.getElementById("description").value.trim(); }
    if (n === "place") { return !!document.getElementById("lat").value || !!document.getElementById("address").value.trim(); }
    if (n === "phone") { return !!document.getElementById("phone").value.trim(); }
    return true;
  }
  function missing() {
    Object.keys(FIELD).forEach(function (n) { document.getElementById(FIELD[n]).removeAttribute("aria-invalid"); });
    var out = NEEDS.filter(function (need) { return !need.some(has); });
    out.forEach(function (need) { need.forEach(function (n) { document.getElementById(FIELD[n]).setAttribute("aria-invalid", "true"); }); });
    return out;
  }

  // --- 我的上报 ---------------------------------------------------------------------------
  function showMine() {
    var list = cgMine.list(), box = document.getElementById("mine");
    box.hidden = !list.length;
    document.getElementById("mine-list").replaceChildren.apply(document.getElementById("mine-list"), list.map(function (x) {
      return cgEl("li", {"data-code": x.code}, [
        cgEl("a", {href: x.url}, [x.code]), " ",
        cgEl("span", {class: "muted"}, [(x.at || "").slice(0, 10) + (x.followed ? " · " + W.cz_mine_followed : "")])
      ]);
    }));
  }
  showMine();

  // --- send --------------------------------------------------------------------------------
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    message.className = ""; message.textContent = "";
    if (!chosen.value) { message.className = "error"; message.textContent = W.need_category; return; }
    var lacking = missing();
    if (lacking.length) { message.className = "error"; message.textContent = fill("cz_missing", {needs: needText(lacking)}); return; }
    var button = document.getElementById("submit"); button.disabled = true;
    ready.then(function (scaled) {
      var data = new FormData();
      data.append("category", chosen.value);
      ["lon", "lat", "address", "description", "phone"].forEach(function (k) {
        var v = document.getElementById(k).value.trim(); if (v) { data.append(k, v); }
      });
      scaled.forEach(function (d) { data.append("photos", d.file, d.file.name); });
      var key = keys.key(data);
      return cgFetch("/api/v1/citizen/reports", {method: "POST", body: data, headers: {"Idempotency-Key": key}})
        .then(function (res) {
          button.disabled = false;
          keys.done();  // answered: the next send is a new report
          if (!res.ok) { message.className = "error"; message.textContent = cgProblem(res.body); return; }
          done(res.body);
        });
    }).catch(function () { button.disabled = false; message.className = "error"; message.textContent = W.failed; });
  });

  function done(body) {
    form.hidden = true;
    document.getElementById("done").hidden = false;
    document.getElementById("done-code").textContent = body.code;
    var link = document.getElementById("done-link"), url = cgLocal(body.track_url);
    if (!url) { return; }
    link.href = url; link.textContent = location.origin + url;
    var q = url.indexOf("?");
    document.getElementById("done-qr").src = "/track/" + encodeURIComponent(body.code) + "/qr.svg" + (q >= 0 ? url.slice(q) : "");
    document.getElementById("done-copy").onclick = function () {
      var copied = document.getElementById("done-copied");
      var text = location.origin + url;
      var put = navigator.clipboard && navigator.clipboard.writeText
        ? navigator.clipboard.writeText(text)
        : Promise.reject(new Error("no clipboard"));
      put.then(function () { copied.textContent = W.cz_copied; }, function () {
        // no clipboard (plain http): select the link for the phone's own copy
        var range = document.createRange(); range.selectNodeContents(link);
        var sel = getSelection(); sel.removeAllRanges(); sel.addRange(range);
      });
    };
    cgMine.add({code: body.code, url: url, at: new Date().toISOString()});
    showMine();
  }
})();
