//! Reading urlencoded form bodies whose field set varies (checkbox lists, per-module fields).

pub fn pairs(raw: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(raw).unwrap_or_default()
}

/// Every value of a repeated field (checkboxes).
pub fn values(pairs: &[(String, String)], key: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .collect()
}

/// The first value of a field, empty when absent.
pub fn value(pairs: &[(String, String)], key: &str) -> String {
    values(pairs, key).into_iter().next().unwrap_or_default()
}
