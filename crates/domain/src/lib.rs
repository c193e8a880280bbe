//! The pure core of Clickledger: no I/O, no async, no clocks.
//!
//! Everything that decides something about a click or a conversion lives here
//! so it can be tested exhaustively without a database or a network:
//! click ids, money and currencies, URL macro templates, postback field
//! resolution, the conversion state machine, the commission rules and a
//! link's traffic flow (`flow`: which visitor goes to which target).

pub mod alerts;
pub mod click_id;
pub mod codes;
pub mod delay;
pub mod destination_health;
pub mod flow;
pub mod hints;
pub mod money;
pub mod net;
pub mod offer;
pub mod outbound;
pub mod pii;
pub mod pixel_host;
pub mod postback;
pub mod rate;
pub mod schema;
pub mod session;
pub mod signature;
pub mod status;
pub mod template;
pub mod time;
pub mod user_agent;
pub mod wording;

pub use click_id::{ClickId, ClickIdError};
pub use codes::ErrorCode;
pub use money::{Currency, Money};
pub use offer::{EventDef, Rule};
pub use status::Status;
pub use template::UrlTemplate;
