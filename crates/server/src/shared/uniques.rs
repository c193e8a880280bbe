//! Unique clicks: the first (link, IP, user agent) in 24 hours is unique.
//!
//! This node remembers what it saw, so a repeat on the same node costs no
//! round trip. What it sees first is asked of Redis too
//! (`SET prefix:uq:{hash} NX EX 86400`,
//! one round trip), so a visitor whose clicks the load
//! balancer spreads over several nodes is unique once. Without Redis each
//! node counts alone; routing by client IP (nginx `hash $remote_addr
//! consistent;`) then keeps uniques right, since the key includes the IP.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use super::connection::Redis;
use crate::util::sha256_hex;

const DAY_MS: i64 = 86_400_000;

pub struct Uniques {
    /// Hash of (link, IP, user agent) -> first sighting here (unix ms).
    seen: Mutex<HashMap<u64, i64>>,
    redis: Option<Arc<Redis>>,
}

impl Uniques {
    pub fn new(redis: Option<&Arc<Redis>>) -> Uniques {
        Uniques {
            seen: Mutex::new(HashMap::new()),
            redis: redis.cloned(),
        }
    }

    pub async fn first_in_a_day(&self, link: &str, ip: &str, ua: &str, now: i64) -> bool {
        let Some(here) = self.first_here(link, ip, ua, now) else {
            return false;
        };
        let Some(redis) = &self.redis else {
            return true;
        };
        // Every node must name the key alike, whatever its build: SHA-256,
        // not the process's hasher. Lengths keep the parts apart.
        let id = sha256_hex(&format!("{}:{link}{}:{ip}{ua}", link.len(), ip.len()));
        // One round trip sets the first sighting and, when another node
        // had it, answers that one's time, so this node's window is 24 h
        // from it as well (SET with NX and GET: Redis 7).
        let mut set = redis::cmd("SET");
        set.arg(redis.key(&["uq", &id[..32]]))
            .arg(now)
            .arg("NX")
            .arg("GET")
            .arg("EX")
            .arg(DAY_MS / 1000);
        match redis.call::<Option<i64>>("unique click", &set).await {
            Some(None) => true,
            Some(Some(first)) => {
                let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
                seen.insert(here, first.min(now));
                false
            }
            // Redis away: this node's memory decides
            None => true,
        }
    }

    /// The key of (link, IP, user agent) when this is its first sighting on
    /// this node within 24 hours of the first one.
    fn first_here(&self, link: &str, ip: &str, ua: &str, now: i64) -> Option<u64> {
        let mut h = DefaultHasher::new();
        (link, ip, ua).hash(&mut h);
        let key = h.finish();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        match seen.insert(key, now) {
            Some(prev) if now - prev < DAY_MS => {
                // keep the first sighting, so the window is 24 h from it
                seen.insert(key, prev);
                None
            }
            _ => Some(key),
        }
    }

    pub fn prune(&self, now: i64) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, t| now - *t < DAY_MS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn uniqueness_lasts_a_day_from_the_first_click() {
        let u = Uniques::new(None);
        assert!(u.first_in_a_day("l", "1.2.3.4", "ua", 0).await);
        assert!(!u.first_in_a_day("l", "1.2.3.4", "ua", 1000).await);
        assert!(u.first_in_a_day("l", "1.2.3.5", "ua", 1000).await);
        assert!(u.first_in_a_day("l2", "1.2.3.4", "ua", 1000).await);
        assert!(!u.first_in_a_day("l", "1.2.3.4", "ua", DAY_MS - 1).await);
        assert!(u.first_in_a_day("l", "1.2.3.4", "ua", DAY_MS).await);
        u.prune(DAY_MS * 3);
        assert!(u.seen.lock().unwrap().is_empty());
        assert!(u.first_in_a_day("l", "1.2.3.4", "ua", DAY_MS * 3).await);
    }
}
