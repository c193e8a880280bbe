//! The `clickledger` binary.

mod demo;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use clickledger_server::Settings;
use clickledger_store::{SqliteStore, Store};

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
    Serve {
        /// Address to listen on.
        #[arg(long, env = "CLICKLEDGER_LISTEN", default_value = "127.0.0.1:7878")]
        listen: SocketAddr,
        /// The store: a SQLite file path (created if missing).
        #[arg(long, env = "CLICKLEDGER_DB", default_value = "./clickledger.db")]
        db: String,
        /// Base URL for the tracking and postback URLs the API returns
        /// (default: http://<listen>).
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
    },
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn open_store(db: &str) -> Result<Arc<dyn Store>, String> {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        return Err("PostgreSQL is not supported by this build yet; use a SQLite file path".into());
    }
    Ok(Arc::new(
        SqliteStore::open(db).map_err(|e| format!("{db}: {e}"))?,
    ))
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
        Command::Serve {
            listen,
            db,
            public_url,
            geoip,
            demo,
            log_format,
            queue_capacity,
            batch_max,
        } => {
            init_logs(log_format);
            let store = open_store(&db)?;
            let fixed = std::env::var("CLICKLEDGER_ADMIN_KEY")
                .ok()
                .filter(|k| !k.is_empty());
            if let Some(key) =
                clickledger_server::ensure_admin_key(store.as_ref(), fixed.as_deref()).await?
            {
                eprintln!("Admin API key (shown once, stored hashed): {key}");
            }
            let public_url = public_url.unwrap_or_else(|| format!("http://{listen}"));
            if demo {
                demo::ensure(store.as_ref()).await?;
            }
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            let settings = Settings {
                public_url: public_url.clone(),
                geoip,
                queue_capacity,
                batch_max,
            };
            let running = clickledger_server::start(store, settings, listener).await?;
            tracing::info!(addr = %running.addr, db = %db, "clickledger listening");
            if demo {
                demo::print(&public_url);
            }
            running.run_until(shutdown_signal()).await;
            tracing::info!("stopped; every acknowledged click is committed");
            Ok(())
        }
    }
}
