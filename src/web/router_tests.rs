//! The route table, the guard and the error mapping in process (tower's `oneshot` on the real
//! router over a real instance, no server, no TLS): every rule of the table is checked for every
//! route in milliseconds, beside the integration tests that go through the binary.

use super::*;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn app() -> (tempfile::TempDir, AppState) {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::config::Config::from_text(&dir.path().join("holdfast.toml"), "").unwrap();
    let clock: crate::clock::SharedClock = std::sync::Arc::new(crate::clock::SystemClock);
    let registry = crate::instances::Registry::open_all(
        dir.path(),
        crate::crypto::Key256::generate().unwrap(),
        Default::default(),
        clock.as_ref(),
    )
    .unwrap();
    let auth = std::sync::Arc::new(crate::auth::services::AuthServices::new(1, 4, false).unwrap());
    let state = AppState::new(config, registry, clock, auth);
    state.set_ready(true);
    (dir, state)
}

/// The route's path with every `{parameter}` filled in.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').unwrap() + open;
        out.push_str(match &rest[open + 1..close] {
            "action" => "issue",
            "handle" => "abc",
            _ => "1",
        });
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

async fn call(state: &AppState, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "localhost");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    router(state.clone())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

async fn error_code(resp: Response) -> String {
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)));
    v["error"]["code"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn every_route_that_is_not_public_refuses_a_caller_without_credentials() {
    let (_dir, state) = app().await;
    let mut checked = 0;
    // A feed's token is in its path: without a valid one it is simply not found (tested below).
    for r in routes()
        .iter()
        .filter(|r| !matches!(r.access, Access::Public | Access::FeedToken))
    {
        let path = concrete(&r.path);
        let resp = call(&state, r.method, &path, &[]).await;
        let what = format!("{} {path} ({})", r.method, r.access);
        if path.starts_with("/api/") {
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{what}");
            assert_eq!(error_code(resp).await, "unauthenticated", "{what}");
        } else {
            // A person's page, read or form, sends them to sign in.
            assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{what}");
            assert_eq!(resp.headers()[header::LOCATION], "/signin", "{what}");
        }
        checked += 1;
    }
    assert!(checked > 100, "only {checked} routes checked");
}

#[tokio::test]
async fn a_feed_route_takes_only_its_path_token_never_a_session_or_bearer() {
    let (_dir, state) = app().await;
    let feeds: Vec<_> = routes()
        .into_iter()
        .filter(|r| r.access == Access::FeedToken)
        .collect();
    assert!(!feeds.is_empty());
    for r in &feeds {
        assert_eq!(r.method, "GET", "a feed is read-only: {}", r.path);
        let path = concrete(&r.path);
        // No credentials: not found, not a redirect to sign in (a calendar client cannot sign in).
        let resp = call(&state, "GET", &path, &[]).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        // A session cookie or an unknown token in the path changes nothing.
        let cookie = [("cookie", "holdfast_session=whatever")];
        let resp = call(&state, "GET", &path, &cookie).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        // A change is never taken, and its refusal is not one the security log counts with the
        // path (which holds the token: 403, CSRF and 429 are), even from a foreign origin.
        for origin in [None, Some("https://evil.example")] {
            let h: Vec<(&str, &str)> = origin.map(|o| ("origin", o)).into_iter().collect();
            let resp = call(&state, "POST", &path, &h).await;
            assert_eq!(
                resp.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{path} {origin:?}"
            );
        }
    }
}

#[tokio::test]
async fn tokens_are_refused_on_pages_and_unknown_ones_everywhere() {
    let (_dir, state) = app().await;
    let bearer = [("authorization", "Bearer hft_not_a_token")];
    let resp = call(&state, "GET", "/api/v1/clients", &bearer).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(resp).await, "unauthenticated");
    // Pages are for people: a token there is refused before it is even looked up.
    for page in ["/", "/m/clients", "/admin"] {
        let resp = call(&state, "GET", page, &bearer).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{page}");
    }
}

#[tokio::test]
async fn a_change_from_another_site_is_refused_before_anything_else() {
    let (_dir, state) = app().await;
    for (path, origin) in [
        ("/api/v1/clients", "https://evil.example"),
        ("/signin", "https://evil.example"),
    ] {
        let resp = call(&state, "POST", path, &[("origin", origin)]).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let resp = call(
        &state,
        "POST",
        "/api/v1/clients",
        &[("sec-fetch-site", "cross-site")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(resp).await, "csrf_failed");
}

#[tokio::test]
async fn an_unknown_address_is_a_not_found_page_and_public_routes_answer() {
    let (_dir, state) = app().await;
    let resp = call(&state, "GET", "/no/such/page", &[]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = call(&state, "GET", "/api/v1/openapi.json", &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = call(&state, "GET", "/readyz", &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
}
