// What the report pages share (the citizen's /report, staff's /console/new): the category
// search by name or pinyin initials, the place by GPS or a tap on the map, and one
// Idempotency-Key per report.
(function () {
  // The category search: `search` filters CG.categories into `choices`; a choice sets `chosen`.
  window.cgCategoryPicker = function (search, choices, chosen) {
    function show(list) {
      choices.replaceChildren.apply(choices, list.slice(0, 12).map(function (c) {
        var b = cgEl("button", {type: "button", role: "option", "data-code": c.code, translate: "no"}, [c.name]);
        if (chosen.value === c.code) { b.className = "on"; }
        b.onclick = function () { chosen.value = c.code; search.value = c.name; show(list); };
        return b;
      }));
    }
    function filter() {
      var q = search.value.trim().toLowerCase();
      if (!q) { show(CG.categories); return; }
      show(CG.categories.filter(function (c) {
        return c.name.indexOf(q) >= 0 || c.initials.split(" ").some(function (i) { return i.indexOf(q) === 0; })
          || c.code.indexOf(q) === 0 || (c.keywords || "").indexOf(q) >= 0;
      }));
    }
    search.addEventListener("input", filter);
    show(CG.categories);
  };

  // The map (#map), the GPS button (#locate, if there is one) and the hidden #lon/#lat; #where
  // names the place; onPlace(lat, lon), if given, hears each new place (WGS-84 strings).
  window.cgPlacePicker = function (message, onPlace) {
    var map = cgMap("map"), marker = null;
    function place(lat, lon) {
      document.getElementById("lat").value = lat; document.getElementById("lon").value = lon;
      if (marker) { marker.setLatLng([lat, lon]); } else { marker = L.marker([lat, lon], {alt: CG.words.map_pin}).addTo(map); }
      if (onPlace) { onPlace(lat, lon); }
      cgFetch("/api/v1/geo/locate?" + new URLSearchParams({lon: lon, lat: lat}))
        .then(function (res) {
          var d = res.body, where = document.getElementById("where"), names = d.inside
            ? [d.street && d.street.name, d.community && d.community.name, d.grid && d.grid.name].filter(Boolean)
            : [];
          // the names of the place (the district's own) and, for a point outside, a sentence
          where.replaceChildren(cgEl("span", {translate: "no"}, [names.join(" · ")]));
          var notice = res.ok ? d.notice && d.notice[CG_LANG] : cgProblem(d);
          if (notice) { where.appendChild(document.createTextNode((names.length ? " · " : "") + notice)); }
        });
    }
    map.on("click", function (e) { place(e.latlng.lat.toFixed(7), e.latlng.lng.toFixed(7)); });
    var locate = document.getElementById("locate");  // a hotline call has no GPS of its own
    if (locate) locate.onclick = function () {
      var W = CG.words;
      if (!navigator.geolocation) { message.className = "error"; message.textContent = W.geo_none; return; }
      navigator.geolocation.getCurrentPosition(function (p) {
        place(p.coords.latitude.toFixed(7), p.coords.longitude.toFixed(7));
        map.setView([p.coords.latitude, p.coords.longitude], 16);
      }, function (err) {
        // err.message is the browser's own English ("User denied Geolocation"): the page
        // says it in its language by the error's code (1 denied, 2 unavailable, 3 timeout)
        message.className = "error"; message.textContent = W["geo_" + err.code] || W.geo_2;
      });
    };
    return map;
  };

  // One Idempotency-Key per report: a report sent again after a lost answer (the network
  // failed) keeps its key, so the server answers it once; any change makes it a new report.
  // key(formData) gives the key; done() after an answer makes the next send a new report.
  window.cgReportKey = function () {
    var sent = {key: null, signature: null};
    function newKey() {
      var bytes = new Uint8Array(16);
      crypto.getRandomValues(bytes);
      return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    }
    return {
      key: function (data) {
        var signature = JSON.stringify(Array.from(data.entries()).map(function (kv) {
          return typeof kv[1] === "string" ? kv : [kv[0], kv[1].name, kv[1].size, kv[1].lastModified];
        }));
        if (sent.signature !== signature) { sent = {key: newKey(), signature: signature}; }
        return sent.key;
      },
      done: function () { sent = {key: null, signature: null}; }
    };
  };

  // A photo no larger than `max` pixels on its long side: a larger one is drawn smaller on a
  // canvas (upright, as its EXIF orientation says) and encoded as JPEG; a smaller one is sent
  // as it is. Resolves to {file, from, to} (bytes before and after). The scaled copy has no
  // EXIF: the place comes from the map, not from the photo's GPS.
  var MAX_SIDE = 2560, QUALITY = 0.8;
  function decode(file) {
    if (window.createImageBitmap) {
      return createImageBitmap(file, {imageOrientation: "from-image"});
    }
    return new Promise(function (resolve, reject) {  // an <img> is upright too (CSS image-orientation)
      var img = new Image(), url = URL.createObjectURL(file);
      img.onload = function () { URL.revokeObjectURL(url); resolve(img); };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error("decode")); };
      img.src = url;
    });
  }
  window.cgScalePhoto = function (file, max) {
    max = max || MAX_SIDE;
    return decode(file).then(function (img) {
      var w = img.width || img.naturalWidth, h = img.height || img.naturalHeight, k = max / Math.max(w, h);
      if (k >= 1) { if (img.close) { img.close(); } return {file: file, from: file.size, to: file.size, width: w, height: h}; }
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(w * k); canvas.height = Math.round(h * k);
      canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
      if (img.close) { img.close(); }
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          var name = file.name.replace(/\.[^.]*$/, "") + ".jpg";
          resolve({file: new File([blob], name, {type: "image/jpeg", lastModified: file.lastModified}),
                   from: file.size, to: blob.size, width: canvas.width, height: canvas.height});
        }, "image/jpeg", QUALITY);
      });
    }).catch(function () { return {file: file, from: file.size, to: file.size}; });  // the server says why
  };

  // The reports made on this phone ("我的上报"), kept in its browser: [{code, url, at, followed}],
  // the newest first, at most 50. A page that cannot store (private mode) keeps none.
  var MINE = "cg.myReports";
  window.cgMine = {
    list: function () {
      try { var v = JSON.parse(localStorage.getItem(MINE) || "[]"); return Array.isArray(v) ? v : []; }
      catch (e) { return []; }
    },
    add: function (item) {
      var list = cgMine.list().filter(function (x) { return x.code !== item.code; });
      list.unshift(item);
      try { localStorage.setItem(MINE, JSON.stringify(list.slice(0, 50))); } catch (e) { /* full or private */ }
    }
  };
})();
