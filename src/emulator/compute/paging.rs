//! `maxResults` / `pageToken` of compute lists: pages of at most 500 items
//! (the default), the token being the index of the page's first item.

use serde_json::Value;

use super::super::errors::ApiError;
use super::query_value;

/// One page of `items` as `query` asks for it, and the next page's token.
///
/// # Errors
/// 400 `invalid` for a page token that is not one the emulator handed out.
pub fn page(
    items: &[Value],
    query: &[(String, String)],
) -> Result<(Vec<Value>, Option<String>), ApiError> {
    let max = query_value(query, "maxResults")
        .and_then(|m| m.parse::<usize>().ok())
        .filter(|m| *m > 0)
        .unwrap_or(500);
    let start = match query_value(query, "pageToken") {
        Some(t) if !t.is_empty() => t.parse::<usize>().map_err(|_| {
            ApiError::invalid(format!(
                "Invalid value for field 'pageToken': '{t}'. Invalid page token."
            ))
        })?,
        _ => 0,
    };
    let page: Vec<Value> = items.iter().skip(start).take(max).cloned().collect();
    let next = (start + max < items.len()).then(|| (start + max).to_string());
    Ok((page, next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn pages_follow_the_token() {
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let (first, next) = page(&items, &q(&[("maxResults", "2")])).expect("page");
        assert_eq!(
            (first, next.as_deref()),
            (vec![json!(0), json!(1)], Some("2"))
        );
        let (last, next) =
            page(&items, &q(&[("maxResults", "3"), ("pageToken", "2")])).expect("page");
        assert_eq!((last.len(), next), (3, None));
        assert_eq!(page(&items, &[]).expect("all").0.len(), 5);
        assert!(page(&items, &q(&[("pageToken", "x")])).is_err());
    }
}
