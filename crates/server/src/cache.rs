//! The in-memory configuration the click and postback paths read: links,
//! offers with their parsed templates, advertisers by token, API keys.
//! Rebuilt from the store after every admin change (and periodically, so
//! several nodes sharing one database converge); readers take an `Arc`
//! snapshot and never wait on the database.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use clickledger_domain::template::CLICK_MACROS;
use clickledger_domain::UrlTemplate;
use clickledger_store::{Advertiser, Affiliate, ApiKey, Link, Offer, Store, StoreResult};

pub struct OfferEntry {
    pub offer: Offer,
    pub destination: UrlTemplate,
    pub fallback: Option<UrlTemplate>,
}

#[derive(Default)]
pub struct Config {
    pub advertisers: HashMap<String, Advertiser>,
    /// sha256(token) -> advertiser id
    pub advertiser_by_token: HashMap<String, String>,
    pub offers: HashMap<String, Arc<OfferEntry>>,
    pub affiliates: HashMap<String, Affiliate>,
    pub links: HashMap<String, Link>,
    /// sha256(key) -> key
    pub keys: HashMap<String, ApiKey>,
}

impl Config {
    pub async fn load(store: &dyn Store) -> StoreResult<Config> {
        let mut c = Config::default();
        for a in store.advertisers().await? {
            c.advertiser_by_token
                .insert(a.token_hash.clone(), a.id.clone());
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
            c.affiliates.insert(a.id.clone(), a);
        }
        for l in store.links().await? {
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

    pub async fn reload(&self, store: &dyn Store) -> StoreResult<()> {
        let fresh = Arc::new(Config::load(store).await?);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }
}
