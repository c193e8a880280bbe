//! `GET /c/{link_id}`: record the click, then redirect.
//!
//! Everything this path needs comes from the in-memory config; its only
//! storage work is handing the click to the group-commit writer and waiting
//! for the batch to commit.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use clickledger_domain::flow::{Choice, Destination, Visitor};
use clickledger_domain::net::client_ip;
use clickledger_domain::{user_agent, ClickId, ErrorCode, UrlTemplate};
use clickledger_store::{Click, EntityStatus, Link, Offer};

use crate::api::{ApiError, Path};
use crate::cache::{Config, OfferEntry};
use crate::metrics::ClickResult;
use crate::util::{new_click_id, now_ms};
use crate::writer::SubmitError;
use crate::AppState;

/// Bounds on what a click keeps of its URL. They protect storage, not the
/// visitor's path: over a bound, the click keeps what fits and still
/// redirects (see `parse_click_params`).
pub const MAX_EXTRA_PARAMS: usize = 20;
pub const MAX_PARAM_KEY: usize = 64;
pub const MAX_PARAM_VALUE: usize = 512;

#[derive(Default, Debug)]
pub struct ClickParams {
    pub subs: [Option<String>; 5],
    pub source: Option<String>,
    pub extra: BTreeMap<String, String>,
    /// How many parameters were shortened to a bound or left out.
    pub cut: u32,
}

/// The value cut to `MAX_PARAM_VALUE` bytes on a character boundary; owned
/// only when kept, so a dropped parameter costs no allocation.
fn bounded(v: Cow<'_, str>, cut: &mut u32) -> String {
    if v.len() <= MAX_PARAM_VALUE {
        return v.into_owned();
    }
    *cut += 1;
    v[..v.floor_char_boundary(MAX_PARAM_VALUE)].to_string()
}

/// Splits the query into known and extra parameters. A visitor is never
/// refused for what an ad platform appended: a value over its bound is cut
/// (on a character boundary), a name over its bound and the extras past the
/// first `MAX_EXTRA_PARAMS` (in URL order) are left out, and `cut` counts
/// every parameter so treated.
pub fn parse_click_params(query: Option<&str>) -> ClickParams {
    let mut p = ClickParams::default();
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let slot = match k.as_ref() {
            "sub1" => &mut p.subs[0],
            "sub2" => &mut p.subs[1],
            "sub3" => &mut p.subs[2],
            "sub4" => &mut p.subs[3],
            "sub5" => &mut p.subs[4],
            "source" => &mut p.source,
            _ => {
                if k.len() > MAX_PARAM_KEY
                    || (p.extra.len() == MAX_EXTRA_PARAMS && !p.extra.contains_key(k.as_ref()))
                {
                    p.cut += 1;
                } else if !p.extra.contains_key(k.as_ref()) {
                    let v = bounded(v, &mut p.cut);
                    p.extra.insert(k.into_owned(), v);
                }
                continue;
            }
        };
        if slot.is_none() && !v.is_empty() {
            *slot = Some(bounded(v, &mut p.cut));
        }
    }
    p
}

/// User agents repeat endlessly; each is classified once (a few dozen
/// substring searches) and remembered, up to a bound.
#[derive(Default)]
pub struct AgentCache {
    seen: Mutex<HashMap<String, user_agent::UserAgent>>,
}

impl AgentCache {
    const MAX: usize = 10_000;

    pub fn classify(&self, ua: &str) -> user_agent::UserAgent {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(known) = seen.get(ua) {
            return *known;
        }
        let parsed = user_agent::parse(ua);
        if seen.len() >= Self::MAX {
            seen.clear();
        }
        seen.insert(ua.to_string(), parsed);
        parsed
    }
}

fn redirect(url: String) -> Response {
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, url)
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::empty())
        .expect("valid response")
}

/// Where a recorded click goes: an offer (its destination, or a landing URL
/// in its place), and what the link's flow chose, if it has one.
pub struct Route<'a> {
    /// The offer the click is for: its conversions pay by this offer.
    pub offer: &'a OfferEntry,
    /// A landing URL (a flow's URL target or redirect rule) instead of the
    /// offer's destination.
    pub landing: Option<&'a UrlTemplate>,
    pub rule: Option<&'a str>,
    pub target: Option<&'a str>,
    /// A flow rule blocks the visitor: recorded, answered 404.
    pub blocked: bool,
}

impl<'a> Route<'a> {
    /// Straight to the offer: a link without a flow.
    pub fn offer(offer: &'a OfferEntry) -> Route<'a> {
        Route {
            offer,
            landing: None,
            rule: None,
            target: None,
            blocked: false,
        }
    }
}

/// The first of the link, its offer, its affiliate and its advertiser that
/// is paused, named as the one who paused it would name it. With a flow,
/// the link's own offer is only one possible target: only the link and its
/// affiliate pause it all (the flow skips paused offers itself).
fn paused<'c>(
    cfg: &'c Config,
    link: &'c Link,
    offer: &'c Offer,
    with_flow: bool,
) -> Option<(&'static str, &'c str)> {
    let active = |s: Option<EntityStatus>| s == Some(EntityStatus::Active);
    [
        Some(("link", link.id.as_str(), active(Some(link.status)))),
        (!with_flow).then(|| ("offer", offer.id.as_str(), active(Some(offer.status)))),
        Some((
            "affiliate",
            link.affiliate_id.as_str(),
            active(cfg.affiliates.get(&link.affiliate_id).map(|a| a.status)),
        )),
        (!with_flow).then(|| {
            (
                "advertiser",
                offer.advertiser_id.as_str(),
                active(cfg.advertisers.get(&offer.advertiser_id).map(|a| a.status)),
            )
        }),
    ]
    .into_iter()
    .flatten()
    .find(|(_, _, active)| !active)
    .map(|(kind, id, _)| (kind, id))
}

/// Traffic that cannot be recorded (paused, capped, no target left) goes
/// to the offer's fallback URL, else answers 410 with `why`. It earns
/// nothing, so the fallback gets the sub ids but no click id.
fn fall_back(
    app: &AppState,
    entry: &OfferEntry,
    link: &Link,
    params: &ClickParams,
    why: impl FnOnce() -> String,
) -> Response {
    match &entry.fallback {
        Some(f) => {
            app.metrics.click(ClickResult::Fallback);
            redirect(f.render(|m| macro_value(m, "", link, &entry.offer.id, params)))
        }
        None => {
            app.metrics.click(ClickResult::Gone);
            ApiError::new(ErrorCode::Gone, why()).into_response()
        }
    }
}

pub async fn click(
    State(app): State<Arc<AppState>>,
    Path(link_id): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let cfg = app.cache.get();
    let Some((link, entry)) = cfg
        .links
        .get(&link_id)
        .and_then(|l| cfg.offers.get(&l.offer_id).map(|o| (l, o)))
    else {
        app.metrics.click(ClickResult::NotFound);
        return ApiError::not_found("link", &link_id).into_response();
    };
    let params = parse_click_params(query.as_deref());
    if params.cut > 0 {
        app.metrics.params_cut();
    }
    let flow = cfg.flows.get(&link.id);
    let paused = paused(&cfg, link, &entry.offer, flow.is_some());
    // over a cap, traffic goes to the fallback when the offer has one (a
    // flow skips capped targets instead)
    let capped = flow.is_none()
        && entry.fallback.is_some()
        && app.caps.is_capped(&link.offer_id, &link.affiliate_id);
    if paused.is_some() || capped {
        return fall_back(&app, entry, link, &params, || {
            let (kind, id) = paused.expect("capped traffic has a fallback");
            format!("{kind} `{id}` is paused")
        });
    }
    let xff = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let ip = client_ip(peer.ip(), xff, &app.trusted_proxies);
    let visit = observe(&app, link, ip, &headers, flow.is_some()).await;
    let Some(saved) = flow else {
        return answer(&app, link, Route::offer(entry), params, visit, None).await;
    };
    let flow = app.optimizer.flow_for(&link.id, saved);
    let (key, new_key) = crate::flow::visitor_key(&headers, &visit.ip_text, &visit.ua);
    let local = crate::flow::local_times(&saved.zones, visit.now);
    let language = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let subs = [0, 1, 2, 3, 4].map(|i| params.subs[i].as_deref());
    let visitor = Visitor {
        country: Some(visit.country.as_str()).filter(|c| !c.is_empty()),
        region: visit.region.as_deref(),
        device: visit.agent.device,
        os: visit.agent.os,
        browser: visit.agent.browser,
        bot: visit.agent.bot,
        accept_language: language,
        ip,
        referer_host: Some(visit.referer_host.as_str()).filter(|r| !r.is_empty()),
        source: params.source.as_deref(),
        subs,
        utc: crate::flow::utc_time(visit.now),
        local: &local,
        unique: visit.unique,
    };
    let draw = crate::flow::draw(&link.id, &key);
    let chosen = crate::flow::choose(&app, &cfg, link, &flow, &visitor, draw);
    let route = match chosen {
        Choice::Block { rule } => Route {
            rule: Some(rule),
            blocked: true,
            ..Route::offer(entry)
        },
        Choice::Redirect { rule, url } => Route {
            rule: Some(rule),
            landing: Some(url),
            ..Route::offer(entry)
        },
        Choice::Target { rule, target } => {
            let offer = match &target.destination {
                // available() saw it in this config
                Destination::Offer(o) => cfg.offers.get(o).unwrap_or(entry),
                Destination::Url(_) => entry,
            };
            Route {
                offer,
                landing: match &target.destination {
                    Destination::Url(u) => Some(u),
                    Destination::Offer(_) => None,
                },
                rule,
                target: Some(&target.key),
                blocked: false,
            }
        }
        Choice::Nothing { rule } => {
            return fall_back(&app, entry, link, &params, || match rule {
                Some(r) => format!(
                    "every target of rule `{r}` of link `{}` is paused or capped",
                    link.id
                ),
                None => format!(
                    "every target of link `{}`'s default is paused or capped",
                    link.id
                ),
            })
        }
    };
    let cookie = new_key.then(|| {
        format!(
            "{}={key}; Path=/c/; Max-Age={}; HttpOnly; SameSite=Lax{}",
            crate::flow::VISITOR_COOKIE,
            crate::flow::VISITOR_COOKIE_SECONDS,
            if app.serves_tls { "; Secure" } else { "" }
        )
    });
    answer(&app, link, route, params, visit, cookie).await
}

/// Records the click and answers: the redirect, or 404 for a blocked
/// visitor (as for an unknown link: a bot learns nothing).
async fn answer(
    app: &AppState,
    link: &Link,
    route: Route<'_>,
    params: ClickParams,
    visit: Visit,
    cookie: Option<String>,
) -> Response {
    let blocked = route.blocked;
    let mut out = match record(app, link, route, params, visit, false).await {
        Ok(_) if blocked => {
            app.metrics.click(ClickResult::Blocked);
            ApiError::not_found("link", &link.id).into_response()
        }
        Ok((_, location)) => {
            app.metrics.click(ClickResult::Redirected);
            redirect(location)
        }
        Err(e) => {
            app.metrics.click(if e.code == ErrorCode::Overloaded {
                ClickResult::Overloaded
            } else {
                ClickResult::Failed
            });
            return e.into_response();
        }
    };
    if let Some(c) = cookie.and_then(|c| c.parse().ok()) {
        out.headers_mut().insert(header::SET_COOKIE, c);
    }
    out
}

fn macro_value(
    m: &str,
    click_id: &str,
    link: &Link,
    offer_id: &str,
    params: &ClickParams,
) -> String {
    match m {
        "click_id" => click_id.to_string(),
        "offer_id" => offer_id.to_string(),
        "affiliate_id" => link.affiliate_id.clone(),
        "link_id" => link.id.clone(),
        "source" => params.source.clone().unwrap_or_default(),
        m => m
            .strip_prefix("sub")
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| params.subs.get(n.wrapping_sub(1)).cloned().flatten())
            .unwrap_or_default(),
    }
}

/// What the click path learns of the visitor before deciding where they
/// go (a flow's conditions read it) and recording the click.
pub struct Visit {
    pub now: i64,
    pub ip: IpAddr,
    pub ip_text: String,
    /// The user agent, cut to 512 bytes.
    pub ua: String,
    pub agent: user_agent::UserAgent,
    pub referer_host: String,
    pub country: String,
    pub region: Option<String>,
    /// The visitor's first click on the link today.
    pub unique: bool,
    /// Over the per-IP click rate.
    pub suspicious: bool,
}

/// `region`: look the region up too (only flows read it).
pub async fn observe(
    app: &AppState,
    link: &Link,
    ip: IpAddr,
    headers: &HeaderMap,
    region: bool,
) -> Visit {
    let now = now_ms();
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ua = &ua[..ua.floor_char_boundary(512)];
    let agent = app.agents.classify(ua);
    let ip_text = ip.to_string();
    let referer_host = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| url::Url::parse(r).ok())
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    // Both asked of Redis at once, when there is one: one round trip.
    let (unique, rate) = tokio::join!(
        app.uniques.first_in_a_day(&link.id, &ip_text, ua, now),
        app.click_ip_limiter.check(ip, app.limits.click_ip, now),
    );
    // Over the per-IP rate the visitor still gets the redirect; the click is
    // kept but marked, so reports can leave it out.
    let suspicious = rate.is_err();
    let (country, region) = match &app.geo {
        Some(g) => (g.country(ip), if region { g.region(ip) } else { None }),
        None => (String::new(), None),
    };
    Visit {
        now,
        ip,
        ip_text,
        ua: ua.to_string(),
        agent,
        referer_host,
        country,
        region,
        unique,
        suspicious,
    }
}

/// Records a click through the group-commit writer and returns its id and
/// the destination it redirects to. Used by the click path and by test
/// clicks (`test` = true), so both render destinations the same way.
pub async fn record(
    app: &AppState,
    link: &Link,
    route: Route<'_>,
    params: ClickParams,
    visit: Visit,
    test: bool,
) -> Result<(ClickId, String), ApiError> {
    let id = new_click_id(visit.now);
    let offer_id = &route.offer.offer.id;
    let template = route.landing.unwrap_or(&route.offer.destination);
    let location = template.render(|m| macro_value(m, &id.encode(), link, offer_id, &params));
    let [sub1, sub2, sub3, sub4, sub5] = params.subs;
    let click = Click {
        id,
        ts_ms: visit.now,
        link_id: link.id.clone(),
        offer_id: offer_id.clone(),
        affiliate_id: link.affiliate_id.clone(),
        sub1,
        sub2,
        sub3,
        sub4,
        sub5,
        source: params.source,
        extra: params.extra,
        params_cut: params.cut,
        ip: visit.ip_text,
        country: visit.country,
        user_agent: visit.ua,
        device: visit.agent.device.to_string(),
        os: visit.agent.os.to_string(),
        browser: visit.agent.browser.to_string(),
        referer_host: visit.referer_host,
        unique: visit.unique,
        bot: visit.agent.bot,
        suspicious: visit.suspicious,
        test,
        rule: route.rule.map(str::to_string),
        target: route.target.map(str::to_string),
        blocked: route.blocked,
        flow_offer: *offer_id != link.offer_id,
    };
    match app.writer.submit(click).await {
        Ok(()) => Ok((id, location)),
        Err(SubmitError::Full) => Err(ApiError::new(
            ErrorCode::Overloaded,
            "too many clicks are waiting to be stored; retry in a second",
        )),
        Err(SubmitError::Closed) => Err(ApiError::new(
            ErrorCode::Overloaded,
            "the tracker is shutting down; retry in a second",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_params_and_extras_are_split() {
        let p = parse_click_params(Some("sub1=a%20b&sub3=c&source=fb&gclid=xyz&sub1=ignored"));
        assert_eq!(p.subs[0].as_deref(), Some("a b"));
        assert_eq!(p.subs[1], None);
        assert_eq!(p.subs[2].as_deref(), Some("c"));
        assert_eq!(p.source.as_deref(), Some("fb"));
        assert_eq!(p.extra.get("gclid").map(String::as_str), Some("xyz"));
        assert_eq!(p.cut, 0);
    }

    #[test]
    fn over_the_bounds_keeps_what_fits_and_counts_the_cut() {
        // the first 20 extras in URL order are kept, the rest left out
        let many: String = (0..MAX_EXTRA_PARAMS + 5)
            .map(|i| format!("p{i}=1&"))
            .collect();
        let p = parse_click_params(Some(&many));
        assert_eq!(p.extra.len(), MAX_EXTRA_PARAMS);
        assert!(p.extra.contains_key("p19") && !p.extra.contains_key("p20"));
        assert_eq!(p.cut, 5);
        // a repeated kept name is no new parameter
        let p = parse_click_params(Some(&format!("{many}p3=2")));
        assert_eq!((p.extra["p3"].as_str(), p.cut), ("1", 5));
        // a value is cut at the bound, on a character boundary
        let long = format!(
            "sub2=a{}&source={}",
            "é".repeat(MAX_PARAM_VALUE),
            "x".repeat(MAX_PARAM_VALUE)
        );
        let p = parse_click_params(Some(&long));
        let sub2 = p.subs[1].as_deref().unwrap();
        assert_eq!(sub2.len(), MAX_PARAM_VALUE - 1);
        assert!(sub2.starts_with("aé") && sub2.ends_with('é'));
        assert_eq!(p.source.as_deref().map(str::len), Some(MAX_PARAM_VALUE));
        assert_eq!(p.cut, 1);
        // a name over its bound is left out; its neighbours stay
        let q = format!(
            "{}=v&utm_source=x&gclid={}",
            "n".repeat(MAX_PARAM_KEY + 1),
            "g".repeat(MAX_PARAM_VALUE + 9)
        );
        let p = parse_click_params(Some(&q));
        assert_eq!(p.extra.len(), 2);
        assert_eq!(p.extra["utm_source"], "x");
        assert_eq!(p.extra["gclid"].len(), MAX_PARAM_VALUE);
        assert_eq!(p.cut, 2);
    }

    #[test]
    fn agent_cache_answers_as_the_classifier_and_stays_bounded() {
        let c = AgentCache::default();
        for i in 0..AgentCache::MAX + 5 {
            let ua = format!("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile/{i}");
            assert_eq!(c.classify(&ua), user_agent::parse(&ua));
        }
        assert!(c.seen.lock().unwrap().len() <= AgentCache::MAX);
        let bot = "curl/8.5.0";
        assert!(c.classify(bot).bot);
        assert_eq!(c.classify(bot), user_agent::parse(bot));
    }
}
