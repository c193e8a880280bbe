//! `serve --demo`: a ready-made advertiser, offer, affiliate and link with
//! fixed ids, created only when missing, so the demo survives restarts.

use std::collections::BTreeMap;

use clickledger_domain::{Currency, EventDef, Rule, Status};
use clickledger_server::security::Vault;
use clickledger_server::util::{now_ms, sha256_hex};
use clickledger_store::{
    Advertiser, AdvertiserSecrets, Affiliate, AuditEntry, BrowserSettings, EntityStatus, Expiring,
    Link, Offer, Store,
};
use rust_decimal::Decimal;

/// The demo advertiser's postback token. Demo data only: a real advertiser
/// gets a random token, shown once.
pub const DEMO_TOKEN: &str = "demo-postback-token";
/// The demo advertiser's signing secret (Standard Webhooks form).
pub const DEMO_SIGNING_SECRET: &str = "whsec_ZGVtby1zaWduaW5nLXNlY3JldC0wMQ==";
/// The demo advertiser's publishable key for browser conversions.
pub const DEMO_PUBLISHABLE_KEY: &str = "pk_demo_publishable_key";
/// The page hosts the demo advertiser takes browser conversions from: this
/// machine by address (not `localhost`), and any subdomain of `shop.test`
/// (a reserved name: point it at 127.0.0.1 to try it).
pub const DEMO_PIXEL_HOSTS: [&str; 2] = ["127.0.0.1", "*.shop.test"];

fn created(kind: &str, id: &str) -> AuditEntry {
    AuditEntry {
        id: 0,
        ts_ms: now_ms(),
        key_id: "system".into(),
        action: "create_demo".into(),
        entity_kind: kind.into(),
        entity_id: id.into(),
        before: None,
        after: None,
        template: None,
    }
}

fn event(name: &str, payout: Rule, repeatable: bool) -> EventDef {
    EventDef {
        name: name.into(),
        payout,
        revenue: None,
        repeatable,
        reverses: false,
        default_status: Status::Approved,
        max_amount: None,
        max_payout: None,
    }
}

pub async fn ensure(store: &dyn Store, vault: &Vault) -> Result<(), String> {
    let e = |e: clickledger_store::StoreError| e.to_string();
    let now = now_ms();
    if !store
        .advertisers()
        .await
        .map_err(e)?
        .iter()
        .any(|a| a.id == "adv_demo")
    {
        store
            .put_advertiser(
                &Advertiser {
                    id: "adv_demo".into(),
                    name: "Demo Advertiser".into(),
                    status: EntityStatus::Active,
                    require_signature: false,
                    require_https: false,
                    ip_allowlist: vec![],
                    alias_map: BTreeMap::new(),
                    status_map: BTreeMap::from([("1".to_string(), "approved".to_string())]),
                    rate_limit: None,
                    browser: BrowserSettings {
                        publishable_key: DEMO_PUBLISHABLE_KEY.into(),
                        pixel_hosts: DEMO_PIXEL_HOSTS.map(String::from).to_vec(),
                        ..Default::default()
                    },
                    alert_overrides: Default::default(),
                    created_ms: now,
                    secrets: AdvertiserSecrets {
                        tokens: vec![Expiring::current(sha256_hex(DEMO_TOKEN))],
                        signing: vec![Expiring::current(vault.seal(DEMO_SIGNING_SECRET))],
                    },
                },
                &created("advertiser", "adv_demo"),
            )
            .await
            .map_err(e)?;
    }
    if !store
        .offers()
        .await
        .map_err(e)?
        .iter()
        .any(|o| o.id == "off_demo")
    {
        store
            .put_offer(
                &Offer {
                    id: "off_demo".into(),
                    advertiser_id: "adv_demo".into(),
                    name: "Demo Offer".into(),
                    status: EntityStatus::Active,
                    destination_url:
                        "https://example.com/landing?click_id={click_id}&sub1={sub1}&src={source}"
                            .into(),
                    fallback_url: None,
                    currency: Currency::parse("USD").expect("USD"),
                    attribution_window_days: 30,
                    events: vec![
                        event(
                            "registration",
                            Rule::Fixed {
                                amount: Decimal::new(200, 2),
                            },
                            false,
                        ),
                        event(
                            "sale",
                            Rule::Revshare {
                                percent: Decimal::from(30),
                            },
                            false,
                        ),
                        event(
                            "deposit",
                            Rule::Fixed {
                                amount: Decimal::new(1000, 2),
                            },
                            true,
                        ),
                    ],
                    min_conversion_seconds: 0,
                    reject_too_fast: false,
                    hold_hours: 0,
                    caps: vec![],
                    cap_timezone: "UTC".into(),
                    refuse_over_cap: false,
                    alert_overrides: Default::default(),
                    created_ms: now,
                },
                &created("offer", "off_demo"),
            )
            .await
            .map_err(e)?;
    }
    if !store
        .affiliates()
        .await
        .map_err(e)?
        .iter()
        .any(|a| a.id == "aff_demo")
    {
        store
            .put_affiliate(
                &Affiliate {
                    id: "aff_demo".into(),
                    name: "Demo Affiliate".into(),
                    status: EntityStatus::Active,
                    postback_url: None,
                    postbacks: vec![],
                    allow_http: false,
                    secrets: Default::default(),
                    created_ms: now,
                },
                &created("affiliate", "aff_demo"),
            )
            .await
            .map_err(e)?;
    }
    if !store
        .links()
        .await
        .map_err(e)?
        .iter()
        .any(|l| l.id == "lnk_demo")
    {
        store
            .put_link(
                &Link {
                    id: "lnk_demo".into(),
                    offer_id: "off_demo".into(),
                    affiliate_id: "aff_demo".into(),
                    status: EntityStatus::Active,
                    created_ms: now,
                    flow: None,
                },
                &created("link", "lnk_demo"),
            )
            .await
            .map_err(e)?;
    }
    Ok(())
}

/// Prints how to try the demo. The test postback's txid is new on every
/// start (`demo-<unix ms>`), so the printed command records a conversion
/// each time: a fixed txid on the next run's new click would be refused as
/// `txid_conflict` (the same order on another click).
pub fn print(public_url: &str) {
    let txid = format!("demo-{}", now_ms());
    let template = clickledger_domain::postback::url_template(public_url, DEMO_TOKEN);
    println!(
        "\nDemo ready.\n\
         \n  Tracking link:\n    {public_url}/c/lnk_demo?sub1=spring&source=newsletter\n\
         \n  Advertiser postback URL template:\n    {template}\n\
         \n  Try it:\n    CID=$(curl -s -o /dev/null -w '%{{redirect_url}}' '{public_url}/c/lnk_demo?sub1=spring' | sed 's/.*click_id=\\([^&]*\\).*/\\1/')\n    curl -s \"{public_url}/postback?token={DEMO_TOKEN}&click_id=$CID&event=sale&txid={txid}&amount=49.90\"\n\
         \n  Each order has its own txid: to record another sale, send another txid.\n\
         \n  The conversion, through the admin API:\n    curl -s -H \"Authorization: Bearer $CLICKLEDGER_ADMIN_KEY\" \"{public_url}/api/v1/conversions?click_id=$CID\"\n\
         \n  Browser conversions (pages on {hosts}):\n    <script src=\"{public_url}/t.js?v={v}\" data-key=\"{DEMO_PUBLISHABLE_KEY}\"></script>\n    or the pixel (its outcome is in a header):\n    curl -s -o /dev/null -D - -H 'Referer: http://127.0.0.1/thanks' \"{public_url}/px?publishable_key={DEMO_PUBLISHABLE_KEY}&click_id=$CID&event=registration\" | grep -i x-clickledger-result\n",
        hosts = DEMO_PIXEL_HOSTS.join(", "),
        v = clickledger_server::browser::SCRIPT_VERSION,
    );
}
