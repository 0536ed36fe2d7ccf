//! Authentication: any non-empty bearer token is accepted, as GKE accepts
//! any valid Google access token; everything else is 401.

use axum::http::{header, HeaderMap};

use super::status::Failure;

/// Checks the `Authorization: Bearer <token>` header.
///
/// # Errors
/// [`Failure::unauthorized`] when the header is missing, not a bearer
/// token, or the token is empty.
pub fn check(headers: &HeaderMap) -> Result<(), Failure> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(Failure::unauthorized)?;
    let (scheme, token) = value.split_once(' ').ok_or_else(Failure::unauthorized)?;
    if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() {
        Ok(())
    } else {
        Err(Failure::unauthorized())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn bearer_token_is_required_and_non_empty() {
        assert!(check(&HeaderMap::new()).is_err());
        assert!(check(&with("Bearer ")).is_err());
        assert!(check(&with("Basic dXNlcjpwdw==")).is_err());
        assert!(check(&with("Bearer ya29.token")).is_ok());
    }
}
