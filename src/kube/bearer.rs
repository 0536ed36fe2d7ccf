//! A tower layer that puts a fresh bearer token on every request.

use axum::http::{header::AUTHORIZATION, HeaderValue, Request};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

use super::TokenSource;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Adds `Authorization: Bearer <token>` from a [`TokenSource`].
#[derive(Debug, Clone)]
pub struct BearerLayer(pub TokenSource);

impl<S> Layer<S> for BearerLayer {
    type Service = Bearer<S>;

    fn layer(&self, inner: S) -> Bearer<S> {
        Bearer {
            inner: Arc::new(tokio::sync::Mutex::new(inner)),
            tokens: self.0.clone(),
        }
    }
}

/// The service of [`BearerLayer`].
#[derive(Debug)]
pub struct Bearer<S> {
    inner: Arc<tokio::sync::Mutex<S>>,
    tokens: TokenSource,
}

impl<S, B> Service<Request<B>> for Bearer<S>
where
    S: Service<Request<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    S::Response: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Readiness of the inner service is awaited per call, under its lock.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let (inner, tokens) = (self.inner.clone(), self.tokens.clone());
        Box::pin(async move {
            let token = tokens.token().await?;
            let mut value = HeaderValue::from_str(&format!("Bearer {token}"))?;
            value.set_sensitive(true);
            req.headers_mut().insert(AUTHORIZATION, value);
            let response = {
                let mut svc = inner.lock().await;
                std::future::poll_fn(|cx| svc.poll_ready(cx))
                    .await
                    .map_err(Into::into)?;
                svc.call(req)
            };
            response.await.map_err(Into::into)
        })
    }
}
