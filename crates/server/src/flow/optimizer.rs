//! The flow optimizer: once a minute, each rule that says `"optimize":
//! true` gets weights from its targets' EPC over the trailing window
//! (Thompson sampling, floored: `clickledger_domain::flow::optimize`).
//!
//! The figures come from the click rollups and the conversions through the
//! store's report reads, the same numbers `GET /api/v1/reports?group_by=
//! rule,target` shows. The random draws are seeded by link, rule and
//! minute, so every node of a cluster computes the same weights without
//! talking to the others. The click path reads the result from memory
//! (`flow_for`); weights computed for a flow that has since been saved
//! anew are ignored until the next run.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use clickledger_domain::flow::optimize::{self, Arm, Rng};
use clickledger_domain::flow::{sticky_draw, Flow, Then};
use clickledger_domain::Status;
use clickledger_store::{Dimension, Grain, ReportQuery, Scope, Store, StoreResult};
use serde::Serialize;

use super::LinkFlow;
use crate::util::now_ms;
use crate::AppState;

/// How far back the optimizer looks.
pub const WINDOW_MS: i64 = 7 * 86_400_000;
/// How often weights are recomputed.
pub const EVERY_MS: i64 = 60_000;
/// Thompson draws per computation.
const SAMPLES: u32 = 4_000;

/// The weights in use for one optimized rule, as the API shows them.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct RuleWeights {
    pub rule: String,
    pub targets: Vec<TargetWeight>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct TargetWeight {
    pub target: String,
    /// The weight as saved in the flow.
    pub weight: u32,
    /// The weight the optimizer set (relative, out of 10000).
    pub weight_in_use: u32,
    /// Over the window.
    pub clicks: u64,
    pub conversions: u64,
    /// Payout over the window in the base currency, as a decimal string.
    pub payout: String,
}

/// One link's optimized flow.
pub struct Optimized {
    /// The saved flow's fingerprint these weights were computed for.
    pub fingerprint: u64,
    pub flow: Arc<Flow>,
    pub rules: Vec<RuleWeights>,
    pub at_ms: i64,
}

#[derive(Default)]
pub struct Optimizer {
    links: RwLock<HashMap<String, Arc<Optimized>>>,
}

impl Optimizer {
    /// The flow a click on `link_id` is chosen by: the optimized one while
    /// it belongs to the saved flow, else the saved flow.
    pub fn flow_for(&self, link_id: &str, saved: &LinkFlow) -> Arc<Flow> {
        let links = self.links.read().unwrap_or_else(|p| p.into_inner());
        match links.get(link_id) {
            Some(o) if o.fingerprint == saved.fingerprint => o.flow.clone(),
            _ => saved.flow.clone(),
        }
    }

    /// The weights in use for a link, when its saved flow has them.
    pub fn weights(&self, link_id: &str, saved: &LinkFlow) -> Option<Arc<Optimized>> {
        let links = self.links.read().unwrap_or_else(|p| p.into_inner());
        links
            .get(link_id)
            .filter(|o| o.fingerprint == saved.fingerprint)
            .cloned()
    }

    /// Recomputes every optimized rule of every link's flow.
    pub async fn run(&self, app: &AppState, now: i64) -> StoreResult<()> {
        let cfg = app.cache.get();
        let mut fresh = HashMap::new();
        for (link_id, saved) in &cfg.flows {
            if !saved.flow.rules().iter().any(|r| r.optimize) {
                continue;
            }
            let o = optimize_link(app.store.as_ref(), link_id, saved, now).await?;
            fresh.insert(link_id.clone(), Arc::new(o));
        }
        *self.links.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }
}

/// Clicks, conversions and payout per (rule, target) of one link over the
/// window.
async fn figures(
    store: &dyn Store,
    link_id: &str,
    now: i64,
) -> StoreResult<HashMap<(String, String), (Arm, i64)>> {
    // whole quarters, so the clicks come from the rollups
    let to_ms = now - now.rem_euclid(900_000) + 900_000;
    let q = ReportQuery {
        scope: Scope::All,
        from_ms: to_ms - WINDOW_MS,
        to_ms,
        dimensions: vec![Dimension::Rule, Dimension::Target],
        filters: vec![(Dimension::Link, vec![link_id.to_string()])],
        by_conversion_time: false,
        grain: Grain::Quarter,
        ranges: Vec::new(),
        whole: false,
        raw: false,
    };
    // (rule, target) -> the arm, and its payout in base micros (exact, for
    // showing; the arm's f64 is only for sampling)
    let mut arms: HashMap<(String, String), (Arm, i64)> = HashMap::new();
    let key = |v: &[String]| (v[0].clone(), v[1].clone());
    store.flush_for(&q).await?;
    for b in store.click_buckets(&q).await? {
        arms.entry(key(&b.values)).or_default().0.clicks += b.clicks.max(0) as u64;
    }
    for b in store.conversion_buckets(&q).await? {
        if b.status == Status::Rejected {
            continue;
        }
        let (arm, micros) = arms.entry(key(&b.values)).or_default();
        // capped conversions paid nothing and do not count
        arm.conversions += (b.conversions - b.capped).max(0) as u64;
        *micros += b.payout_base_micros;
        arm.payout = *micros as f64 / 1e6;
    }
    Ok(arms)
}

async fn optimize_link(
    store: &dyn Store,
    link_id: &str,
    saved: &LinkFlow,
    now: i64,
) -> StoreResult<Optimized> {
    let arms = figures(store, link_id, now).await?;
    let minute = now.div_euclid(EVERY_MS);
    let mut flow = (*saved.flow).clone();
    let mut rules = Vec::new();
    for (i, rule) in saved.flow.rules().iter().enumerate() {
        let Then::Split(split) = &rule.then else {
            continue;
        };
        if !rule.optimize {
            continue;
        }
        let figures: Vec<(Arm, i64)> = split
            .targets()
            .iter()
            .map(|t| {
                arms.get(&(rule.name.clone(), t.key.clone()))
                    .copied()
                    .unwrap_or_default()
            })
            .collect();
        let per_target: Vec<Arm> = figures.iter().map(|(a, _)| *a).collect();
        let seed = sticky_draw(format!("{link_id}\n{}\n{minute}", rule.name).as_bytes());
        let shares = optimize::shares(
            &per_target,
            rule.floor_percent / 100.0,
            SAMPLES,
            &mut Rng::new(seed),
        );
        let weights = optimize::weights(&shares);
        if let Some(f) = flow.reweighted(i, &weights) {
            flow = f;
        }
        rules.push(RuleWeights {
            rule: rule.name.clone(),
            targets: split
                .targets()
                .iter()
                .zip(&figures)
                .zip(&weights)
                .map(|((t, (a, micros)), w)| TargetWeight {
                    target: t.key.clone(),
                    weight: t.weight,
                    weight_in_use: *w,
                    clicks: a.clicks,
                    conversions: a.conversions,
                    payout: rust_decimal::Decimal::new(*micros, 6)
                        .round_dp(2)
                        .to_string(),
                })
                .collect(),
        });
    }
    Ok(Optimized {
        fingerprint: saved.fingerprint,
        flow: Arc::new(flow),
        rules,
        at_ms: now,
    })
}

/// The background task: recompute every minute, while the server lives.
pub fn spawn(app: &Arc<AppState>) {
    let weak = Arc::downgrade(app);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(EVERY_MS as u64));
        loop {
            tick.tick().await;
            let Some(app) = weak.upgrade() else { break };
            if let Err(e) = app.optimizer.run(&app, now_ms()).await {
                tracing::warn!(error = %e, "flow optimizer: figures unavailable; weights kept");
            }
        }
    });
}
