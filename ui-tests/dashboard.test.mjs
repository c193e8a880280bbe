// The dashboard in a real browser: Debian's chromium driven by
// playwright-core (no browser download), axe-core on every page, a
// screenshot of every page for both roles. `.ci/ui-tests.sh` starts the
// tracker and sets the environment:
//   BASE            the tracker, e.g. http://127.0.0.1:7901
//   ADMIN_EMAIL, ADMIN_PASSWORD   a user created with `clickledger user add`
//   SCREENSHOTS     where the screenshots go (target/ui-screenshots)
//   CHROMIUM        the browser (default /usr/bin/chromium)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { chromium } from "playwright-core";
import { AxeBuilder } from "@axe-core/playwright";

const BASE = process.env.BASE ?? "http://127.0.0.1:7878";
const ADMIN_EMAIL = process.env.ADMIN_EMAIL ?? "admin@example.com";
const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD ?? "correct horse battery";
const SHOTS = process.env.SCREENSHOTS ?? "../target/ui-screenshots";
const run = Date.now().toString(36);

let browser;
const timings = []; // {role, page, status, ms}
const state = {};

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    // root in CI containers: chromium's sandbox needs user namespaces
    args: ["--no-sandbox"],
  });
});

after(async () => {
  await browser?.close();
  writeFileSync(`${SHOTS}/timings.json`, JSON.stringify(timings, null, 2));
  const rows = timings.map((t) => `${t.role.padEnd(9)} ${t.page.padEnd(28)} ${String(t.status).padEnd(4)} ${t.ms.toFixed(2).padStart(7)} ms`);
  console.log(`server time per page (Server-Timing):\n${rows.join("\n")}`);
});

/// A browser context for one person; records each page's server time.
async function person(role) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  context.setDefaultTimeout(5000);
  const page = await context.newPage();
  page.on("response", (r) => {
    if (r.request().resourceType() !== "document") return;
    const h = r.headers()["server-timing"] ?? "";
    const m = /dur=([\d.]+)/.exec(h);
    if (m) timings.push({ role, page: new URL(r.url()).pathname + new URL(r.url()).search, status: r.status(), ms: Number(m[1]) });
  });
  return { context, page, role };
}

/// axe-core finds no serious or critical violation; then a screenshot.
async function check(p, name) {
  const results = await new AxeBuilder({ page: p.page }).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`),
    [],
    `${p.role} ${name}: accessibility violations`,
  );
  await p.page.screenshot({ path: `${SHOTS}/${p.role}-${name}.png`, fullPage: true });
}

async function login(p, email, password) {
  await p.page.goto(`${BASE}/login`);
  await check(p, "login");
  await p.page.getByLabel("E-mail", { exact: true }).fill(email);
  await p.page.getByLabel("Password", { exact: true }).fill(password);
  await p.page.getByRole("button", { name: "Log in", exact: true }).click();
  await p.page.waitForURL(`${BASE}/`);
}

async function notice(p) {
  return (await p.page.locator(".notice").textContent()).trim();
}

test("an admin logs in and creates an advertiser, an offer, an affiliate and a link through the forms", async () => {
  const admin = await person("admin");
  state.admin = admin;
  const { page } = admin;
  const direct = await fetch(`${BASE}/`, { redirect: "manual" });
  assert.equal(direct.status, 303);
  assert.equal(direct.headers.get("location"), "/login");
  await login(admin, ADMIN_EMAIL, ADMIN_PASSWORD);
  await check(admin, "overview-empty");

  await page.goto(`${BASE}/advertisers`);
  await page.getByLabel("Name", { exact: true }).fill(`UI Advertiser ${run}`);
  await page.getByRole("button", { name: "Create the advertiser" }).click();
  const adv = await notice(admin);
  state.advertiser = /Advertiser (adv_\w+) created/.exec(adv)[1];
  state.token = /token=(pt_\w+)/.exec(adv)[1];
  await check(admin, "advertisers");

  await page.goto(`${BASE}/offers`);
  await page.getByLabel("Advertiser", { exact: true }).selectOption(state.advertiser);
  await page.getByLabel("Name", { exact: true }).fill(`UI Offer ${run}`);
  // a macro the tracker does not know: the API's message, next to the field
  await page.getByLabel("Destination URL", { exact: true }).fill("https://shop.example/land?cid={click_id}&x={nope}");
  await page.getByLabel("Payout (amount or percent)", { exact: true }).fill("12.50");
  await page.getByRole("button", { name: "Create the offer" }).click();
  const err = page.locator("#new-offer-destination_url-error");
  assert.match(await err.textContent(), /^destination_url: .*nope/);
  await check(admin, "offers-refused");
  await page.getByLabel("Destination URL", { exact: true }).fill("https://shop.example/land?cid={click_id}&s1={sub1}");
  await page.getByRole("button", { name: "Create the offer" }).click();
  state.offer = /Offer (off_\w+) created/.exec(await notice(admin))[1];
  await check(admin, "offers");

  await page.goto(`${BASE}/affiliates`);
  await page.getByLabel("Name", { exact: true }).fill(`UI Affiliate ${run}`);
  await page.getByRole("button", { name: "Create the affiliate" }).click();
  state.affiliate = /Affiliate (aff_\w+) created/.exec(await notice(admin))[1];
  await check(admin, "affiliates");

  await page.goto(`${BASE}/links`);
  await page.getByLabel("Offer", { exact: true }).selectOption(state.offer);
  await page.getByLabel("Affiliate", { exact: true }).selectOption(state.affiliate);
  await page.getByRole("button", { name: "Create the link" }).click();
  state.link = /Link (lnk_\w+) created/.exec(await notice(admin))[1];
  await check(admin, "links");
});

test("a click and postbacks show on the overview, the conversions and the postback log", async () => {
  const { page } = state.admin;
  const click = await fetch(`${BASE}/c/${state.link}?sub1=ui-${run}`, { redirect: "manual" });
  assert.equal(click.status, 302);
  const cid = new URL(click.headers.get("location")).searchParams.get("cid");
  assert.ok(cid, "the click id is in the destination");
  state.txid = `ui-${run}`;
  const ok = await (await fetch(`${BASE}/postback?token=${state.token}&click_id=${cid}&event=sale&txid=${state.txid}`)).json();
  assert.equal(ok.result, "accepted", JSON.stringify(ok));
  // the advertiser misspelled the click id's name: refused, and the log says why
  const bad = await fetch(`${BASE}/postback?token=${state.token}&clickid_typo=${cid}&event=sale&txid=${state.txid}-2`);
  assert.equal(bad.status, 400);

  await page.goto(`${BASE}/`);
  const card = (label) => page.locator(".kpi", { has: page.getByRole("heading", { name: label, exact: true }) }).locator("dd").first();
  assert.ok(Number(await card("Clicks").textContent()) >= 1);
  assert.ok(Number(await card("Conversions").textContent()) >= 1);
  assert.match(await card("Payout").textContent(), /^\$\d[\d,]*\.\d\d$/);
  await page.getByRole("link", { name: "see them in the postback log" }).waitFor();
  await check(state.admin, "overview");

  await page.goto(`${BASE}/conversions`);
  await page.getByLabel("Click id or txid").fill(state.txid);
  await page.getByRole("button", { name: "Find" }).click();
  await page.getByRole("cell", { name: state.txid, exact: true }).waitFor();
  assert.equal(await page.locator("tbody tr").count(), 1);
  assert.match(await page.locator("tbody").textContent(), /\$12\.50/);
  await check(state.admin, "conversions");

  await page.goto(`${BASE}/postback-log`);
  await page.getByLabel("Result").selectOption("rejected");
  await page.getByRole("button", { name: "Find" }).click();
  await page.waitForURL(/result=rejected/);
  const entry = page.locator("article.entry", { hasText: `${state.txid}-2` });
  assert.match(await entry.textContent(), /missing_click_id/);
  // received beside expected: the unknown name is highlighted, click_id missing
  assert.match(await entry.locator("tr.diff").first().textContent(), /clickid_typo/);
  assert.match(await entry.locator("p.diff").textContent(), /Missing: click_id/);
  await check(state.admin, "postback-log");
});

test("reports, deliveries, the audit log, a conversion and the ledger", async () => {
  const { page } = state.admin;
  await page.goto(`${BASE}/reports`);
  await page.getByLabel("Group by", { exact: true }).fill("day,offer");
  await page.getByLabel("Sort by").selectOption("-clicks");
  await page.getByRole("button", { name: "Run the report" }).click();
  await page.waitForURL(/group_by=day%2Coffer/);
  assert.match(await page.locator("tbody").textContent(), new RegExp(state.offer));
  await check(state.admin, "reports");
  const csv = await page.request.get(page.url().replace("/reports?", "/reports.csv?"));
  assert.match(await csv.text(), /^day,offer,clicks/);
  // a group the API does not know: its message next to the field
  await page.getByLabel("Group by", { exact: true }).fill("day,weather");
  await page.getByRole("button", { name: "Run the report" }).click();
  assert.match(await page.locator("#filter-group_by-error").textContent(), /^group_by: `weather` is not one of/);
  await page.goto(`${BASE}/reports`);
  await page.locator("#chart canvas").waitFor();
  await check(state.admin, "reports-chart");

  await page.goto(`${BASE}/deliveries`);
  await check(state.admin, "deliveries");
  await page.goto(`${BASE}/alerts`);
  await page.getByLabel("URL", { exact: true }).fill("https://hooks.example.com/clickledger");
  await page.getByLabel("Kinds (optional)", { exact: true }).fill("postbacks_stopped, digest");
  await page.getByLabel("Format", { exact: true }).selectOption("slack");
  await page.getByRole("button", { name: "Add the hook" }).click();
  assert.match(await notice(state.admin), /^Alert hook ahk_\w+ added\. Its signing secret, shown only now: whsec_/);
  assert.match(await page.locator("table").last().textContent(), /digest, postbacks_stopped/);
  await check(state.admin, "alerts");
  await page.goto(`${BASE}/audit?action=create`);
  assert.match(await page.locator("tbody").textContent(), new RegExp(state.link));
  await check(state.admin, "audit");

  await page.goto(`${BASE}/conversions?q=${state.txid}`);
  await page.getByRole("link", { name: /^cv_/ }).click();
  await page.getByText(state.txid, { exact: true }).first().waitFor();
  state.conversion = new URL(page.url()).pathname.split("/").pop();
  await check(state.admin, "conversion");

  await page.goto(`${BASE}/finance?affiliate=${state.affiliate}`);
  await page.getByLabel("Amount", { exact: true }).fill("99999.00");
  await page.getByRole("button", { name: "Add the entry" }).click();
  assert.match(await page.locator("#entry-amount-error").textContent(), /^amount: a payout of 99999.00 USD is more than the 12.50 USD available/);
  await check(state.admin, "finance-refused");
  await page.getByLabel("Kind", { exact: true }).selectOption("payout");
  await page.getByLabel("Amount", { exact: true }).fill("2.50");
  await page.getByRole("button", { name: "Add the entry" }).click();
  assert.match(await notice(state.admin), /^Payout recorded: -\$2\.50 in the ledger\.$/);
  await check(state.admin, "finance");

  // the demo affiliate's conversion, for the next test's 404
  const demoClick = await fetch(`${BASE}/c/lnk_demo`, { redirect: "manual" });
  const demoCid = new URL(demoClick.headers.get("location")).searchParams.get("click_id");
  const demo = await (await fetch(`${BASE}/postback?token=demo-postback-token&click_id=${demoCid}&event=registration&txid=demo-${run}`)).json();
  assert.equal(demo.result, "accepted", JSON.stringify(demo));
  state.otherConversion = demo.conversion_id;
});

test("an offer's page runs the integration check; a link's builder adds sub ids as one types", async () => {
  const { page } = state.admin;
  await page.goto(`${BASE}/offers`);
  await page.getByLabel("Id or name contains").fill(`UI Offer ${run}`);
  await page.getByRole("button", { name: "Search" }).click();
  assert.equal(await page.locator("tbody tr").count(), 1, "the search keeps the one offer");
  await check(state.admin, "offers-search");
  await page.getByRole("link", { name: state.offer }).click();
  await page.getByRole("heading", { name: `Offer UI Offer ${run}` }).waitFor();
  await check(state.admin, "offer");
  // caps as JSON: the API's refusal next to the text area, nothing saved
  await page.getByLabel("Caps (JSON)").fill('[{"period": "fortnight", "metric": "conversions", "limit": "5"}]');
  await page.getByRole("button", { name: "Save the changes" }).click();
  assert.match(await page.locator("#edit-caps-error").textContent(), /^caps\[0\]\.period: unknown variant `fortnight`/);
  await check(state.admin, "offer-refused");
  await page.getByRole("button", { name: "Run the integration check" }).click();
  const steps = page.getByRole("list", { name: "Integration check" });
  await steps.waitFor();
  assert.equal(await steps.locator("li.pass").count(), 6, await steps.textContent());
  await check(state.admin, "offer-check");
  const setup = await page.request.get(`${BASE}/offers/${state.offer}/setup`);
  assert.equal(setup.status(), 200);
  assert.match(await setup.text(), /postback/i);

  await page.goto(`${BASE}/links/${state.link}`);
  await page.getByLabel("Sub id 1").fill("spring");
  // htmx refreshes the built link without a submit
  await page.locator("#built code", { hasText: "sub1=spring" }).waitFor();
  await page.getByLabel("Source").fill("news letter");
  await page.locator("#built code", { hasText: "source=news+letter" }).waitFor();
  await check(state.admin, "link-builder");
});

test("an admin changes an advertiser and an affiliate, and reconciles the advertiser's report", async () => {
  const { page } = state.admin;
  await page.goto(`${BASE}/advertisers/${state.advertiser}`);
  await page.getByLabel("Allowed source addresses").fill("10.0.0.0/33");
  await page.getByRole("button", { name: "Save the changes" }).click();
  assert.match(await page.locator("#edit-ip_allowlist-error").textContent(), /^ip_allowlist\[0\]: /);
  await check(state.admin, "advertiser-refused");
  await page.getByLabel("Allowed source addresses").fill("");
  await page.getByLabel("Own field names").fill("order_ref=txid");
  await page.getByRole("button", { name: "Save the changes" }).click();
  assert.equal(await notice(state.admin), "Saved.");
  assert.match(await page.locator(".facts").textContent(), /order_ref=txid/);
  await page.getByLabel("The advertiser's CSV (optional)", { exact: true }).fill(`txid,amount,status\n${state.txid},,approved\nnever-seen,5.00,approved\n`);
  await page.getByRole("button", { name: "Compare" }).click();
  const missing = page.getByRole("region", { name: "In their report, not recorded here" });
  assert.match(await missing.textContent(), /never-seen/);
  await check(state.admin, "advertiser");
  // the same report as a file (multipart), as a spreadsheet saves it
  await page.getByLabel("The advertiser's CSV file (optional)", { exact: true }).setInputFiles({
    name: "report.csv",
    mimeType: "text/csv",
    buffer: Buffer.from(`\ufefftxid,amount,status\r\n${state.txid},,approved\r\nfrom-a-file,7.00,approved\r\n`),
  });
  await page.getByRole("button", { name: "Compare" }).click();
  assert.match(await missing.textContent(), /from-a-file/);
  assert.doesNotMatch(await missing.textContent(), /never-seen/);

  await page.goto(`${BASE}/affiliates/${state.affiliate}`);
  await page.getByLabel("Postback URL").fill("https://aff.example/pb?cid={click_id}&x={nope}");
  await page.getByRole("button", { name: "Save the changes" }).click();
  assert.match(await page.locator("#edit-postback_url-error").textContent(), /^postback_url: .*nope/);
  await page.getByLabel("Postback URL").fill("https://aff.example/pb?cid={click_id}&payout={payout}");
  await page.getByRole("button", { name: "Save the changes" }).click();
  assert.equal(await notice(state.admin), "Saved.");
  const versions = page.getByRole("region", { name: "Postback template versions, newest first" });
  assert.match(await versions.textContent(), /aff\.example/);
  await check(state.admin, "affiliate");
  // a test postback: the server's destination rules refuse a loopback URL
  await page.getByLabel("Postback URL").fill("https://127.0.0.1:9/pb?cid={click_id}&payout={payout}");
  await page.getByRole("button", { name: "Save the changes" }).click();
  assert.equal(await notice(state.admin), "Saved.");
  await page.getByRole("button", { name: "Send a test postback" }).click();
  const sent = page.getByRole("region", { name: /^Test postback/ });
  assert.match(await sent.textContent(), /GET https:\/\/127\.0\.0\.1:9\/pb\?cid=/);
  assert.match(await sent.textContent(), /destination refused: 127\.0\.0\.1 is an internal address/);
  await check(state.admin, "affiliate-test-postback");
});

test("an admin imports conversions from a file; an unknown page is the dashboard's 404", async () => {
  const { page } = state.admin;
  await page.goto(`${BASE}/conversions`);
  await page.getByLabel("CSV file (optional)", { exact: true }).setInputFiles({
    name: "conversions.csv",
    mimeType: "text/csv",
    buffer: Buffer.from("click_id,event,txid\nnot-a-click-id,sale,imp-1\n"),
  });
  await page.getByRole("button", { name: "Import" }).click();
  await page.getByRole("heading", { name: "Conversion import" }).waitFor();
  assert.equal(await notice(state.admin), "1 row read: 1 rejected.");
  assert.match(await page.getByRole("region", { name: "The import, row by row" }).textContent(), /imp-1/);
  await check(state.admin, "conversion-import");
  const missing = await page.goto(`${BASE}/no-such-page`);
  assert.equal(missing.status(), 404);
  await page.getByRole("heading", { name: "Page not found" }).waitFor();
  await check(state.admin, "not-found");
});

test("an admin pauses and resumes a link", async () => {
  const { page } = state.admin;
  await page.goto(`${BASE}/links`);
  await page.getByRole("button", { name: `Pause ${state.link}` }).click();
  await page.getByRole("button", { name: `Resume ${state.link}` }).waitFor();
  const paused = await fetch(`${BASE}/c/${state.link}`, { redirect: "manual" });
  assert.equal(paused.status, 410);
  await page.getByRole("button", { name: `Resume ${state.link}` }).click();
  await page.getByRole("button", { name: `Pause ${state.link}` }).waitFor();
});

test("an invited affiliate user sees only its rows and no admin page", async () => {
  const { page } = state.admin;
  await page.goto(`${BASE}/users`);
  const email = `aff-${run}@example.com`;
  await page.getByLabel("E-mail", { exact: true }).fill(email);
  await page.getByLabel("Role", { exact: true }).selectOption("affiliate");
  await page.getByLabel("Partner id").fill(state.affiliate);
  await page.getByRole("button", { name: "Create the invitation" }).click();
  const link = /(https?:\/\/\S+\/invite\/\w+)/.exec(await notice(state.admin))[1];
  await check(state.admin, "users");

  const aff = await person("affiliate");
  state.aff = aff;
  await aff.page.goto(link);
  await check(aff, "invite");
  await aff.page.getByLabel("New password", { exact: true }).fill("affiliate password 1");
  await aff.page.getByRole("button", { name: "Set the password" }).click();
  await aff.page.getByRole("heading", { name: "Password set" }).waitFor();
  await login(aff, email, "affiliate password 1");
  await check(aff, "overview");
  await aff.page.goto(`${BASE}/links`);
  assert.match(await aff.page.locator("tbody").textContent(), new RegExp(state.link));
  assert.doesNotMatch(await aff.page.locator("tbody").textContent(), /lnk_demo/, "the demo affiliate's link");
  await check(aff, "links");
  await aff.page.goto(`${BASE}/conversions`);
  const rows = await aff.page.locator("tbody").textContent();
  assert.match(rows, new RegExp(state.txid));
  await check(aff, "conversions");
  await aff.page.goto(`${BASE}/offers`);
  await check(aff, "offers");
  await aff.page.goto(`${BASE}/conversions/${state.conversion}`);
  await check(aff, "conversion");
  // another affiliate's conversion typed into the URL: as if it did not exist
  const other = await aff.page.goto(`${BASE}/conversions/${state.otherConversion}`);
  assert.equal(other.status(), 404);
  await aff.page.goto(`${BASE}/reports?group_by=sub1`);
  assert.match(await aff.page.locator("tbody").textContent(), new RegExp(`ui-${run}`));
  assert.doesNotMatch(await aff.page.locator("tbody").textContent(), /spring/);
  await check(aff, "reports");
  await aff.page.goto(`${BASE}/finance`);
  assert.match(await aff.page.locator(".facts").textContent(), /-?\$\d/);
  assert.equal(await aff.page.locator("#entry").count(), 0, "no ledger form for an affiliate");
  await check(aff, "finance");
  await aff.page.goto(`${BASE}/deliveries`);
  await check(aff, "deliveries");
  await aff.page.goto(`${BASE}/affiliates/${state.affiliate}`);
  await aff.page.getByRole("button", { name: "Send a test postback" }).waitFor();
  await check(aff, "settings");
  await aff.page.goto(`${BASE}/links/${state.link}?sub1=mine`);
  assert.match(await aff.page.locator("#built code").textContent(), /sub1=mine/);
  assert.equal(await aff.page.getByRole("button", { name: /^Pause/ }).count(), 0);
  await check(aff, "link-builder");
  assert.equal((await aff.page.goto(`${BASE}/links/lnk_demo`)).status(), 404, "the demo affiliate's link");
  for (const admin of ["/advertisers", "/affiliates", "/users", "/postback-log", "/audit"]) {
    const r = await aff.page.goto(`${BASE}${admin}`);
    assert.equal(r.status(), 403, admin);
  }
  await check(aff, "forbidden");
});

test("pages read on a phone: nothing wider than the screen but tables, which scroll in their frame", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const cookies = await state.admin.context.cookies();
  await context.addCookies(cookies);
  const page = await context.newPage();
  const phone = { page, role: "phone" };
  for (const [path, name] of [["/", "overview"], ["/links", "links"], ["/postback-log?result=rejected", "postback-log"], [`/links/${state.link}`, "link-builder"]]) {
    await page.goto(`${BASE}${path}`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(wide <= 1, `${path}: the page is ${wide}px wider than the phone`);
    await check(phone, name);
  }
  await context.close();
});

test("the keyboard reaches the content first and every control after", async () => {
  const { page } = state.admin;
  await page.goto(`${BASE}/links`);
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), "Skip to content");
  await page.keyboard.press("Enter");
  assert.match(page.url(), /#main$/);
  // tabbing on from the content reaches the create form's first control
  for (let i = 0; i < 200; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate(() => document.activeElement.id) === "new-link-offer_id") break;
  }
  assert.equal(await page.evaluate(() => document.activeElement.id), "new-link-offer_id");
});

test("a form posted without the CSRF token is refused", async () => {
  const r = await state.admin.page.request.post(`${BASE}/advertisers`, { form: { name: "no token" } });
  assert.equal(r.status(), 403);
  assert.match(await r.text(), /without its security token/);
});

test("logout ends the session", async () => {
  for (const p of [state.aff, state.admin]) {
    await p.page.goto(`${BASE}/`);
    await p.page.getByRole("button", { name: "Log out" }).click();
    await p.page.waitForURL(`${BASE}/login`);
    await p.page.goto(`${BASE}/`);
    assert.equal(new URL(p.page.url()).pathname, "/login");
  }
});
