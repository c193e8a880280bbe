//! The records the store keeps.

use std::collections::BTreeMap;

use clickledger_domain::time::{from_rfc3339, rfc3339};
use clickledger_domain::{ClickId, Currency, EventDef, Status};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum EntityStatus {
    #[default]
    Active,
    Paused,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Advertiser,
    Affiliate,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Advertiser => "advertiser",
            Role::Affiliate => "affiliate",
        }
    }
}

/// An API key; only its SHA-256 is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub key_hash: String,
    pub role: Role,
    /// The advertiser or affiliate a partner key belongs to.
    pub partner_id: Option<String>,
    pub created_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advertiser {
    pub id: String,
    pub name: String,
    pub status: EntityStatus,
    /// SHA-256 of the postback token; the token itself is shown once.
    #[serde(skip_serializing, default)]
    pub token_hash: String,
    /// Needed in clear to verify signatures (step 2 encrypts it at rest).
    #[serde(skip_serializing, default)]
    pub signing_secret: String,
    pub require_signature: bool,
    pub ip_allowlist: Vec<String>,
    pub alias_map: BTreeMap<String, String>,
    pub status_map: BTreeMap<String, String>,
    #[serde(
        serialize_with = "rfc3339",
        deserialize_with = "from_rfc3339",
        rename = "created_at"
    )]
    pub created_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub id: String,
    pub advertiser_id: String,
    pub name: String,
    pub status: EntityStatus,
    pub destination_url: String,
    pub fallback_url: Option<String>,
    pub currency: Currency,
    pub attribution_window_days: u32,
    pub events: Vec<EventDef>,
    #[serde(
        serialize_with = "rfc3339",
        deserialize_with = "from_rfc3339",
        rename = "created_at"
    )]
    pub created_ms: i64,
}

impl Offer {
    /// The named event, or the offer's first when no name is given.
    pub fn event(&self, name: Option<&str>) -> Option<&EventDef> {
        match name {
            None => self.events.first(),
            Some(n) => self.events.iter().find(|e| e.name == n),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affiliate {
    pub id: String,
    pub name: String,
    pub status: EntityStatus,
    pub postback_url: Option<String>,
    #[serde(
        serialize_with = "rfc3339",
        deserialize_with = "from_rfc3339",
        rename = "created_at"
    )]
    pub created_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub id: String,
    pub offer_id: String,
    pub affiliate_id: String,
    pub status: EntityStatus,
    #[serde(
        serialize_with = "rfc3339",
        deserialize_with = "from_rfc3339",
        rename = "created_at"
    )]
    pub created_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Click {
    pub id: ClickId,
    #[serde(serialize_with = "rfc3339", rename = "time")]
    pub ts_ms: i64,
    pub link_id: String,
    pub offer_id: String,
    pub affiliate_id: String,
    pub sub1: Option<String>,
    pub sub2: Option<String>,
    pub sub3: Option<String>,
    pub sub4: Option<String>,
    pub sub5: Option<String>,
    pub source: Option<String>,
    /// Query parameters beyond the known ones, bounded at the edge.
    pub extra: BTreeMap<String, String>,
    pub ip: String,
    /// ISO 3166 alpha-2 from the GeoIP database; empty without one.
    pub country: String,
    pub user_agent: String,
    pub device: String,
    pub os: String,
    pub browser: String,
    pub referer_host: String,
    pub unique: bool,
    pub bot: bool,
}

impl Click {
    pub fn sub(&self, n: usize) -> Option<&str> {
        [&self.sub1, &self.sub2, &self.sub3, &self.sub4, &self.sub5]
            .get(n.wrapping_sub(1))
            .and_then(|s| s.as_deref())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Conversion {
    pub id: String,
    pub click_id: ClickId,
    pub offer_id: String,
    pub advertiser_id: String,
    pub affiliate_id: String,
    pub link_id: String,
    pub event: String,
    pub txid: Option<String>,
    pub status: Status,
    /// The status word the advertiser sent, when it sent one.
    pub status_received: Option<String>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub amount: Option<Decimal>,
    pub currency: Currency,
    #[serde(with = "rust_decimal::serde::str")]
    pub payout: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub revenue: Decimal,
    /// The offer's currency, in which payout and revenue are counted.
    pub payout_currency: Currency,
    #[serde(serialize_with = "rfc3339", rename = "click_time")]
    pub click_ms: i64,
    #[serde(serialize_with = "rfc3339", rename = "conversion_time")]
    pub conv_ms: i64,
    #[serde(serialize_with = "rfc3339", rename = "updated_at")]
    pub updated_ms: i64,
    /// Seconds from click to conversion.
    pub delay_seconds: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct PostbackLogEntry {
    pub id: i64,
    #[serde(serialize_with = "rfc3339", rename = "time")]
    pub ts_ms: i64,
    pub source_ip: String,
    pub method: String,
    pub advertiser_id: Option<String>,
    pub offer_id: Option<String>,
    /// The click id exactly as received.
    pub click_id: Option<String>,
    /// Every received field, secrets masked.
    pub fields: Vec<(String, String)>,
    /// accepted, duplicate, updated or rejected.
    pub result: String,
    pub error: Option<String>,
    pub message: String,
    pub hint: Option<String>,
    pub conversion_id: Option<String>,
    pub http_status: u16,
}

#[derive(Clone, Debug, Default)]
pub struct ConversionFilter {
    pub click_id: Option<ClickId>,
    pub offer_id: Option<String>,
    pub affiliate_id: Option<String>,
    pub advertiser_id: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub limit: u32,
}

#[derive(Clone, Debug, Default)]
pub struct PostbackFilter {
    pub result: Option<String>,
    pub error: Option<String>,
    pub advertiser_id: Option<String>,
    pub offer_id: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub limit: u32,
}

/// Dimensions a report can group or filter by, besides time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dimension {
    Offer,
    Affiliate,
    Link,
    Source,
    Sub(u8),
    Country,
    Device,
    Os,
    Browser,
}

impl Dimension {
    pub fn parse(s: &str) -> Option<Dimension> {
        Some(match s {
            "offer" => Dimension::Offer,
            "affiliate" => Dimension::Affiliate,
            "link" => Dimension::Link,
            "source" => Dimension::Source,
            "sub1" => Dimension::Sub(1),
            "sub2" => Dimension::Sub(2),
            "sub3" => Dimension::Sub(3),
            "sub4" => Dimension::Sub(4),
            "sub5" => Dimension::Sub(5),
            "country" => Dimension::Country,
            "device" => Dimension::Device,
            "os" => Dimension::Os,
            "browser" => Dimension::Browser,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Dimension::Offer => "offer",
            Dimension::Affiliate => "affiliate",
            Dimension::Link => "link",
            Dimension::Source => "source",
            Dimension::Sub(1) => "sub1",
            Dimension::Sub(2) => "sub2",
            Dimension::Sub(3) => "sub3",
            Dimension::Sub(4) => "sub4",
            Dimension::Sub(_) => "sub5",
            Dimension::Country => "country",
            Dimension::Device => "device",
            Dimension::Os => "os",
            Dimension::Browser => "browser",
        }
    }

    /// The clicks column holding this dimension.
    pub fn column(self) -> &'static str {
        match self {
            Dimension::Offer => "offer_id",
            Dimension::Affiliate => "affiliate_id",
            Dimension::Link => "link_id",
            other => other.name(),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ReportQuery {
    pub from_ms: i64,
    pub to_ms: i64,
    pub dimensions: Vec<Dimension>,
    pub filters: Vec<(Dimension, String)>,
}

/// One 15-minute bucket for one combination of dimension values: either
/// click figures (currency empty) or conversion figures in one currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketRow {
    pub bucket_ms: i64,
    pub values: Vec<String>,
    pub clicks: i64,
    pub unique_clicks: i64,
    pub bot_clicks: i64,
    /// The payout currency of the conversion figures; empty on click rows.
    pub currency: String,
    pub conversions: i64,
    pub approved: i64,
    /// Micro-units, summed exactly; counted for approved and pending
    /// conversions only (rejected and reversed ones pay nothing).
    pub payout_micros: i64,
    pub revenue_micros: i64,
}
