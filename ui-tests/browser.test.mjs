// Browser conversions in a real browser: Debian's chromium loads t.js from
// the tracker on landing pages served here (a node http server on
// loopback), and reports conversions from a later page and from an <img>
// pixel. `.ci/ui-tests.sh` starts `clickledger serve --demo`, whose
// advertiser has the publishable key `pk_demo_publishable_key` and the
// pixel_hosts `127.0.0.1` and `*.shop.test`. Chromium resolves every
// `*.test` name to 127.0.0.1 (--host-resolver-rules), so `www.shop.test`
// is an allowed host and `evil.test` one that is not, on the same server.
//   BASE        the tracker, e.g. http://127.0.0.1:7901
//   ADMIN_KEY   its admin API key
//   CHROMIUM    the browser (default /usr/bin/chromium)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { chromium } from "playwright-core";

const BASE = process.env.BASE ?? "http://127.0.0.1:7878";
const ADMIN_KEY = process.env.ADMIN_KEY ?? "ui-tests-admin-key";
const KEY = "pk_demo_publishable_key";
const run = Date.now().toString(36);

let browser;
let site; // the advertiser's pages
let port;

const script = `<script src="${BASE}/t.js?v=1" data-key="${KEY}"></script>`;
const pages = {
  // the landing page: t.js keeps the click id from the URL
  "/landing": () => `<!doctype html><title>Landing</title>${script}<p>Welcome</p>`,
  // a later page: the conversion, its answer kept for the test
  "/thanks": (q) => `<!doctype html><title>Thanks</title>${script}
<script>window.answer = clickledger.conversion({event: "sale", txid: ${JSON.stringify(q.get("txid"))}, amount: "49.90", currency: "USD"});</script>
<p>Thank you</p>`,
  // no JavaScript: the pixel, the click id filled in by the shop's server
  "/pixel": (q) => `<!doctype html><title>Pixel</title>
<img id="px" width="1" height="1" alt="" src="${BASE}/px?publishable_key=${KEY}&click_id=${encodeURIComponent(q.get("cid"))}&event=registration&txid=${encodeURIComponent(q.get("txid"))}">`,
};

before(async () => {
  site = createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    const page = pages[url.pathname];
    res.writeHead(page ? 200 : 404, { "content-type": "text/html; charset=utf-8" });
    res.end(page ? page(url.searchParams) : "not found");
  });
  await new Promise((ok) => site.listen(0, "127.0.0.1", ok));
  port = site.address().port;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--host-resolver-rules=MAP *.test 127.0.0.1"],
  });
});

after(async () => {
  await browser?.close();
  site?.close();
});

/// A click on the demo link: its click id, from the redirect.
async function click() {
  const r = await fetch(`${BASE}/c/lnk_demo?sub1=ui&source=browser-test`, { redirect: "manual" });
  assert.equal(r.status, 302);
  return new URL(r.headers.get("location")).searchParams.get("click_id");
}

async function api(path) {
  const r = await fetch(`${BASE}${path}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  assert.equal(r.status, 200, path);
  return r.json();
}

async function page() {
  const context = await browser.newContext();
  context.setDefaultTimeout(5000);
  return { context, page: await context.newPage() };
}

test("t.js keeps the click id in a first-party cookie and a later page's conversion is recorded with its payout", async () => {
  const cid = await click();
  const { context, page: p } = await page();
  const origin = `http://www.shop.test:${port}`;
  await p.goto(`${origin}/landing?click_id=${cid}&utm_source=x`);
  const cookie = (await context.cookies(origin)).find((c) => c.name === "_clcid");
  assert.ok(cookie, "the _clcid cookie is set");
  assert.equal(cookie.value, cid);
  assert.equal(cookie.sameSite, "Lax");
  assert.equal(cookie.domain, "www.shop.test");
  const days = (cookie.expires * 1000 - Date.now()) / 86_400_000;
  assert.ok(days > 29.9 && days <= 30, `kept ${days} days`);
  assert.equal(JSON.parse(await p.evaluate(() => localStorage.getItem("_clcid"))).id, cid);

  // a later page without the click id in its URL
  const txid = `ui-${run}-1`;
  await p.goto(`${origin}/thanks?txid=${txid}`);
  const answer = await p.evaluate(() => window.answer);
  assert.equal(answer.result, "accepted", JSON.stringify(answer));
  assert.equal(answer.payout, "14.97");

  const { items } = await api(`/api/v1/conversions?click_id=${cid}`);
  assert.equal(items.length, 1);
  assert.equal(items[0].channel, "browser");
  assert.equal(items[0].payout, "14.97");
  assert.equal(items[0].amount, "49.90");
  assert.equal(items[0].txid, txid);
  assert.equal(items[0].source, "browser-test");

  // the same order again from the page: a duplicate, nothing new
  await p.reload();
  assert.equal((await p.evaluate(() => window.answer)).result, "duplicate");
  assert.equal((await api(`/api/v1/conversions?click_id=${cid}`)).items.length, 1);
  await context.close();
});

test("the same pages on a host not on pixel_hosts are refused, and the refusal is logged", async () => {
  const cid = await click();
  const { context, page: p } = await page();
  const origin = `http://evil.test:${port}`;
  await p.goto(`${origin}/landing?click_id=${cid}`);
  assert.equal((await context.cookies(origin)).find((c) => c.name === "_clcid")?.value, cid);
  await p.goto(`${origin}/thanks?txid=ui-${run}-2`);
  // the tracker names no other origin in CORS: the page cannot read the answer
  const answer = await p.evaluate(() => window.answer);
  assert.equal(answer.result, "failed", JSON.stringify(answer));

  assert.equal((await api(`/api/v1/conversions?click_id=${cid}`)).items.length, 0);
  // refused before its fields are read (as a postback with a wrong
  // token), so the entry is found by its received fields
  const log = await api("/api/v1/postbacks?error=host_not_allowed&channel=browser");
  const mine = log.items.filter((e) => e.fields.some(([k, v]) => k === "click_id" && v === cid));
  assert.equal(mine.length, 1, JSON.stringify(log.items));
  const entry = mine[0];
  assert.equal(entry.error, "host_not_allowed");
  assert.equal(entry.http_status, 403);
  assert.match(entry.message, /`evil\.test` \(from the Origin header\)/);
  assert.equal(entry.advertiser_id, "adv_demo");
  await context.close();
});

test("an <img> pixel on an allowed page records a conversion", async () => {
  const cid = await click();
  const { context, page: p } = await page();
  const txid = `ui-${run}-3`;
  await p.goto(`http://127.0.0.1:${port}/pixel?cid=${cid}&txid=${txid}`);
  await p.waitForFunction(() => document.getElementById("px").complete);
  assert.equal(await p.evaluate(() => document.getElementById("px").naturalWidth), 1);

  const { items } = await api(`/api/v1/conversions?click_id=${cid}&channel=browser`);
  assert.equal(items.length, 1);
  assert.equal(items[0].event, "registration");
  assert.equal(items[0].payout, "2.00");
  assert.equal(items[0].txid, txid);
  await context.close();
});
