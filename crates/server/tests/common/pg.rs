//! A fresh PostgreSQL database per test on the server at
//! `CLICKLEDGER_TEST_PG` (e.g. `postgres://root@127.0.0.1:5432`), dropped
//! when the test ends; `None` (and a line saying the test is skipped) when
//! the variable is unset.

pub struct PgDb {
    base: String,
    name: String,
}

impl PgDb {
    pub async fn new() -> Option<PgDb> {
        let Ok(base) = std::env::var("CLICKLEDGER_TEST_PG") else {
            eprintln!("skipped: set CLICKLEDGER_TEST_PG=postgres://root@127.0.0.1:5432 to run on PostgreSQL");
            return None;
        };
        let db = PgDb {
            base: base.trim_end_matches('/').to_string(),
            name: format!(
                "cl_server_{}",
                clickledger_server::util::random_id("t", 12).replace('_', "")
            ),
        };
        on_server(&db.base, &format!("CREATE DATABASE {}", db.name)).await;
        Some(db)
    }

    /// The database's URL, for `--db`.
    pub fn url(&self) -> String {
        format!("{}/{}", self.base, self.name)
    }
}

/// Runs `sql` on the server's `postgres` database.
async fn on_server(base: &str, sql: &str) {
    let url = format!("{base}/postgres");
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("the PostgreSQL at CLICKLEDGER_TEST_PG");
    tokio::spawn(conn);
    client.batch_execute(sql).await.unwrap();
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let base = self.base.clone();
        // a runtime of its own: Drop may run inside the test's runtime
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(on_server(&base, &sql));
        })
        .join()
        .unwrap();
    }
}
