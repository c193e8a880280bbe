//! Integration QA: per-offer setup documents, test clicks and test
//! postbacks. Test clicks and their conversions are flagged `test` and never
//! count in reports.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use clickledger_domain::postback::Field;
use clickledger_domain::{ErrorCode, Rule};
use clickledger_store::{Advertiser, Offer, Scope};
use serde::Deserialize;
use serde_json::json;

use crate::admin::{ok, ApiResult};
use crate::api::{ApiError, JsonBody, Params, Path};
use crate::auth::{Admin, Caller};
use crate::click::ClickParams;
use crate::postback::{process, Inbound};
use crate::AppState;

fn rule_text(r: &Rule) -> String {
    match r {
        Rule::Fixed { amount } => format!("fixed {amount}"),
        Rule::Revshare { percent } => format!("{percent}% of amount"),
        Rule::FromPostback { max } => format!("payout from the postback, at most {max}"),
    }
}

/// The setup document of one offer, in Markdown.
pub fn setup_markdown(app: &AppState, offer_id: &str) -> Option<String> {
    let cfg = app.cache.get();
    let entry = cfg.offers.get(offer_id)?;
    let o = &entry.offer;
    let adv = cfg.advertisers.get(&o.advertiser_id)?;
    let base = &app.public_url;
    let mut md = String::new();
    let _ = writeln!(md, "# Setup: {} ({})\n", o.name, o.id);
    let _ = writeln!(
        md,
        "Advertiser: {} ({}). Currency: {}. Attribution window: {} days.\n",
        adv.name, adv.id, o.currency, o.attribution_window_days
    );

    let _ = writeln!(md, "## 1. Tracking links\n");
    let links: Vec<_> = cfg.links.values().filter(|l| l.offer_id == o.id).collect();
    if links.is_empty() {
        let _ = writeln!(md, "No links yet: create one with `POST /api/v1/links`.\n");
    }
    for l in links {
        let _ = writeln!(md, "- affiliate `{}`: `{base}/c/{}?sub1={{sub1}}&sub2={{sub2}}&sub3={{sub3}}&sub4={{sub4}}&sub5={{sub5}}&source={{source}}`", l.affiliate_id, l.id);
    }
    let _ = writeln!(
        md,
        "\nThe visitor is sent to:\n\n```\n{}\n```\n",
        o.destination_url
    );
    let _ = writeln!(md, "| macro | filled with |\n| --- | --- |");
    for (m, meaning) in [
        (
            "{click_id}",
            "the click id: the advertiser must store it and send it back",
        ),
        ("{offer_id}", "this offer's id"),
        ("{affiliate_id}", "the affiliate's id"),
        ("{link_id}", "the tracking link's id"),
        (
            "{sub1}..{sub5}",
            "the affiliate's sub ids from the tracking link",
        ),
        ("{source}", "the traffic source from the tracking link"),
    ] {
        let _ = writeln!(md, "| `{m}` | {meaning} |");
    }

    let _ = writeln!(md, "\n## 2. Postback URL\n\nThe advertiser's server calls, for every conversion and status change:\n");
    let _ = writeln!(
        md,
        "```\n{}\n```\n",
        clickledger_domain::postback::url_template(base, "<POSTBACK_TOKEN>")
    );
    let _ = writeln!(md, "GET, or POST as a form or a JSON object. The token may also go in the path: `{base}/postback/<POSTBACK_TOKEN>`.\n");
    let _ = writeln!(
        md,
        "| field | required | accepted names |\n| --- | --- | --- |"
    );
    for f in Field::ALL {
        let mut names = vec![f.name().to_string()];
        names.extend(
            adv.alias_map
                .iter()
                .filter(|(_, c)| c.as_str() == f.name())
                .map(|(t, _)| t.clone()),
        );
        names.extend(f.default_aliases().iter().map(|s| s.to_string()));
        let required = match f {
            Field::ClickId => "yes",
            Field::Token => "yes, unless signed with adv",
            Field::Txid => "for repeatable events",
            Field::Ts | Field::Sig | Field::Adv => "when signing",
            _ => "no",
        };
        let _ = writeln!(
            md,
            "| `{}` | {required} | {} |",
            f.name(),
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    let _ = writeln!(md, "\n## 3. Events and statuses\n");
    let _ = writeln!(md, "| event | payout | revenue | repeatable | default status | bounds |\n| --- | --- | --- | --- | --- | --- |");
    for e in &o.events {
        let bounds = [
            e.max_amount.map(|m| format!("amount ≤ {m}")),
            e.max_payout.map(|m| format!("payout ≤ {m}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} | {} | {} |",
            e.name,
            rule_text(&e.payout),
            e.revenue
                .as_ref()
                .map(rule_text)
                .unwrap_or_else(|| "none".into()),
            if e.repeatable {
                "yes (each needs a txid)"
            } else {
                "no (once per click)"
            },
            e.default_status.as_str(),
            if bounds.is_empty() {
                "none".into()
            } else {
                bounds
            }
        );
    }
    let _ = writeln!(md, "\nWithout `event`, the first event (`{}`) is meant. Statuses: `pending`, `approved`, `rejected`, `reversed`; allowed changes: pending → approved, rejected or reversed; approved → reversed.", o.events.first().map(|e| e.name.as_str()).unwrap_or(""));
    if !adv.status_map.is_empty() {
        let words = adv
            .status_map
            .iter()
            .map(|(w, s)| format!("`{w}` → {s}"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(md, "This advertiser's own status words: {words}.");
    }
    if o.min_conversion_seconds > 0 {
        let _ = writeln!(
            md,
            "Conversions sooner than {} s after the click are {}.",
            o.min_conversion_seconds,
            if o.reject_too_fast {
                "refused (too_fast)"
            } else {
                "flagged too_fast"
            }
        );
    }

    let _ = writeln!(
        md,
        "\n## 4. Signing{}\n",
        if adv.require_signature {
            " (required for this advertiser)"
        } else {
            " (optional)"
        }
    );
    let _ = writeln!(md, "Add `adv={}` and `ts` (unix seconds, within 300 s of our clock), then `sig`: the lowercase hex HMAC-SHA256, keyed with the signing secret, of every field except `sig`, sorted by name, as `name=value` with decoded values, joined by `&`.\n", adv.id);
    let _ = writeln!(md, "```sh\nSECRET='<SIGNING_SECRET>'; TS=$(date +%s)\nMSG=\"adv={}&click_id=$CLICK_ID&event={}&ts=$TS&txid=order-1\"\nSIG=$(printf '%s' \"$MSG\" | openssl dgst -sha256 -hmac \"$SECRET\" | sed 's/^.* //')\ncurl -s \"{base}/postback?adv={}&click_id=$CLICK_ID&event={}&ts=$TS&txid=order-1&sig=$SIG\"\n```\n", adv.id, o.events.first().map(|e| e.name.as_str()).unwrap_or(""), adv.id, o.events.first().map(|e| e.name.as_str()).unwrap_or(""));
    let _ = writeln!(md, "POST bodies may instead be signed the Standard Webhooks way: headers `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>` keyed with the base64-decoded part of the `whsec_` secret; identify the advertiser with the path token or `?adv={}`.\n", adv.id);
    if !adv.ip_allowlist.is_empty() {
        let _ = writeln!(
            md,
            "Postbacks are accepted only from: {}.\n",
            adv.ip_allowlist.join(", ")
        );
    }

    browser_section(&mut md, base, adv, o);

    let _ = writeln!(md, "## 6. Example requests\n");
    let first = o.events.first().map(|e| e.name.as_str()).unwrap_or("");
    let _ = writeln!(md, "```sh\ncurl -s \"{base}/postback?token=<POSTBACK_TOKEN>&click_id=<CLICK_ID>&event={first}&txid=order-1&amount=49.90&currency={}\"\ncurl -s -X POST {base}/postback/<POSTBACK_TOKEN> -H 'content-type: application/json' \\\n  -d '{{\"click_id\": \"<CLICK_ID>\", \"event\": \"{first}\", \"txid\": \"order-1\", \"amount\": \"49.90\"}}'\n```\n", o.currency);
    let _ = writeln!(md, "Answers: `{{\"result\": \"accepted\", \"conversion_id\": ...}}`, `duplicate` (same txid again), `updated` (a status change).\n");

    let _ = writeln!(
        md,
        "## 7. Error codes\n\n| code | HTTP | meaning |\n| --- | --- | --- |"
    );
    for c in ErrorCode::ALL {
        let _ = writeln!(
            md,
            "| `{}` | {} | {} |",
            c.as_str(),
            c.http_status(),
            c.meaning()
        );
    }

    let _ = writeln!(md, "\n## 8. Test checklist\n");
    for step in [
        "Follow the tracking link; the landing page URL contains a 30-character click id.",
        "The advertiser stores the click id with the visitor's session or order.",
        "Fire a postback with that click id; the answer is `accepted` with a conversion id.",
        "Fire it again: `duplicate`. Change the status: `updated`.",
        "Check `GET /api/v1/postbacks?offer_id=...`: each entry shows what was received, what was expected, and the difference.",
        "Run `clickledger check --url <tracker> --offer <offer id> --key <admin key>`.",
    ] {
        let _ = writeln!(md, "- [ ] {step}");
    }
    Some(md)
}

/// "5. Browser conversions": the snippet filled in for this offer, and
/// when to prefer server-to-server postbacks.
fn browser_section(md: &mut String, base: &str, adv: &Advertiser, o: &Offer) {
    let b = &adv.browser;
    let _ = writeln!(md, "## 5. Browser conversions (t.js and the pixel)\n");
    let _ = writeln!(md, "For advertisers who cannot send postbacks from their server. The advertiser's publishable key (not a secret: it is in the pages) is `{}`.", if b.publishable_key.is_empty() { "<none yet: POST /api/v1/advertisers/{id}/rotate-publishable-key>" } else { b.publishable_key.as_str() });
    if b.pixel_hosts.is_empty() {
        let _ = writeln!(md, "**This advertiser lists no `pixel_hosts` yet, so every browser conversion is refused** (`host_not_allowed`): set the hosts of its landing and thank-you pages first (`PATCH /api/v1/advertisers/{}` with `{{\"pixel_hosts\": [\"shop.example\", \"*.shop.example\"]}}`).\n", adv.id);
    } else {
        let _ = writeln!(md, "Pages may send them from: {} (the page's Origin or Referer host; `*.x` is any subdomain of x, not x itself).\n", b.pixel_hosts.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", "));
    }
    let domain = b
        .cookie_domain
        .as_deref()
        .map(|d| format!(" data-domain=\"{d}\""))
        .unwrap_or_default();
    let param = if b.click_id_param == "click_id" {
        String::new()
    } else {
        format!(" data-param=\"{}\"", b.click_id_param)
    };
    let days = if b.cookie_days == 30 {
        String::new()
    } else {
        format!(" data-days=\"{}\"", b.cookie_days)
    };
    let v = crate::browser::SCRIPT_VERSION;
    let _ = writeln!(md, "On every page (the landing page keeps the `{}` from its URL in a first-party cookie, {} days, `SameSite=Lax`, and in localStorage):\n", b.click_id_param, b.cookie_days);
    let _ = writeln!(md, "```html\n<script>window.clickledger=window.clickledger||{{q:[],conversion:function(o){{this.q.push(o)}}}}</script>\n<script async src=\"{base}/t.js?v={v}\" data-key=\"{}\"{param}{days}{domain}></script>\n```\n", b.publishable_key);
    let first = o.events.first().map(|e| e.name.as_str()).unwrap_or("");
    let _ = writeln!(
        md,
        "On the page where the conversion happens (events of this offer: {}):\n",
        o.events
            .iter()
            .map(|e| format!("`{}`", e.name))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(md, "```html\n<script>clickledger.conversion({{event: \"{first}\", txid: \"ORDER-ID\", amount: \"49.90\", currency: \"{}\"}});</script>\n```\n", o.currency);
    let _ = writeln!(md, "Without JavaScript, the 1x1 pixel (always answers the GIF; the outcome is in the postback log):\n");
    let _ = writeln!(md, "```html\n<img src=\"{base}/px?publishable_key={}&click_id=CLICK_ID&event={first}&txid=ORDER-ID&amount=49.90\" width=\"1\" height=\"1\" alt=\"\">\n```\n", b.publishable_key);
    let _ = writeln!(md, "Browser conversions record `channel: browser`{}; the txid dedup, statuses, caps and payout bounds apply as for postbacks.\n", if b.browser_pending { " and **start `pending`** (this advertiser's `browser_pending`): its server approves them with a postback for the same txid" } else { "" });
    let _ = writeln!(md, "**Prefer server-to-server postbacks when you can.** Ad blockers and privacy tools block tracking scripts and pixels, so some browser conversions never arrive; Safari (and other browsers' tracking prevention) keeps cookies set by a script at most 7 days, so a conversion more than 7 days after the click loses its click id. Serving `t.js` from the advertiser's own subdomain (a CNAME or reverse proxy to this tracker, e.g. `track.shop.example`) avoids many blockers, and `data-domain` shares the cookie across the shop's subdomains. Anyone can send a browser conversion with the publishable key from an allowed page; for money that matters, set `browser_pending` and approve from the server.\n");
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn inline(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in escape(s).split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// Renders the subset of Markdown `setup_markdown` writes.
pub fn markdown_to_html(md: &str, title: &str) -> String {
    let mut html = format!("<!doctype html><html><head><meta charset=\"utf-8\"><title>{}</title><style>body{{font-family:sans-serif;max-width:60rem;margin:2rem auto}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3rem}}pre{{background:#f4f4f4;padding:.6rem;overflow-x:auto}}</style></head><body>\n", escape(title));
    let mut in_code = false;
    let mut in_table = false;
    let mut in_list = false;
    for line in md.lines() {
        if line.starts_with("```") {
            html.push_str(if in_code { "</pre>\n" } else { "<pre>" });
            in_code = !in_code;
            continue;
        }
        if in_code {
            let _ = writeln!(html, "{}", escape(line));
            continue;
        }
        if in_table && !line.starts_with('|') {
            html.push_str("</table>\n");
            in_table = false;
        }
        if in_list && !line.starts_with("- ") {
            html.push_str("</ul>\n");
            in_list = false;
        }
        if let Some(h) = line.strip_prefix("## ") {
            let _ = writeln!(html, "<h2>{}</h2>", inline(h));
        } else if let Some(h) = line.strip_prefix("# ") {
            let _ = writeln!(html, "<h1>{}</h1>", inline(h));
        } else if line.starts_with("| ---") {
            continue;
        } else if line.starts_with('|') {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            let tag = if in_table { "td" } else { "th" };
            if !in_table {
                html.push_str("<table>\n");
                in_table = true;
            }
            html.push_str("<tr>");
            for c in cells {
                let _ = write!(html, "<{tag}>{}</{tag}>", inline(c));
            }
            html.push_str("</tr>\n");
        } else if let Some(item) = line.strip_prefix("- ") {
            if !in_list {
                html.push_str("<ul>\n");
                in_list = true;
            }
            let _ = writeln!(html, "<li>{}</li>", inline(item.trim_start_matches("[ ] ")));
        } else if !line.trim().is_empty() {
            let _ = writeln!(html, "<p>{}</p>", inline(line));
        }
    }
    if in_table {
        html.push_str("</table>\n");
    }
    if in_list {
        html.push_str("</ul>\n");
    }
    html.push_str("</body></html>\n");
    html
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetupQuery {
    format: Option<SetupFormat>,
}

#[derive(Deserialize, schemars::JsonSchema, Clone, Copy, Default)]
#[serde(rename_all = "lowercase")]
pub enum SetupFormat {
    /// Markdown (the default).
    #[default]
    Md,
    Html,
}

pub async fn setup(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    Params(q): Params<SetupQuery>,
) -> Result<Response, ApiError> {
    let cfg = app.cache.get();
    let visible = cfg.offers.get(&id).is_some_and(|e| match caller.scope() {
        Scope::All => true,
        Scope::Advertiser(me) => e.offer.advertiser_id == me,
        Scope::Affiliate(_) => false,
    });
    let md = visible
        .then(|| setup_markdown(&app, &id))
        .flatten()
        .ok_or_else(|| ApiError::not_found("offer", &id))?;
    match q.format.unwrap_or_default() {
        SetupFormat::Md => {
            Ok(([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], md).into_response())
        }
        SetupFormat::Html => Ok((
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            markdown_to_html(&md, &format!("Setup {id}")),
        )
            .into_response()),
    }
}

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestClick {
    link_id: Option<String>,
    sub1: Option<String>,
}

/// Records a click flagged `test` and answers where it would redirect.
pub async fn test_click(
    State(app): State<Arc<AppState>>,
    _: Admin,
    Path(id): Path<String>,
    body: Option<JsonBody<TestClick>>,
) -> ApiResult {
    let b = body.map(|JsonBody(b)| b).unwrap_or_default();
    let cfg = app.cache.get();
    let entry = cfg
        .offers
        .get(&id)
        .ok_or_else(|| ApiError::not_found("offer", &id))?;
    let mut links: Vec<_> = cfg.links.values().filter(|l| l.offer_id == id).collect();
    links.sort_by_key(|l| (l.created_ms, l.id.clone()));
    let link = match &b.link_id {
        Some(l) => links.into_iter().find(|x| &x.id == l).ok_or_else(|| {
            ApiError::validation(format!("link_id: offer {id} has no link `{l}`"))
        })?,
        None => links.into_iter().next().ok_or_else(|| {
            ApiError::validation(format!(
                "offer {id} has no tracking link yet; create one first"
            ))
        })?,
    };
    let params = ClickParams {
        subs: [
            Some(b.sub1.unwrap_or_else(|| "clickledger-test".into())),
            None,
            None,
            None,
            None,
        ],
        source: Some("clickledger-test".into()),
        ..Default::default()
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::USER_AGENT,
        "clickledger-check".parse().expect("static"),
    );
    let ip = std::net::IpAddr::from([127, 0, 0, 1]);
    let visit = crate::click::observe(&app, link, ip, &headers, false).await;
    let route = crate::click::Route::offer(entry);
    let (click_id, location) = crate::click::record(&app, link, route, params, visit, true).await?;
    ok(
        StatusCode::CREATED,
        json!({"click_id": click_id, "link_id": link.id, "location": location, "test": true}),
    )
}

/// Fires a postback for a test click through the same validation as a real
/// one, authenticated by the admin key instead of the advertiser's token.
pub async fn test_postback(
    State(app): State<Arc<AppState>>,
    _: Admin,
    Path(id): Path<String>,
    // raw: a number stays as written (see `collect_fields`)
    JsonBody(fields): JsonBody<
        std::collections::BTreeMap<String, Box<serde_json::value::RawValue>>,
    >,
) -> Response {
    let Some(adv) = app
        .cache
        .get()
        .offers
        .get(&id)
        .map(|e| e.offer.advertiser_id.clone())
    else {
        return ApiError::not_found("offer", &id).into_response();
    };
    let inbound = Inbound::internal("POST", &fields, adv, true);
    let answer = process(&app, inbound).await;
    (answer.status, Json(answer.body)).into_response()
}
