//! Configuration changes pushed to every node: a dedicated connection
//! LISTENs on `clickledger_config`, which every configuration write
//! NOTIFYs in its transaction. If the connection drops it is opened again;
//! meanwhile (and behind a transaction-pooling proxy, where LISTEN never
//! hears anything) the server's poll of `config_stamp` still notices.

use std::sync::Weak;
use std::time::Duration;

use tokio::sync::broadcast::Sender;
use tokio_postgres::{AsyncMessage, NoTls};

pub const CHANNEL: &str = "clickledger_config";

/// Listens for as long as `alive` (the store's token) exists.
pub fn spawn(config: tokio_postgres::Config, changes: Sender<()>, alive: Weak<()>) {
    tokio::spawn(async move {
        while alive.upgrade().is_some() {
            if let Err(e) = listen(&config, &changes, &alive).await {
                tracing::debug!(error = %e, "configuration LISTEN connection lost; reconnecting");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

async fn listen(
    config: &tokio_postgres::Config,
    changes: &Sender<()>,
    alive: &Weak<()>,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        while let Some(m) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            if tx.send(m).is_err() {
                break;
            }
        }
    });
    let result = async {
        client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
        // whatever changed while this connection was down
        let _ = changes.send(());
        loop {
            let message = tokio::select! {
                m = rx.recv() => m,
                // wake now and then to notice the store is gone
                _ = tokio::time::sleep(Duration::from_secs(5)) => {
                    if alive.upgrade().is_none() {
                        return Ok(());
                    }
                    continue;
                }
            };
            match message {
                Some(Ok(AsyncMessage::Notification(_))) => {
                    let _ = changes.send(());
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            }
        }
    }
    .await;
    driver.abort();
    result
}
