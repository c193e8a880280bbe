//! What the nodes behind one load balancer must agree on beyond the
//! database: rate limits, the webhook replay guard and unique clicks go
//! through Redis when `--redis` is given (each with this node's memory as
//! its fallback, so Redis being away never refuses traffic), and the
//! configuration cache follows the store's change stamp.
//!
//! See docs/SCALING.md, "What is shared, and how".

pub mod buckets;
pub mod config_watch;
pub mod connection;
pub mod replays;
pub mod uniques;
