//! `clickledger admin-key list|create|revoke`: admin keys managed on the
//! store itself, so a lost key can be replaced without one. Running servers
//! see the change at their next configuration reload.

use std::path::Path;

use clap::Subcommand;
use clickledger_server::keys::{self, AdminKeyStart};
use std::sync::Arc;

use clickledger_store::{SqliteStore, Store};

#[derive(Subcommand)]
pub enum Action {
    /// List admin keys: id, name, hint (prefix and last characters),
    /// created, revoked. The keys themselves are never shown again.
    List,
    /// Create an admin key and print it once.
    Create {
        /// What the key is for, e.g. laptop or billing-export.
        #[arg(long, default_value = "admin key")]
        name: String,
    },
    /// Revoke an admin key for good (never the last working one).
    Revoke {
        /// The key's id, as `admin-key list` shows it (key_…).
        id: String,
    },
}

/// The store a server may be running on, which must exist already (a typo
/// would otherwise create an empty database; a PostgreSQL URL names one
/// that exists or fails to connect).
pub async fn open_existing(db: &str) -> Result<Arc<dyn Store>, String> {
    if clickledger_store::is_postgres_url(db) {
        return clickledger_store::open(db)
            .await
            .map_err(|e| format!("{db}: {e}"));
    }
    if !Path::new(db).exists() {
        return Err(format!(
            "no database at {db}; pass the file `clickledger serve` uses with --db or CLICKLEDGER_DB"
        ));
    }
    let store = SqliteStore::open_beside_server(db).map_err(|e| format!("{db}: {e}"))?;
    Ok(Arc::new(store))
}

pub async fn run(db: &str, action: Action) -> Result<(), String> {
    let store = open_existing(db).await?;
    let store = store.as_ref();
    match action {
        Action::List => {
            let list = keys::list(store).await.map_err(|e| e.to_string())?;
            let fields = ["id", "name", "hint", "created_at", "revoked_at"];
            let mut rows = vec![fields.map(String::from).to_vec()];
            for k in &list {
                let v = keys::view(k);
                rows.push(
                    fields
                        .iter()
                        .map(|f| v[f].as_str().unwrap_or("").to_string())
                        .collect(),
                );
            }
            print!("{}", crate::client::table(&rows, fields.len(), false));
            Ok(())
        }
        Action::Create { name } => {
            let (key, record) = keys::create(store, &name, "cli")
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "Created admin key {} ({}):\n\n    {key}\n\n{}",
                record.id,
                record.name,
                usage(&key, "http://127.0.0.1:7878")
            );
            Ok(())
        }
        Action::Revoke { id } => {
            let k = keys::revoke(store, &id, None)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "Revoked admin key {} ({}); a running server refuses it within 10 s.",
                k.id, k.name
            );
            Ok(())
        }
    }
}

/// How to use a key, shown with it the one time it is shown.
fn usage(key: &str, url: &str) -> String {
    format!(
        "  It is shown only now (the store keeps its SHA-256). Use it as\n    \
         export CLICKLEDGER_ADMIN_KEY={key}\n    \
         curl -H \"Authorization: Bearer $CLICKLEDGER_ADMIN_KEY\" {url}/api/v1/offers\n"
    )
}

/// What `serve` says about admin keys once it is listening, so the key
/// comes after any build output, framed, with how to replace it. On stderr,
/// as the contract says; the demo's instructions go to stdout.
pub fn announce(start: &AdminKeyStart, db: &str, url: &str) {
    match start {
        AdminKeyStart::Generated(key) => eprintln!(
            "\nAdmin API key (shown once, stored hashed): {key}\n\n{}  \
             Lost it? Make another (the server may keep running):\n    \
             clickledger admin-key create --db {db} --name laptop\n",
            usage(key, url)
        ),
        AdminKeyStart::Added => eprintln!(
            "CLICKLEDGER_ADMIN_KEY is now an admin key; keys created before keep working \
             (`clickledger admin-key list --db {db}`)."
        ),
        AdminKeyStart::Revoked => eprintln!(
            "warning: CLICKLEDGER_ADMIN_KEY is a revoked (or partner) key and does not open the admin API; \
             make a new one with `clickledger admin-key create --db {db}`"
        ),
        AdminKeyStart::Known => {}
    }
}
