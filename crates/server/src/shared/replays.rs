//! The Standard Webhooks replay guard: the answer to a verified message,
//! by `advertiser:webhook-id`, kept for twice the signature window, so a
//! replay inside it gets the first answer verbatim and records nothing.
//!
//! This node's memory is asked first (a resend to the same node costs no
//! round trip); with Redis the answer is also kept there
//! (`prefix:wh:{advertiser}:{webhook-id}`, `SET NX` with the window as its
//! TTL), so a replay that the load balancer sends to another node gets the
//! same first answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::connection::Redis;
use crate::postback::Answer;

const REPLAY_WINDOW_MS: i64 = 2 * clickledger_domain::signature::MAX_SKEW_SECONDS * 1000;

pub struct Replays {
    seen: Mutex<HashMap<String, (i64, Answer)>>,
    redis: Option<Arc<Redis>>,
}

impl Replays {
    pub fn new(redis: Option<&Arc<Redis>>) -> Replays {
        Replays {
            seen: Mutex::new(HashMap::new()),
            redis: redis.cloned(),
        }
    }

    /// The answer the message got the first time, here or on another node.
    pub async fn first_answer(&self, key: &str, now: i64) -> Option<Answer> {
        if let Some(a) = self.local(key, now) {
            return Some(a);
        }
        let redis = self.redis.as_ref()?;
        let name = redis.key(&["wh", key]);
        let stored: Option<String> = redis
            .call("webhook replay", redis::cmd("GET").arg(&name))
            .await?;
        let answer = decode(&stored?)?;
        self.remember_here(key, &answer, now);
        Some(answer)
    }

    /// Keeps `answer` as the message's first; answers what is kept, which
    /// is another node's answer when that node finished the same message
    /// first (both then say the same).
    pub async fn settle(&self, key: String, answer: Answer, now: i64) -> Answer {
        let kept = match &self.redis {
            Some(redis) => {
                let name = redis.key(&["wh", &key]);
                let mut set = redis::cmd("SET");
                set.arg(&name)
                    .arg(encode(&answer))
                    .arg("NX")
                    .arg("PX")
                    .arg(REPLAY_WINDOW_MS);
                match redis.call::<Option<String>>("webhook replay", &set).await {
                    // taken by another node in the meantime: its answer stands
                    Some(None) => redis
                        .call::<Option<String>>("webhook replay", redis::cmd("GET").arg(&name))
                        .await
                        .flatten()
                        .and_then(|s| decode(&s))
                        .unwrap_or(answer),
                    _ => answer,
                }
            }
            None => answer,
        };
        self.remember_here(&key, &kept, now);
        kept
    }

    pub fn prune(&self, now: i64) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, (t, _)| now - *t < REPLAY_WINDOW_MS);
    }

    fn local(&self, key: &str, now: i64) -> Option<Answer> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.get(key)
            .filter(|(t, _)| now - t < REPLAY_WINDOW_MS)
            .map(|(_, a)| a.clone())
    }

    fn remember_here(&self, key: &str, answer: &Answer, now: i64) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.insert(key.to_string(), (now, answer.clone()));
    }
}

fn encode(a: &Answer) -> String {
    json!({"status": a.status.as_u16(), "body": a.body, "retry_after": a.retry_after}).to_string()
}

fn decode(s: &str) -> Option<Answer> {
    let v: Value = serde_json::from_str(s).ok()?;
    Some(Answer {
        status: StatusCode::from_u16(u16::try_from(v["status"].as_u64()?).ok()?).ok()?,
        body: v["body"].clone(),
        retry_after: v["retry_after"].as_u64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_survive_the_trip_through_redis() {
        let a = Answer {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: json!({"error": "unknown_event", "message": "event `x` is not on offer o"}),
            retry_after: None,
        };
        let back = decode(&encode(&a)).unwrap();
        assert_eq!(
            (back.status, back.body, back.retry_after),
            (a.status, a.body, None)
        );
        assert!(decode("not json").is_none());
        assert!(decode(r#"{"status": 99999, "body": {}}"#).is_none());
    }

    #[tokio::test]
    async fn without_redis_a_replay_inside_the_window_gets_the_first_answer() {
        let r = Replays::new(None);
        let first = Answer {
            status: StatusCode::OK,
            body: json!({"result": "accepted"}),
            retry_after: None,
        };
        assert!(r.first_answer("adv:msg", 0).await.is_none());
        let kept = r.settle("adv:msg".into(), first, 0).await;
        assert_eq!(kept.body["result"], "accepted");
        let again = r.first_answer("adv:msg", REPLAY_WINDOW_MS - 1).await;
        assert_eq!(again.unwrap().body["result"], "accepted");
        assert!(r.first_answer("adv:other", 1).await.is_none());
        assert!(r.first_answer("adv:msg", REPLAY_WINDOW_MS).await.is_none());
        r.prune(REPLAY_WINDOW_MS);
        assert!(r.seen.lock().unwrap().is_empty());
    }
}
