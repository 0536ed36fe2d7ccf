//! Bearer tokens for Kubernetes API requests.

use google_cloud_auth::credentials::{AccessTokenCredentials, Builder};

/// Where the bearer token of each request comes from.
#[derive(Debug, Clone)]
pub enum TokenSource {
    /// Google credentials (Application Default Credentials). google-cloud-auth
    /// caches the token and refreshes it before it expires, so asking for it
    /// on every request is cheap.
    Google(AccessTokenCredentials),
    /// A fixed token (the emulator accepts any non-empty one).
    Static(String),
}

/// The token the emulator's Kubernetes APIs are given.
pub const EMULATOR_TOKEN: &str = "meshform-emulator";

/// A token could not be had.
#[derive(Debug, thiserror::Error)]
#[error("cannot get a Google access token for the Kubernetes API: {0}\n  help: run `gcloud auth application-default login`")]
pub struct TokenError(pub String);

impl TokenSource {
    /// Application Default Credentials with the cloud-platform scope.
    ///
    /// # Errors
    /// No credentials are configured.
    pub fn google() -> Result<TokenSource, TokenError> {
        Builder::default()
            .with_scopes(["https://www.googleapis.com/auth/cloud-platform"])
            .build_access_token_credentials()
            .map(TokenSource::Google)
            .map_err(|e| TokenError(e.to_string()))
    }

    /// A current token.
    ///
    /// # Errors
    /// The credentials cannot produce one.
    pub async fn token(&self) -> Result<String, TokenError> {
        match self {
            TokenSource::Google(c) => c
                .access_token()
                .await
                .map(|t| t.token)
                .map_err(|e| TokenError(e.to_string())),
            TokenSource::Static(t) => Ok(t.clone()),
        }
    }
}
