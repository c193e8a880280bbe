//! Throwaway PostgreSQL databases for the tests and benchmarks.
//!
//! Every test gets a database of its own, created fresh on the shared
//! server and dropped (`WITH (FORCE)`, so connections a test left open do
//! not keep it) when its handle goes: tests running at once never see each
//! other's rows, and the server is left as it was found.
//!
//! Names are `<prefix>_<unix seconds>_<pid>_<random>`: the creation time in
//! the name lets a CI clean-up drop what a killed run left behind, and only
//! that (`DROP DATABASE` of databases named before the run began), without
//! the privileges reading a database's files would need.

use rand::{Rng, SeedableRng};
use url::Url;

pub use tokio_postgres;

/// The variable that names the PostgreSQL server the tests use, e.g.
/// `postgres://root@127.0.0.1:5432`; unset, the tests run on SQLite.
pub const ENV: &str = "CLICKLEDGER_TEST_PG";

/// The server `CLICKLEDGER_TEST_PG` names, when it is set.
pub fn server_from_env() -> Option<String> {
    std::env::var(ENV).ok().filter(|v| !v.trim().is_empty())
}

/// A database that exists until this value is dropped.
pub struct ScratchDb {
    /// The server's maintenance database, from which this one is dropped.
    admin: String,
    name: String,
    url: String,
}

impl ScratchDb {
    /// Creates a fresh database on `server` (a `postgres://` URL; any
    /// database in its path is ignored).
    pub async fn create(server: &str, prefix: &str) -> Result<ScratchDb, String> {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let tag: u32 = rand::rngs::StdRng::from_os_rng().random();
        let name = format!("{prefix}_{secs}_{}_{tag:08x}", std::process::id());
        let admin = with_database(server, "postgres")?;
        let url = with_database(server, &name)?;
        let client = connect(&admin).await?;
        client
            .batch_execute(&format!("CREATE DATABASE {}", quoted(&name)))
            .await
            .map_err(|e| format!("CREATE DATABASE {name} on {server}: {e}"))?;
        Ok(ScratchDb { admin, name, url })
    }

    /// The URL to give `--db` or `clickledger_store::open`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Leaves the database in place (a benchmark keeps what it loaded for
    /// a later run) and answers its URL. It is renamed `cl_kept_…` first:
    /// the CI clean-up drops every `cl_test_` and `cl_bench_` database
    /// older than its run, and a kept one took an hour to load. The caller
    /// has closed its connections (any left are ended).
    pub async fn keep(self) -> Result<String, String> {
        let kept = std::mem::ManuallyDrop::new(self);
        // `<prefix>_<unix seconds>_<pid>_<random>`: the prefix replaced,
        // whatever underscores it has
        let prefix = kept.name.rsplitn(4, '_').nth(3).unwrap_or_default();
        let name = format!("cl_kept{}", &kept.name[prefix.len()..]);
        let client = connect(&kept.admin).await?;
        client
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                &[&kept.name],
            )
            .await
            .map_err(|e| format!("ending connections to {}: {e}", kept.name))?;
        let rename = format!(
            "ALTER DATABASE {} RENAME TO {}",
            quoted(&kept.name),
            quoted(&name)
        );
        // an ended backend leaves the database a moment later
        let mut tries = 0;
        while let Err(e) = client.batch_execute(&rename).await {
            tries += 1;
            if tries == 50 {
                return Err(format!("{rename}: {e}"));
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        with_database(&kept.admin, &name)
    }

    /// A connection of the test's own, to read or change rows directly.
    pub async fn client(&self) -> Result<tokio_postgres::Client, String> {
        connect(&self.url).await
    }

    /// Every row of every table in the `public` schema, as PostgreSQL
    /// prints it: what a search for a value "stored anywhere" reads.
    pub async fn all_rows_text(&self) -> Result<String, String> {
        let client = self.client().await?;
        let tables = client
            .query(
                "SELECT table_name::text FROM information_schema.tables
                 WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
                &[],
            )
            .await
            .map_err(|e| e.to_string())?;
        let mut text = String::new();
        for t in tables {
            let table: String = t.get(0);
            let rows = client
                .query(&format!("SELECT t::text FROM {} t", quoted(&table)), &[])
                .await
                .map_err(|e| format!("{table}: {e}"))?;
            for r in rows {
                text.push_str(&r.get::<_, String>(0));
                text.push('\n');
            }
        }
        Ok(text)
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        // Drop runs inside a test's runtime, which cannot be blocked on:
        // the statement goes out from a thread with a runtime of its own.
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                connect(&admin)
                    .await?
                    .batch_execute(&format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        quoted(&name)
                    ))
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("database {} not dropped: {e}", self.name),
            Err(_) => eprintln!(
                "database {} not dropped: the dropping thread panicked",
                self.name
            ),
        }
    }
}

/// `server` with its path set to `database`.
pub fn with_database(server: &str, database: &str) -> Result<String, String> {
    let mut url = Url::parse(server).map_err(|e| format!("{server}: {e}"))?;
    url.set_path(&format!("/{database}"));
    Ok(url.to_string())
}

/// A client whose connection runs on the current runtime.
pub async fn connect(url: &str) -> Result<tokio_postgres::Client, String> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// An identifier in double quotes, so names are taken as written.
fn quoted(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}
