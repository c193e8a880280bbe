/*! Clickledger t.js v1: keeps an affiliate click's id in a first-party
 * cookie (and localStorage) on the landing page, and reports conversions:
 * clickledger.conversion({event, txid, amount, currency, status}).
 * <script src="https://TRACKER/t.js?v=1" data-key="pk_..."></script>
 * Optional: data-param (URL parameter, default click_id), data-days
 * (default 30), data-domain (cookie domain, default the page's host). */
(function (w, d) {
  "use strict";
  var s = d.currentScript;
  var ds = (s && s.dataset) || {};
  var base = s ? s.src.replace(/\/t\.js(\?.*)?$/, "") : "";
  var days = parseInt(ds.days, 10) || 30;
  var NAME = "_clcid";
  var valid = /^[A-Za-z0-9_-]{1,128}$/;

  function save(id) {
    var c = NAME + "=" + id + "; path=/; max-age=" + days * 86400 + "; SameSite=Lax";
    if (ds.domain) c += "; domain=" + ds.domain;
    if (w.location.protocol === "https:") c += "; Secure";
    d.cookie = c;
    try {
      w.localStorage.setItem(NAME, JSON.stringify({ id: id, exp: Date.now() + days * 864e5 }));
    } catch (e) { /* storage off: the cookie is enough */ }
  }

  function clickId() {
    var m = d.cookie.match(/(?:^|; )_clcid=([^;]*)/);
    if (m) return m[1];
    try {
      var v = JSON.parse(w.localStorage.getItem(NAME));
      if (v && v.exp > Date.now() && valid.test(v.id)) return v.id;
    } catch (e) { /* nothing kept */ }
    return null;
  }

  var landed = null;
  try { landed = new URLSearchParams(w.location.search).get(ds.param || "click_id"); } catch (e) { /* old browser */ }
  if (landed && valid.test(landed)) save(landed);

  function failed(message) {
    return { result: "failed", message: String(message) };
  }

  // Resolves with the tracker's answer (or {result: "failed"|"skipped"});
  // never rejects, so a page's checkout code needs no catch.
  function conversion(o) {
    o = o || {};
    var cid = clickId();
    if (!cid) return Promise.resolve({ result: "skipped", message: "no click id: the visitor did not come through a tracking link" });
    var body = { publishable_key: ds.key || "", click_id: cid };
    ["event", "txid", "amount", "currency", "status"].forEach(function (k) {
      if (o[k] != null) body[k] = String(o[k]);
    });
    var url = base + "/t/conversion";
    var data = JSON.stringify(body);
    if (w.fetch) {
      // text/plain needs no CORS preflight; keepalive outlives the page
      return w.fetch(url, { method: "POST", body: data, keepalive: true, credentials: "omit" })
        .then(function (r) { return r.json(); })
        .catch(failed);
    }
    var sent = w.navigator.sendBeacon && w.navigator.sendBeacon(url, data);
    return Promise.resolve(sent ? { result: "sent" } : failed("not sent"));
  }

  var queued = (w.clickledger && w.clickledger.q) || [];
  w.clickledger = { conversion: conversion, clickId: clickId, version: 1 };
  queued.forEach(function (o) { conversion(o); });
})(window, document);
