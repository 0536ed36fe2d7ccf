//! Serving the router over TLS: accept loop on a bound listener, one task
//! per connection (HTTP/1.1), all stopped together on shutdown.

use std::sync::Arc;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

/// Serves `router` on `listener` over TLS until `shutdown` fires (or its
/// sender is dropped); then every open connection is aborted too, so
/// clients do not keep talking to a stopped server.
pub fn spawn(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    router: Router,
    mut shutdown: oneshot::Receiver<()>,
) -> JoinHandle<()> {
    let acceptor = TlsAcceptor::from(tls);
    tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = listener.accept() => {
                    let Ok((stream, peer)) = accepted else { continue };
                    let acceptor = acceptor.clone();
                    let service = TowerToHyperService::new(router.clone());
                    connections.spawn(async move {
                        let tls = match acceptor.accept(stream).await {
                            Ok(tls) => tls,
                            Err(e) => {
                                tracing::debug!(%peer, error = %e, "kubeapi TLS handshake failed");
                                return;
                            }
                        };
                        let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                        if let Err(e) = builder.serve_connection(TokioIo::new(tls), service).await {
                            tracing::debug!(%peer, error = %e, "kubeapi connection ended");
                        }
                    });
                }
            }
        }
        connections.shutdown().await;
    })
}
