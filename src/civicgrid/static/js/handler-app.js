// The handler's phone app (/app/): the unit's queue, a case, take and report done with photos.
// It works without a connection: every action goes into an outbox in IndexedDB first, with its
// own Idempotency-Key, and is sent from there (now, on reconnect, or on the next start); the
// server answers a repeat of a key as it answered the first time and acts once (kit.idempotency),
// so an action whose answer was lost on the way is simply sent again. The cases last seen are
// kept in IndexedDB too, to read offline. Sign-out clears the caches and the outbox.
(function () {
  var W = CG.words || {}, view = document.getElementById("view");
  var statusEl = document.getElementById("status"), outboxEl = document.getElementById("outbox");
  var DB_NAME = "cg-handler", db = null, flushing = false, online = navigator.onLine;

  function openDb() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = function () {
        var d = req.result;
        d.createObjectStore("outbox", {keyPath: "id", autoIncrement: true});
        d.createObjectStore("cases", {keyPath: "code"});
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function tx(store, mode, work) {
    return new Promise(function (resolve, reject) {
      var t = db.transaction(store, mode), s = t.objectStore(store), out = work(s);
      t.oncomplete = function () { resolve(out && "result" in out ? out.result : undefined); };
      t.onerror = function () { reject(t.error); };
    });
  }
  function all(store) { return tx(store, "readonly", function (s) { return s.getAll(); }); }

  function newKey() {
    if (crypto.randomUUID) { return crypto.randomUUID(); }
    var b = new Uint8Array(16); crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }

  function setOnline(yes) {
    online = yes;
    statusEl.textContent = yes ? W.app_online : W.app_offline;
    statusEl.className = yes ? "muted" : "error";
  }
  function showOutbox() {
    return all("outbox").then(function (items) {
      var waiting = items.filter(function (i) { return !i.refused; }).length;
      outboxEl.textContent = waiting ? W.app_outbox + ": " + waiting : "";
      return items;
    });
  }

  // --- sending -----------------------------------------------------------------------------
  function request(item) {
    var url = "/api/v1/cases/" + encodeURIComponent(item.code) + "/" + item.action.replace(/_/g, "-");
    var req = {method: "POST", headers: {"Idempotency-Key": item.key}, credentials: "same-origin"};
    if (item.action === "report_done") {
      var data = new FormData();
      data.append("note", item.note || ""); data.append("public", "false");
      (item.photos || []).forEach(function (p, n) { data.append("photos", p.blob, p.name || ("photo" + n + ".jpg")); });
      req.body = data;
    } else {
      req.headers["Content-Type"] = "application/json";
      req.body = JSON.stringify({note: item.note || ""});
    }
    return cgFetch(url, req);
  }

  function flush() {
    if (flushing) { return Promise.resolve(); }
    flushing = true;
    return all("outbox").then(function (items) {
      var queue = items.filter(function (i) { return !i.refused; });
      var next = function () {
        if (!queue.length) { return null; }
        var item = queue.shift();
        return request(item).then(function (res) {
          setOnline(true);
          if (res.ok) {
            return tx("outbox", "readwrite", function (s) { return s.delete(item.id); }).then(next);
          }
          if (res.status >= 500 || res.status === 429 || res.body.error === "key_in_flight") {
            return null;  // later, with the same key
          }
          if (res.status === 401) { return null; }  // signed out: kept until signed in again
          item.refused = cgProblem(res.body);
          return tx("outbox", "readwrite", function (s) { return s.put(item); }).then(next);
        }, function () { setOnline(false); return null; });
      };
      return next();
    }).then(function () { flushing = false; return showOutbox(); }, function () { flushing = false; })
      .then(function () { if (online) { loadCases().then(route); } });
  }

  function enqueue(item) {
    item.key = newKey();
    item.at = new Date().toISOString();
    return tx("outbox", "readwrite", function (s) { return s.add(item); }).then(showOutbox).then(function () {
      flush();
    });
  }

  // --- reading -----------------------------------------------------------------------------
  var signedOut = false;
  function loadCases() {
    return cgFetch("/api/v1/cases?state=dispatched&state=in_progress&limit=200", {credentials: "same-origin"})
      .then(function (res) {
        setOnline(true);
        if (res.status === 401) { signedOut = true; return; }
        if (!res.ok) { return; }
        signedOut = false;
        return tx("cases", "readwrite", function (s) {
          s.clear();
          res.body.items.forEach(function (c) { s.put(c); });
        });
      }, function () { setOnline(false); });
  }

  // The state a case will have once the outbox is sent: what the handler sees meanwhile.
  function pendingState(c, items) {
    var state = c.state;
    items.forEach(function (i) {
      if (i.code !== c.code || i.refused) { return; }
      if (i.action === "take" && state === "dispatched") { state = "in_progress"; }
      if (i.action === "report_done") { state = "resolved"; }
    });
    return state;
  }

  function clear() { while (view.firstChild) { view.removeChild(view.firstChild); } }

  function listView(cases, items) {
    clear();
    var card = cgEl("div", {"class": "card"}, [cgEl("h1", {}, [W.app_queue])]);
    if (signedOut) {
      card.appendChild(cgEl("p", {}, [cgEl("a", {href: "/console/login?next=/app/"}, [W.app_sign_in])]));
    }
    if (!cases.length) { card.appendChild(cgEl("p", {"class": "muted"}, [W.app_empty])); }
    var list = cgEl("ul", {"class": "app-cases", id: "cases"}, []);
    cases.forEach(function (c) {
      var state = pendingState(c, items);
      list.appendChild(cgEl("li", {"data-code": c.code}, [
        cgEl("a", {href: "/app/#/case/" + encodeURIComponent(c.code)}, [c.code]), " ",
        c.light ? cgEl("span", {"class": "light " + c.light}, []) : "",
        cgEl("span", {"class": "muted"}, [" " + (W["state_" + state] || state)]),
        cgEl("br", {}, []), cgEl("span", {translate: "no"}, [c.description || ""])
      ]));
    });
    card.appendChild(list);
    view.appendChild(card);
    var refused = items.filter(function (i) { return i.refused; });
    if (refused.length) {
      view.appendChild(cgEl("div", {"class": "card"}, refused.map(function (i) {
        return cgEl("p", {"class": "error"}, [i.code + " " + (W[{take: "app_take", report_done: "app_done"}[i.action] || "app_comment"]) + ": " + W.app_refused + " — " + i.refused]);
      })));
    }
  }

  function caseView(c, items) {
    clear();
    var state = pendingState(c, items), msg = cgEl("p", {id: "message", role: "alert"}, []);
    var card = cgEl("div", {"class": "card"}, [
      cgEl("p", {}, [cgEl("a", {href: "/app/#/"}, [W.app_back])]),
      cgEl("h1", {}, [c.code]),
      cgEl("p", {}, [W["state_" + state] || state, c.light ? cgEl("span", {"class": "light " + c.light}, []) : ""]),
      cgEl("p", {translate: "no"}, [c.description || ""]),
      cgEl("p", {"class": "muted", translate: "no"}, [c.address || ""]),
      cgEl("p", {"class": "muted"}, [(c.deadline || "").slice(0, 16).replace("T", " ")])
    ]);
    view.appendChild(card);
    if (state === "dispatched") {
      var take = cgEl("button", {type: "button", id: "take"}, [W.app_take]);
      take.addEventListener("click", function () {
        take.disabled = true;
        enqueue({code: c.code, action: "take", note: ""}).then(function () { msg.textContent = W.app_queued; route(); });
      });
      card.appendChild(take);
    } else if (state === "in_progress") {
      var form = cgEl("form", {id: "done"}, [
        cgEl("label", {"for": "note"}, [W.app_note]), cgEl("textarea", {id: "note"}, []),
        cgEl("label", {"for": "photos"}, [W.app_photos]),
        cgEl("input", {id: "photos", type: "file", accept: "image/*", capture: "environment", multiple: "multiple"}, []),
        cgEl("p", {}, [cgEl("button", {type: "submit"}, [W.app_done])])
      ]);
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var files = Array.prototype.slice.call(document.getElementById("photos").files);
        // the files' bytes go into IndexedDB (a File may not outlive the page on every phone)
        Promise.all(files.map(function (f) {
          return f.arrayBuffer().then(function (buf) {
            return {name: f.name, blob: new Blob([buf], {type: f.type || "image/jpeg"})};
          });
        })).then(function (photos) {
          return enqueue({code: c.code, action: "report_done", note: document.getElementById("note").value, photos: photos});
        }).then(function () { msg.textContent = W.app_queued; route(); });
      });
      card.appendChild(form);
    }
    // 备注: a note on the case in any state (a comment), queued like every action
    var noteForm = cgEl("form", {id: "comment"}, [
      cgEl("label", {"for": "comment-note"}, [W.app_comment]),
      cgEl("textarea", {id: "comment-note", required: "required"}, []),
      cgEl("p", {}, [cgEl("button", {type: "submit", "class": "secondary"}, [W.app_comment_send])])
    ]);
    noteForm.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = document.getElementById("comment-note").value.trim();
      if (!text) { return; }
      enqueue({code: c.code, action: "comment", note: text}).then(function () { msg.textContent = W.app_queued; route(); });
    });
    card.appendChild(noteForm);
    card.appendChild(msg);
  }

  function route() {
    return Promise.all([all("cases"), all("outbox")]).then(function (got) {
      var cases = got[0], items = got[1];
      var m = /^#\/case\/(.+)$/.exec(location.hash);
      if (m) {
        var code = decodeURIComponent(m[1]);
        var c = cases.filter(function (x) { return x.code === code; })[0];
        if (c) { caseView(c, items); return; }
      }
      cases.sort(function (a, b) { return (a.deadline || "9") < (b.deadline || "9") ? -1 : 1; });
      listView(cases, items);
    });
  }

  // --- live: new cases while connected -------------------------------------------------------
  function listen() {
    if (!window.EventSource) { return; }
    var source = new EventSource("/api/v1/command/stream");
    source.addEventListener("case", function () {
      // a case the handler may see changed: read the queue again; a code not seen before is new
      all("cases").then(function (before) {
        var known = {};
        before.forEach(function (c) { known[c.code] = true; });
        return loadCases().then(function () { return all("cases"); }).then(function (after) {
          return route().then(function () {
            after.filter(function (c) { return !known[c.code]; }).forEach(function (c) {
              view.insertBefore(cgEl("p", {"class": "notice", role: "status"}, [
                W.app_new + ": ", cgEl("a", {href: "/app/#/case/" + encodeURIComponent(c.code)}, [c.code])
              ]), view.firstChild);
            });
          });
        });
      });
    });
  }

  // --- Web Push: new cases while the app is closed, where a push service is reachable ----------
  var pushButton = document.getElementById("push");
  var canPush = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  function keyBytes(text) {
    var raw = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    return Uint8Array.from(raw, function (ch) { return ch.charCodeAt(0); });
  }
  function subscribePush() {
    return navigator.serviceWorker.ready.then(function (reg) {
      return reg.pushManager.getSubscription().then(function (sub) {
        if (sub) { return sub; }
        return fetch("/api/v1/supervision/push/key", {credentials: "same-origin"})
          .then(function (r) { if (!r.ok) { throw new Error("key " + r.status); } return r.json(); })
          .then(function (k) {
            return reg.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: keyBytes(k.public_key)});
          });
      });
    }).then(function (sub) {
      return fetch("/api/v1/supervision/push/subscriptions", {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify(sub.toJSON())
      });
    }).then(function (r) {
      if (r.ok) { pushButton.hidden = true; pushButton.title = W.app_push_on || ""; }
    }).catch(function () { /* no push service reachable: the live stream still brings new cases */ });
  }
  function setupPush() {
    if (!canPush) { return; }
    if (Notification.permission === "granted") { subscribePush(); return; }
    if (Notification.permission === "default") { pushButton.hidden = false; }
  }
  pushButton.addEventListener("click", function () {
    Notification.requestPermission().then(function (answer) {
      if (answer === "granted") { subscribePush(); } else { pushButton.hidden = true; }
    });
  });
  function forgetPush() {
    if (!canPush) { return Promise.resolve(); }
    return navigator.serviceWorker.getRegistration("/app/").then(function (reg) {
      return reg && reg.pushManager.getSubscription();
    }).then(function (sub) {
      if (!sub) { return; }
      return fetch("/api/v1/supervision/push/unsubscribe", {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify({endpoint: sub.endpoint})
      }).then(function () { return sub.unsubscribe(); });
    }).catch(function () {});
  }

  // --- sign-out: the caches and the outbox go with the session --------------------------------
  document.getElementById("sign-out").addEventListener("click", function () {
    if (db) { db.close(); }
    forgetPush().then(cgForget).then(function () {
      var form = cgEl("form", {method: "post", action: "/console/logout"}, []);
      document.body.appendChild(form); form.submit();
    });
  });

  window.addEventListener("hashchange", route);
  window.addEventListener("online", function () { setOnline(true); flush(); });
  window.addEventListener("offline", function () { setOnline(false); });
  if ("serviceWorker" in navigator) { navigator.serviceWorker.register("/app/sw.js", {scope: "/app/"}); }
  setOnline(online);
  openDb().then(function (d) {
    db = d;
    return showOutbox();
  }).then(loadCases).then(route).then(function () {
    flush(); listen(); setupPush();
    // a cut that the browser does not see (no "online" event): try the outbox again now and then
    setInterval(function () {
      all("outbox").then(function (items) {
        if (items.some(function (i) { return !i.refused; })) { flush(); }
      });
    }, 4000);
  });
})();
