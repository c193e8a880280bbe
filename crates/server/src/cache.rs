//! The in-memory configuration the click and postback paths read: links,
//! offers with their parsed templates, advertisers by token, API keys.
//! Rebuilt from the store after every admin change (and periodically, so
//! several nodes sharing one database converge); readers take an `Arc`
//! snapshot and never wait on the database.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use clickledger_domain::net::Cidr;
use clickledger_domain::pixel_host::HostPattern;
use clickledger_domain::rate::Limit;
use clickledger_domain::template::CLICK_MACROS;
use clickledger_domain::UrlTemplate;
use clickledger_store::{Advertiser, Affiliate, ApiKey, Link, Offer, Store, StoreResult};

use crate::flow::LinkFlow;
use crate::security::Vault;

pub struct OfferEntry {
    pub offer: Offer,
    pub destination: UrlTemplate,
    pub fallback: Option<UrlTemplate>,
}

/// An advertiser's secrets in usable form, with their expiry.
#[derive(Default)]
pub struct AdvertiserAuth {
    /// Signing secrets in clear (opened from the sealed store copies).
    pub signing: Vec<(String, Option<i64>)>,
    pub allowlist: Vec<Cidr>,
    pub rate_limit: Option<Limit>,
    /// The hosts whose pages may send browser conversions.
    pub pixel_hosts: Vec<HostPattern>,
}

impl AdvertiserAuth {
    pub fn signing_secrets(&self, now_ms: i64) -> Vec<&str> {
        self.signing
            .iter()
            .filter(|(_, exp)| exp.is_none_or(|e| now_ms < e))
            .map(|(s, _)| s.as_str())
            .collect()
    }
}

#[derive(Default)]
pub struct Config {
    pub advertisers: HashMap<String, Advertiser>,
    /// sha256(token) -> (advertiser id, expiry)
    pub advertiser_by_token: HashMap<String, (String, Option<i64>)>,
    pub advertiser_auth: HashMap<String, AdvertiserAuth>,
    /// publishable key -> advertiser id (not a secret: kept in clear).
    pub advertiser_by_publishable_key: HashMap<String, String>,
    pub offers: HashMap<String, Arc<OfferEntry>>,
    pub affiliates: HashMap<String, Affiliate>,
    /// Affiliates' outbound signing secrets in clear, with expiry, newest first.
    pub affiliate_webhook_secrets: HashMap<String, Vec<(String, Option<i64>)>>,
    pub links: HashMap<String, Link>,
    /// link id -> its flow, parsed, for links that have one.
    pub flows: HashMap<String, Arc<LinkFlow>>,
    /// sha256(key) -> key
    pub keys: HashMap<String, ApiKey>,
}

impl Config {
    /// Reads the configuration; `previous` lends what has not changed.
    pub async fn load(
        store: &dyn Store,
        vault: &Vault,
        previous: Option<&Config>,
    ) -> StoreResult<Config> {
        let mut c = Config::default();
        for a in store.advertisers().await? {
            for t in &a.secrets.tokens {
                c.advertiser_by_token
                    .insert(t.value.clone(), (a.id.clone(), t.expires_ms));
            }
            let signing = a
                .secrets
                .signing
                .iter()
                .filter_map(|s| match vault.open(&s.value) {
                    Ok(clear) => Some((clear, s.expires_ms)),
                    Err(e) => {
                        tracing::error!(advertiser = %a.id, error = %e, "a signing secret does not open; is the master key right?");
                        None
                    }
                })
                .collect();
            let auth = AdvertiserAuth {
                signing,
                // validated when saved
                allowlist: a
                    .ip_allowlist
                    .iter()
                    .filter_map(|c| Cidr::parse(c).ok())
                    .collect(),
                rate_limit: a.rate_limit.as_deref().and_then(|r| Limit::parse(r).ok()),
                pixel_hosts: a
                    .browser
                    .pixel_hosts
                    .iter()
                    .filter_map(|h| HostPattern::parse(h).ok())
                    .collect(),
            };
            if !a.browser.publishable_key.is_empty() {
                c.advertiser_by_publishable_key
                    .insert(a.browser.publishable_key.clone(), a.id.clone());
            }
            c.advertiser_auth.insert(a.id.clone(), auth);
            c.advertisers.insert(a.id.clone(), a);
        }
        for o in store.offers().await? {
            // Templates were validated when saved; one that no longer parses
            // (say, a macro removed in a later version) is skipped loudly
            // rather than served wrong.
            let destination = match UrlTemplate::parse(&o.destination_url, CLICK_MACROS) {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!(offer = %o.id, error = %e, "offer destination does not parse; offer skipped");
                    continue;
                }
            };
            let fallback = o
                .fallback_url
                .as_deref()
                .and_then(|f| UrlTemplate::parse(f, CLICK_MACROS).ok());
            c.offers.insert(
                o.id.clone(),
                Arc::new(OfferEntry {
                    offer: o,
                    destination,
                    fallback,
                }),
            );
        }
        for a in store.affiliates().await? {
            let secrets: Vec<(String, Option<i64>)> = a
                .secrets
                .webhook
                .iter()
                .filter_map(|s| vault.open(&s.value).ok().map(|v| (v, s.expires_ms)))
                .collect();
            c.affiliate_webhook_secrets.insert(a.id.clone(), secrets);
            c.affiliates.insert(a.id.clone(), a);
        }
        for l in store.links().await? {
            if let Some(json) = &l.flow {
                // unchanged since the last load: kept as parsed (a reload
                // after every admin change must not re-parse every flow)
                let known = previous
                    .and_then(|p| p.flows.get(&l.id))
                    .filter(|f| f.fingerprint == LinkFlow::fingerprint_of(json));
                if let Some(f) = known {
                    c.flows.insert(l.id.clone(), f.clone());
                    c.links.insert(l.id.clone(), l);
                    continue;
                }
                // checked when saved; one that no longer loads is skipped
                // loudly, and the link sends everyone to its offer
                match LinkFlow::load(json) {
                    Ok(f) => {
                        c.flows.insert(l.id.clone(), Arc::new(f));
                    }
                    Err(e) => {
                        tracing::error!(link = %l.id, error = %e, "link flow does not load; flow skipped")
                    }
                }
            }
            c.links.insert(l.id.clone(), l);
        }
        for k in store.api_keys().await? {
            c.keys.insert(k.key_hash.clone(), k);
        }
        Ok(c)
    }
}

#[derive(Default)]
pub struct ConfigCache {
    current: RwLock<Arc<Config>>,
}

impl ConfigCache {
    pub fn get(&self) -> Arc<Config> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub async fn reload(&self, store: &dyn Store, vault: &Vault) -> StoreResult<()> {
        let fresh = Arc::new(Config::load(store, vault, Some(&self.get())).await?);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }
}
