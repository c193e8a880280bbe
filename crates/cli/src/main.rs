//! The `clickledger` binary.

mod admin_key;
mod check;
mod client;
mod demo;
mod journal;
mod user;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clickledger_domain::destination_health::HealthPolicy;
use clickledger_domain::net::Cidr;
use clickledger_domain::outbound::parse_schedule;
use clickledger_domain::rate::Limit;
use clickledger_server::alerts::AlertHook;
use clickledger_server::delivery::DeliverySettings;
use clickledger_server::security::Vault;
use clickledger_server::tls::TlsFiles;
use clickledger_server::Settings;
use clickledger_store::Store;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "clickledger",
    version,
    about = "Click and conversion tracker for affiliate marketing"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Start the tracker.
    #[command(after_help = SERVE_HELP)]
    Serve(Box<ServeArgs>),
    /// Manage admin API keys on the store file: list, create (the key is
    /// printed once), revoke. Works while the server runs.
    AdminKey {
        #[command(subcommand)]
        action: admin_key::Action,
        #[command(flatten)]
        store: StoreFile,
    },
    /// Manage dashboard users on the store file: `user add --email E --role
    /// admin` creates the first admin. Works while the server runs.
    User {
        #[command(subcommand)]
        action: user::Action,
        #[command(flatten)]
        store: StoreFile,
    },
    /// Check an offer's integration against a running tracker: a test click,
    /// the click id in the destination, a test postback, its log entry and
    /// its conversion. Prints a pass/fail checklist; exits 1 on a failure.
    Check {
        /// The tracker's base URL.
        #[arg(long, default_value = "http://127.0.0.1:7878")]
        url: String,
        /// The offer to check.
        #[arg(long)]
        offer: String,
        /// An admin API key.
        #[arg(long, env = "CLICKLEDGER_ADMIN_KEY")]
        key: String,
        /// The event to fire (default: the offer's first).
        #[arg(long)]
        event: Option<String>,
        /// The amount to send with the test postback.
        #[arg(long, default_value = "10.00")]
        amount: String,
    },
    /// Print a report as a table (the same as GET /api/v1/reports).
    Report {
        #[arg(long, default_value = "http://127.0.0.1:7878")]
        url: String,
        #[arg(long, env = "CLICKLEDGER_ADMIN_KEY")]
        key: String,
        /// hour, day, week, month, offer, advertiser, affiliate, link,
        /// source, sub1..sub5, country, device, os, browser, event, status
        #[arg(long, default_value = "day")]
        group_by: String,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long, default_value = "UTC")]
        tz: String,
        /// click or conversion
        #[arg(long, default_value = "click")]
        date_basis: String,
        /// Filters as dimension=value, e.g. --filter country=DE
        #[arg(long = "filter")]
        filters: Vec<String>,
        #[arg(long)]
        sort: Option<String>,
    },
    /// The fallback journal: `inspect DIR` tells what waits in it;
    /// `replay` (with serve's flags) replays it into the store and exits,
    /// for a journal whose node will not start again.
    Journal {
        #[command(subcommand)]
        action: journal::Action,
    },
    /// Upload a conversions CSV (click_id, event, txid, amount, currency,
    /// status) in chunks; prints one result per row, progress on a terminal.
    Import {
        #[arg(long, default_value = "http://127.0.0.1:7878")]
        url: String,
        #[arg(long, env = "CLICKLEDGER_ADMIN_KEY")]
        key: String,
        file: String,
    },
}

const SERVE_HELP: &str = "\
Admin API key:
  CLICKLEDGER_ADMIN_KEY=<key>  makes <key> an admin key if it is not one yet.
                               Admin keys already in the store keep working;
                               a revoked key stays revoked.
  Without it, a key is generated on the first start (when no admin key
  exists) and printed once on stderr. Lost it? `clickledger admin-key create`
  prints a new one; `clickledger admin-key list|revoke` manage the rest.";

/// The store file the commands that work on it directly (`admin-key`,
/// `user`) open: the one `serve` uses.
#[derive(Args)]
struct StoreFile {
    /// The store `serve` uses.
    #[arg(
        long,
        env = "CLICKLEDGER_DB",
        default_value = "./clickledger.db",
        global = true
    )]
    db: String,
}

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CLICKLEDGER_LISTEN", default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// The store: a SQLite file path (created if missing), or a
    /// `postgres://user@host:port/db` URL shared by several nodes.
    #[arg(long, env = "CLICKLEDGER_DB", default_value = "./clickledger.db")]
    db: String,
    /// This node's name among the nodes sharing a PostgreSQL database; it
    /// names the delivery jobs this node holds. Default: host name and
    /// listening port, stable across restarts.
    #[arg(long, env = "CLICKLEDGER_NODE")]
    node: Option<String>,
    /// A Redis shared by the nodes behind one load balancer
    /// (`redis://127.0.0.1:6379/0`): rate limits, the webhook replay guard
    /// and unique clicks then hold across nodes. While it is away each node
    /// decides alone; nothing is refused for it. Without it, route by client
    /// IP to keep unique clicks and per-IP limits right.
    #[arg(long, env = "CLICKLEDGER_REDIS")]
    redis: Option<String>,
    /// The fallback journal's directory: while the store cannot take
    /// writes, clicks and postbacks are kept here (appended and fsynced
    /// before they are answered) and replayed into the store when it is
    /// back. Default: <db>.journal beside a SQLite file; with PostgreSQL,
    /// clickledger-<port>.journal in the working directory. Each node needs
    /// a directory of its own, on a disk that outlives the process. `none`
    /// turns it off: then, while the store is away, postbacks answer 503 and
    /// clicks are redirected unrecorded after a second's tries.
    #[arg(long, env = "CLICKLEDGER_JOURNAL")]
    journal: Option<String>,
    /// The first part of every key written in that Redis.
    #[arg(long, env = "CLICKLEDGER_REDIS_PREFIX", default_value = "clickledger")]
    redis_prefix: String,
    /// Base URL for the tracking and postback URLs the API returns
    /// (default: http(s)://<listen>).
    #[arg(long, env = "CLICKLEDGER_PUBLIC_URL")]
    public_url: Option<String>,
    /// A MaxMind-format country database (.mmdb) for click countries.
    #[arg(long, env = "CLICKLEDGER_GEOIP")]
    geoip: Option<PathBuf>,
    /// Also create (idempotently) a demo advertiser, offer, affiliate and
    /// link, and print how to try them.
    #[arg(long)]
    demo: bool,
    #[arg(
        long,
        env = "CLICKLEDGER_LOG_FORMAT",
        value_enum,
        default_value = "human"
    )]
    log_format: LogFormat,
    /// Clicks that may wait for the writer before new ones get a 503.
    #[arg(long, default_value_t = 16_384)]
    queue_capacity: usize,
    /// Most clicks committed in one transaction.
    #[arg(long, default_value_t = 1024)]
    batch_max: usize,
    /// A proxy (CIDR) whose X-Forwarded-For and X-Forwarded-Proto are
    /// believed; repeat for several.
    #[arg(
        long = "trusted-proxy",
        env = "CLICKLEDGER_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<String>,
    /// Postbacks per source IP: rate/unit[:burst], e.g. 1000/s:2000.
    #[arg(long, default_value = "1000/s:2000")]
    postback_rate_ip: String,
    /// Postbacks per advertiser (an advertiser's rate_limit overrides it).
    #[arg(long, default_value = "1000/s:2000")]
    postback_rate_advertiser: String,
    /// Clicks per IP before further clicks are marked suspicious.
    #[arg(long, default_value = "10/s:30")]
    click_rate_ip: String,
    /// Browser conversions (t.js, /px) per visitor IP: rate/unit[:burst].
    #[arg(long, default_value = "5/s:50")]
    browser_rate_ip: String,
    /// Seconds a rotated token, signing secret or API key keeps working.
    #[arg(long, default_value_t = 86_400)]
    secret_grace: i64,
    /// The 32-byte master key (64 hex characters) sealing signing secrets
    /// at rest. Default: read from, or created in, <db>.key.
    #[arg(long, env = "CLICKLEDGER_MASTER_KEY", hide_env_values = true)]
    master_key: Option<String>,
    /// Retry schedule for outbound postbacks, e.g. 1m,5m,30m,2h,12h,24h.
    #[arg(
        long,
        env = "CLICKLEDGER_DELIVERY_BACKOFF",
        default_value = "1m,5m,30m,2h,12h,24h"
    )]
    delivery_backoff: String,
    /// Let outbound postbacks reach loopback/private addresses over plain
    /// http (tests, internal setups). Set CLICKLEDGER_ALLOW_PRIVATE_DESTINATIONS=1.
    #[arg(long, env = "CLICKLEDGER_ALLOW_PRIVATE_DESTINATIONS", value_parser = parse_flag, default_value = "0")]
    allow_private_destinations: bool,
    /// Outbound postbacks in flight at once...
    #[arg(long, default_value_t = 32)]
    delivery_concurrency: usize,
    /// ...and per destination host.
    #[arg(long, default_value_t = 8)]
    delivery_per_host: usize,
    /// Seconds an outbound postback may take in all.
    #[arg(long, default_value_t = 10)]
    delivery_timeout: u64,
    /// Failed attempts in a row after which a destination is *failing*: its
    /// jobs wait (keeping their retries) and one probe goes out per probe
    /// interval; the first successful probe releases them oldest first.
    /// (`--delivery-suspend-after` is the deprecated name of this flag.)
    #[arg(long, alias = "delivery-suspend-after", default_value_t = 5)]
    delivery_failing_after: u32,
    /// The first probe interval of a failing destination...
    #[arg(long, default_value = "1s")]
    delivery_probe_interval: String,
    /// ...doubled after each failed probe up to this.
    #[arg(long, default_value = "60s")]
    delivery_probe_max: String,
    /// A destination failing continuously this long (at most a week)...
    #[arg(long, default_value = "72h")]
    delivery_disable_after: String,
    /// ...with at least this many failures is *disabled* until a person
    /// re-enables it (POST /api/v1/affiliates/{id}/resume-deliveries).
    #[arg(long, default_value_t = 100)]
    delivery_disable_min_failures: u32,
    /// Where a destination's changes of state (failing, recovered, disabled,
    /// enabled) are POSTed, as JSON signed the Standard Webhooks way.
    #[arg(long, env = "CLICKLEDGER_ALERT_HOOK_URL")]
    alert_hook_url: Option<String>,
    /// The alert hook's signing secret (whsec_...); unsigned without it.
    #[arg(long, env = "CLICKLEDGER_ALERT_HOOK_SECRET", hide_env_values = true)]
    alert_hook_secret: Option<String>,
    /// Alerts: an offer's postbacks have stopped after this many of its
    /// usual intervals (learned from its last 7 days) without one...
    #[arg(long, env = "CLICKLEDGER_ALERT_STOPPED_FACTOR", default_value_t = 4)]
    alert_stopped_factor: u32,
    /// ...where the usual interval is taken as at least this...
    #[arg(
        long,
        env = "CLICKLEDGER_ALERT_STOPPED_MIN_INTERVAL",
        default_value = "30m"
    )]
    alert_stopped_min_interval: String,
    /// ...and at least this many clicks arrived since its last postback.
    #[arg(
        long,
        env = "CLICKLEDGER_ALERT_STOPPED_MIN_CLICKS",
        default_value_t = 20
    )]
    alert_stopped_min_clicks: u32,
    /// Alerts: the window rejection spikes and click id hints are counted in.
    #[arg(long, env = "CLICKLEDGER_ALERT_WINDOW", default_value = "15m")]
    alert_window: String,
    /// Alerts: refused postbacks with one error code over this percentage
    /// of an advertiser's (or offer's) postbacks in the window...
    #[arg(long, env = "CLICKLEDGER_ALERT_SPIKE_PERCENT", default_value_t = 50)]
    alert_spike_percent: u32,
    /// ...and at least this many of them make a rejections spike.
    #[arg(long, env = "CLICKLEDGER_ALERT_SPIKE_MIN_COUNT", default_value_t = 20)]
    alert_spike_min_count: u32,
    /// Alerts: this many postbacks with an unreplaced macro (or a
    /// double-encoded click id) in the window open an alert.
    #[arg(long, env = "CLICKLEDGER_ALERT_HINT_MIN_COUNT", default_value_t = 3)]
    alert_hint_min_count: u32,
    /// Alerts: the fallback journal is not draining when its oldest record
    /// is older than this.
    #[arg(long, env = "CLICKLEDGER_ALERT_JOURNAL_AGE", default_value = "5m")]
    alert_journal_age: String,
    /// Alerts resolve once their condition has been clear this long.
    #[arg(long, env = "CLICKLEDGER_ALERT_RESOLVE_AFTER", default_value = "5m")]
    alert_resolve_after: String,
    /// The UTC hour (0-23) after which the daily digest goes to the alert
    /// hooks; `off`: no digest.
    #[arg(long, env = "CLICKLEDGER_ALERT_DIGEST_HOUR", default_value = "8")]
    alert_digest_hour: String,
    /// Delete raw clicks after this many days (0: keep). Rollups and
    /// conversions stay; keep it above every offer's attribution window.
    #[arg(long, default_value_t = 0)]
    click_retention_days: u32,
    /// An IANA timezone reports by day are read in often (comma-separated
    /// or repeated): the rollups keep day rows for its local days too, so
    /// such a report reads a row per key and day (from the next local day
    /// on, where clicks were rolled up before; on SQLite the days before
    /// are then filled in behind). Every node should be given the same; a
    /// timezone once kept stays kept.
    #[arg(
        long = "report-timezone",
        env = "CLICKLEDGER_REPORT_TIMEZONES",
        value_delimiter = ','
    )]
    report_timezones: Vec<String>,
    /// Dashboard sessions end after this many minutes unused.
    #[arg(long, env = "CLICKLEDGER_SESSION_IDLE_MINUTES", default_value_t = 120)]
    session_idle_minutes: u32,
    /// Dashboard sessions end this many hours after login, used or not.
    #[arg(long, env = "CLICKLEDGER_SESSION_MAX_HOURS", default_value_t = 12)]
    session_max_hours: u32,
    /// Failed dashboard logins allowed per client address (rate:burst).
    #[arg(long, default_value = "120/h:20")]
    login_rate_ip: String,
    /// Failed dashboard logins allowed per account (rate:burst).
    #[arg(long, default_value = "30/h:5")]
    login_rate_account: String,
    /// The account's base currency: reports and ledger balances are in it.
    #[arg(long, env = "CLICKLEDGER_BASE_CURRENCY", default_value = "USD")]
    base_currency: String,
    /// Seconds a client may take to send a request's head; a slower one
    /// (a slowloris) is disconnected.
    #[arg(long, default_value_t = 10)]
    header_read_timeout: u64,
    /// Serve HTTPS with this certificate chain (PEM)...
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// ...and this private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

/// The master key: given, or kept in a 0600 file beside the database.
fn master_key(given: Option<&str>, db: &str) -> Result<Vault, String> {
    if let Some(k) = given {
        return Vault::from_hex(k);
    }
    if clickledger_store::is_postgres_url(db) {
        // a key file beside one node would differ from the next node's
        return Err("--master-key (or CLICKLEDGER_MASTER_KEY) is required with PostgreSQL: every node must hold the same key to read the secrets it stores".into());
    }
    let path = format!("{db}.key");
    let path = Path::new(&path);
    if path.exists() {
        return Vault::from_hex(
            &std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?,
        );
    }
    let hex = Vault::random_key_hex();
    std::fs::write(path, &hex).map_err(|e| format!("{}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| e.to_string())?;
    }
    eprintln!(
        "Created the master key {} (keep it with backups of the database).",
        path.display()
    );
    Vault::from_hex(&hex)
}

fn parse_flag(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "" | "0" | "false" | "no" | "off" => Ok(false),
        other => Err(format!("`{other}` is not 1/0 or true/false")),
    }
}

fn limit(flag: &str, v: &str) -> Result<Limit, String> {
    Limit::parse(v).map_err(|e| format!("--{flag}: {e}"))
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // colour codes only for a person at a terminal, never into a file or pipe
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn open_store(db: &str) -> Result<Arc<dyn Store>, String> {
    clickledger_store::open(db)
        .await
        .map_err(|e| format!("{db}: {e}"))
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Report {
            url,
            key,
            group_by,
            from,
            to,
            tz,
            date_basis,
            filters,
            sort,
        } => {
            let mut params = vec![
                ("group_by".to_string(), group_by),
                ("tz".to_string(), tz),
                ("date_basis".to_string(), date_basis),
            ];
            params.extend(from.map(|f| ("from".to_string(), f)));
            params.extend(to.map(|t| ("to".to_string(), t)));
            params.extend(sort.map(|s| ("sort".to_string(), s)));
            for f in filters {
                let (k, v) = f
                    .split_once('=')
                    .ok_or_else(|| format!("--filter {f}: write dimension=value"))?;
                params.push((k.to_string(), v.to_string()));
            }
            client::report(&url, &key, &params).await
        }
        Command::Journal { action } => journal::run(action).await,
        Command::Import { url, key, file } => client::import(&url, &key, &file).await,
        Command::AdminKey { action, store } => admin_key::run(&store.db, action).await,
        Command::User { action, store } => user::run(&store.db, action).await,
        Command::Check {
            url,
            offer,
            key,
            event,
            amount,
        } => {
            let ok = check::run(&url, &offer, &key, event.as_deref(), &amount).await;
            if ok {
                Ok(())
            } else {
                Err("the integration check failed".into())
            }
        }
    }
}

/// The journal directory `--journal` names, or the default: beside a
/// SQLite file, `<db>.journal`; with PostgreSQL, `clickledger-<port>.journal`
/// in the working directory (nodes on one machine listen on different
/// ports, so each gets a directory of its own).
fn journal_dir(a: &ServeArgs) -> Option<PathBuf> {
    match a.journal.as_deref() {
        Some("" | "none") => None,
        Some(dir) => Some(PathBuf::from(dir)),
        None if clickledger_store::is_postgres_url(&a.db) => Some(PathBuf::from(format!(
            "clickledger-{}.journal",
            a.listen.port()
        ))),
        None => Some(PathBuf::from(format!("{}.journal", a.db))),
    }
}

async fn serve(a: ServeArgs) -> Result<(), String> {
    init_logs(a.log_format);
    let (store, settings, admin_key, public_url) = prepare(&a).await?;
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", a.listen))?;
    let running = clickledger_server::start(store, settings, listener).await?;
    tracing::info!(addr = %running.addr, db = %a.db, "clickledger listening");
    admin_key::announce(&admin_key, &a.db, &public_url);
    if a.demo {
        demo::print(&public_url);
    }
    running.run_until(shutdown_signal()).await;
    tracing::info!("stopped; every acknowledged click is committed");
    Ok(())
}

/// The store and the server's settings from serve's flags (shared by
/// `serve` and `journal replay`); the admin key ensured, the demo created.
async fn prepare(
    a: &ServeArgs,
) -> Result<
    (
        Arc<dyn Store>,
        Settings,
        clickledger_server::AdminKeyStart,
        String,
    ),
    String,
> {
    let store = open_store(&a.db).await?;
    let vault = Arc::new(master_key(a.master_key.as_deref(), &a.db)?);
    let fixed = std::env::var("CLICKLEDGER_ADMIN_KEY")
        .ok()
        .filter(|k| !k.is_empty());
    let admin_key = clickledger_server::ensure_admin_key(store.as_ref(), fixed.as_deref())
        .await
        .map_err(|e| format!("{}: {e}", a.db))?;
    let tls = match (a.tls_cert.clone(), a.tls_key.clone()) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let public_url = a
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{}", a.listen));
    if a.demo {
        demo::ensure(store.as_ref(), &vault).await?;
    }
    let trusted_proxies = a
        .trusted_proxies
        .iter()
        .filter(|c| !c.is_empty())
        .map(|c| Cidr::parse(c).map_err(|e| format!("--trusted-proxy: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let alert_hook = match a.alert_hook_url.clone().filter(|u| !u.is_empty()) {
        Some(url) => {
            clickledger_server::alerts::check(&url, a.allow_private_destinations)
                .map_err(|e| format!("--alert-hook-url: {e}"))?;
            Some(AlertHook {
                url,
                secret: a.alert_hook_secret.clone().filter(|s| !s.is_empty()),
            })
        }
        None => None,
    };
    let settings = Settings {
        public_url: public_url.clone(),
        geoip: a.geoip.clone(),
        queue_capacity: a.queue_capacity,
        batch_max: a.batch_max,
        trusted_proxies,
        postback_rate_ip: limit("postback-rate-ip", &a.postback_rate_ip)?,
        postback_rate_advertiser: limit("postback-rate-advertiser", &a.postback_rate_advertiser)?,
        click_rate_ip: limit("click-rate-ip", &a.click_rate_ip)?,
        browser_rate_ip: limit("browser-rate-ip", &a.browser_rate_ip)?,
        secret_grace_seconds: a.secret_grace,
        vault,
        tls,
        delivery: DeliverySettings {
            backoff: parse_schedule(&a.delivery_backoff)
                .map_err(|e| format!("--delivery-backoff: {e}"))?,
            allow_private: a.allow_private_destinations,
            concurrency: a.delivery_concurrency.max(1),
            per_host: a.delivery_per_host.max(1),
            connect_timeout: Duration::from_secs(a.delivery_timeout.clamp(1, 5)),
            timeout: Duration::from_secs(a.delivery_timeout.max(1)),
            health: HealthPolicy {
                failing_after: a.delivery_failing_after.max(1),
                probe_first_ms: one_duration(
                    "delivery-probe-interval",
                    &a.delivery_probe_interval,
                )?,
                probe_max_ms: one_duration("delivery-probe-max", &a.delivery_probe_max)?,
                disable_after_ms: one_duration(
                    "delivery-disable-after",
                    &a.delivery_disable_after,
                )?,
                disable_min_failures: a.delivery_disable_min_failures,
            },
            alert_hook,
            ..DeliverySettings::default()
        },
        base_currency: clickledger_domain::Currency::parse(&a.base_currency)
            .map_err(|e| format!("--base-currency: {e}"))?,
        click_retention_days: a.click_retention_days,
        report_timezones: a.report_timezones.clone(),
        alerts: alert_settings(a)?,
        node: a.node.clone(),
        redis: a.redis.clone().filter(|r| !r.is_empty()),
        redis_prefix: a.redis_prefix.clone(),
        ui: clickledger_server::ui::UiSettings {
            sessions: clickledger_domain::session::SessionPolicy {
                idle_ms: i64::from(a.session_idle_minutes.max(1)) * 60_000,
                absolute_ms: i64::from(a.session_max_hours.max(1)) * 3_600_000,
                ..Default::default()
            },
            login_rate_ip: limit("login-rate-ip", &a.login_rate_ip)?,
            login_rate_account: limit("login-rate-account", &a.login_rate_account)?,
        },
        journal: journal_dir(a),
        header_read_timeout: Duration::from_secs(a.header_read_timeout.max(1)),
        ..Settings::default()
    };
    Ok((store, settings, admin_key, public_url))
}

/// One duration (`500ms`, `1s`, `60s`, `72h`) in milliseconds.
fn one_duration(flag: &str, s: &str) -> Result<i64, String> {
    match parse_schedule(s).map_err(|e| format!("--{flag}: {e}"))?[..] {
        [d] if !d.is_zero() => Ok(d.as_millis() as i64),
        _ => Err(format!("--{flag}: `{s}` is not one duration like 30s")),
    }
}

/// The alert settings from `--alert-*`.
fn alert_settings(
    a: &ServeArgs,
) -> Result<clickledger_server::alerts::evaluate::AlertSettings, String> {
    use clickledger_domain::alerts::Thresholds;
    if !(1..=100).contains(&a.alert_spike_percent) {
        return Err("--alert-spike-percent: must be 1-100".into());
    }
    let digest_hour = match a.alert_digest_hour.as_str() {
        "off" | "" => None,
        h => match h.parse::<u32>() {
            Ok(h) if h < 24 => Some(h),
            _ => {
                return Err(format!(
                    "--alert-digest-hour: `{h}` is not an hour 0-23 or off"
                ))
            }
        },
    };
    Ok(clickledger_server::alerts::evaluate::AlertSettings {
        thresholds: Thresholds {
            stopped_factor: f64::from(a.alert_stopped_factor.max(1)),
            stopped_min_interval_ms: one_duration(
                "alert-stopped-min-interval",
                &a.alert_stopped_min_interval,
            )?,
            stopped_min_clicks: a.alert_stopped_min_clicks,
            window_ms: one_duration("alert-window", &a.alert_window)?,
            spike_share: f64::from(a.alert_spike_percent) / 100.0,
            spike_min_count: a.alert_spike_min_count,
            hint_min_count: a.alert_hint_min_count,
            journal_age_ms: one_duration("alert-journal-age", &a.alert_journal_age)?,
            ..Thresholds::default()
        },
        quiet_ms: one_duration("alert-resolve-after", &a.alert_resolve_after)?,
        digest_hour,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve_args(extra: &[&str]) -> ServeArgs {
        let argv = [&["clickledger", "serve"][..], extra].concat();
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Serve(a) => *a,
            _ => unreachable!("serve"),
        }
    }

    #[test]
    fn the_health_flags_and_the_old_name() {
        let a = serve_args(&[]);
        assert_eq!(a.delivery_failing_after, 5);
        assert_eq!(a.delivery_disable_min_failures, 100);
        // the deprecated name still sets the failing threshold
        let a = serve_args(&["--delivery-suspend-after", "9"]);
        assert_eq!(a.delivery_failing_after, 9);
        assert_eq!(one_duration("x", "1s"), Ok(1_000));
        assert_eq!(one_duration("x", "72h"), Ok(72 * 3_600_000));
        assert!(one_duration("x", "1s,2s")
            .unwrap_err()
            .contains("one duration"));
        assert!(one_duration("x", "0s").is_err());
        assert!(one_duration("x", "soon").unwrap_err().starts_with("--x: "));
    }
}
