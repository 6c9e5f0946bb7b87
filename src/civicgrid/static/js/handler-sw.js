// The handler app's service worker (served as /app/sw.js, scope /app/). It keeps only the app's
// shell and the site's static files, never an API answer or a staff page (those are no-store):
// the cases a handler saw are kept by the app itself in IndexedDB, and sign-out clears both.
var CACHE = "cg-handler-v1";
var SHELL = [
  "/app/", "/app/manifest.webmanifest",
  "/static/css/site.css", "/static/js/cg.js", "/static/js/handler-app.js", "/static/favicon.svg"
];

self.addEventListener("install", function (e) {
  e.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(SHELL); }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener("activate", function (e) {
  e.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf("cg-handler") === 0 && k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (e) {
  var url = new URL(e.request.url);
  if (e.request.method !== "GET" || url.origin !== self.location.origin) { return; }
  var path = url.pathname;
  if (SHELL.indexOf(path) < 0) { return; }  // everything else goes to the network as it is
  // the network first (a new version of the shell), the cached copy when there is none
  e.respondWith(fetch(e.request).then(function (r) {
    if (r.ok) {
      var copy = r.clone();
      caches.open(CACHE).then(function (c) { return c.put(path, copy); });
    }
    return r;
  }).catch(function () {
    return caches.open(CACHE).then(function (c) { return c.match(path); }).then(function (hit) {
      return hit || Response.error();
    });
  }));
});

// Web Push: a case dispatched to the handler's unit, while the app is closed (the server sends
// {title, body, code, url}, encrypted for this browser)
self.addEventListener("push", function (e) {
  var data = {};
  try { data = e.data ? e.data.json() : {}; } catch (err) { data = {body: e.data && e.data.text()}; }
  e.waitUntil(self.registration.showNotification(data.title || "civicgrid", {
    body: data.body || "", tag: data.code || "case", data: {url: data.url || "/app/"},
    icon: "/static/favicon.svg"
  }));
});

self.addEventListener("notificationclick", function (e) {
  e.notification.close();
  var url = (e.notification.data && e.notification.data.url) || "/app/";
  e.waitUntil(self.clients.matchAll({type: "window"}).then(function (list) {
    for (var i = 0; i < list.length; i++) {
      if (new URL(list[i].url).pathname.indexOf("/app/") === 0) {
        return list[i].navigate(url).then(function (c) { return c && c.focus(); });
      }
    }
    return self.clients.openWindow(url);
  }));
});
