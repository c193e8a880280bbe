//! The accept loop, over plain TCP or TLS: each connection is served by
//! hyper with the peer's address for `ConnectInfo`, through
//! `canned::JsonCanned` so even hyper's own refusals are JSON; on `stop`
//! no new connections are taken and open ones finish their requests.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::{Extension, Router};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower_layer::Layer;

use crate::canned::JsonCanned;

/// The most a request head (request line and headers) may take, and so
/// the largest read buffer a connection keeps: room for the 64 KiB URL
/// hyper accepts and ordinary headers beside it.
pub const MAX_HEAD: usize = 96 * 1024;

pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    header_read_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    // A client gets `header_read_timeout` to send a request's head: a
    // slowloris (headers a byte at a time, or a connection opened and
    // left) is closed instead of holding a connection and its buffers.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        // a request head over this is refused (431); a URL may be 64 KiB
        .max_buf_size(MAX_HEAD);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(header_read_timeout);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|s| *s) => break,
        };
        let (tcp, peer): (_, SocketAddr) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // out of file descriptors and the like: wait for some to
                // close rather than spin
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(Extension(ConnectInfo(peer)).layer(app.clone()));
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            // hyper's timer starts with a request's first byte: a
            // connection that sends nothing is closed here instead
            let mut first = [0u8; 1];
            match tokio::time::timeout(header_read_timeout, tcp.peek(&mut first)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return,
            }
            let result = match tls {
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(header_read_timeout, acceptor.accept(tcp)).await;
                    let Ok(Ok(stream)) = handshake else {
                        return;
                    };
                    let io = TokioIo::new(JsonCanned::new(stream));
                    let conn = builder.serve_connection_with_upgrades(io, service);
                    watcher.watch(conn.into_owned()).await
                }
                None => {
                    let io = TokioIo::new(JsonCanned::new(tcp));
                    let conn = builder.serve_connection_with_upgrades(io, service);
                    watcher.watch(conn.into_owned()).await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    graceful.shutdown().await;
    Ok(())
}
