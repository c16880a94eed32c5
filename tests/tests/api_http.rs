//! What every route shares: health, error shapes for unknown routes and
//! methods, request ids, CORS and the frontend's header habits.

use nolose_tests::app::{TestApp, call, error_code};
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = TestApp::spawn().await;
    let (status, body) = call(app.request(Method::GET, "/api/health")).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, serde_json::json!({"status": "ok"}))
    );
    let (status, body) = call(app.request(Method::GET, "/api/health/ready")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["checks"]["store"], "ok");
}

#[tokio::test]
async fn unknown_paths_are_404_with_or_without_a_token() {
    let app = TestApp::spawn().await;
    let token = app.user_token("a@example.com").await;
    for req in [
        app.request(Method::GET, "/api/nope"),
        app.request(Method::GET, "/api/nope").bearer_auth(&token),
    ] {
        let (status, body) = call(req).await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::NOT_FOUND, "not_found")
        );
    }
}

#[tokio::test]
async fn a_known_path_with_the_wrong_method_is_405() {
    let app = TestApp::spawn().await;
    let (status, body) = call(app.request(Method::DELETE, "/api/auth/login")).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = TestApp::spawn().await;
    let res = app
        .request(Method::GET, "/api/health")
        .header("x-request-id", "abc-123")
        .send()
        .await
        .expect("send");
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    let res = app
        .request(Method::GET, "/api/nope")
        .send()
        .await
        .expect("send");
    let id = res
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert_eq!(id.len(), 36, "a generated uuid even on errors: {id:?}");
}

#[tokio::test]
async fn cors_preflight_is_answered_for_any_origin() {
    let app = TestApp::spawn().await;
    let res = app
        .request(Method::OPTIONS, "/api/auth/login")
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,authorization",
        )
        .send()
        .await
        .expect("send");
    assert!(
        res.status().is_success(),
        "preflight status {}",
        res.status()
    );
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    assert!(
        res.headers()
            .get("access-control-allow-credentials")
            .is_none(),
        "no credentials"
    );
}

#[tokio::test]
async fn frontend_headers_and_empty_json_bodies_are_accepted() {
    let app = TestApp::spawn().await;
    let token = app.user_token("b@example.com").await;
    let req = app
        .request(Method::GET, "/api/auth/me")
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .header("origin", "https://evil.example")
        .header("x-forwarded-host", "frontend.example")
        .header("connection", "close");
    let (status, body) = call(req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn the_openapi_document_describes_the_routes_and_docs_are_browsable() {
    let app = TestApp::spawn().await;
    let (status, doc) = call(app.request(Method::GET, "/api/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "OpenAPI 3.1: {}",
        doc["openapi"]
    );
    for (path, method) in [
        ("/api/auth/register", "post"),
        ("/api/auth/login", "post"),
        ("/api/auth/me", "get"),
        ("/api/auth/me", "put"),
        ("/api/health", "get"),
        ("/api/health/ready", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is documented"
        );
    }
    for (path, method) in [
        ("/api/auth/register", "post"),
        ("/api/evolution/sync/status", "get"),
        ("/api/webhook/evolution", "post"),
    ] {
        let responses = &doc["paths"][path][method]["responses"];
        assert!(
            responses["503"].is_object(),
            "{method} {path}: the in-flight 503 is documented"
        );
        if method == "post" {
            assert!(
                responses["400"].is_object(),
                "{method} {path}: the nesting 400 is documented"
            );
        }
    }
    let res = app
        .request(Method::GET, "/docs")
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.expect("html");
    assert!(
        html.contains("No Lose API") && html.to_lowercase().contains("scalar"),
        "the Scalar page with our document"
    );
}

/// A server that handles at most `max` requests at once.
async fn server_with_max_in_flight(max: usize) -> (String, nolose_tests::pg::TestDb) {
    let db = nolose_tests::pg::TestDb::create().await;
    let local = nolose_shared::config::LocalConfig::from_lookup(|n| {
        (n == "DATABASE_URL").then(|| db.url.clone())
    })
    .expect("local config");
    let config = nolose_shared::config::Config::from_lookup(|n| match n {
        "SECRET_KEY" => Some(nolose_tests::app::SECRET_KEY.into()),
        "MAX_IN_FLIGHT" => Some(max.to_string()),
        _ => None,
    })
    .expect("config");
    let app = nolose_local::build_app(config, &local)
        .await
        .expect("build app");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(nolose_local::serve(
        listener,
        app.router,
        std::future::pending(),
    ));
    (addr, db)
}

/// Polls `GET /api/health` until it answers `want` (or the deadline passes).
async fn health_until(http: &reqwest::Client, addr: &str, want: StatusCode) -> reqwest::Response {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let res = http
            .get(format!("http://{addr}/api/health"))
            .send()
            .await
            .expect("send");
        if res.status() == want || tokio::time::Instant::now() > deadline {
            return res;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_saturated_server_sheds_requests_with_503_and_retry_after() {
    use std::io::Write;
    let (addr, _db) = server_with_max_in_flight(1).await;
    let http = reqwest::Client::new();
    // One request held open: its body is still being streamed.
    let mut slow = std::net::TcpStream::connect(&addr).expect("connect");
    slow.write_all(
        b"POST /api/webhook/evolution HTTP/1.1\r\nHost: x\r\n\
          Content-Type: application/json\r\nContent-Length: 21\r\n\r\n{\"instance\"",
    )
    .expect("write the head");
    let res = health_until(&http, &addr, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(
        res.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "shed, not queued"
    );
    assert_eq!(res.headers()["retry-after"], "1");
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(error_code(&body), "unavailable");
    slow.write_all(b":\"user_1\"}").expect("finish the body");
    let res = health_until(&http, &addr, StatusCode::OK).await;
    assert_eq!(res.status(), StatusCode::OK, "the slot is free again");
}

#[tokio::test]
async fn json_nested_deeper_than_128_levels_is_400_even_in_an_unknown_field() {
    let app = TestApp::spawn().await;
    let nested = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
    for (levels, want) in [
        (100, StatusCode::UNAUTHORIZED),
        (129, StatusCode::BAD_REQUEST),
    ] {
        let body = format!(
            r#"{{"email":"a@example.com","password":"correct horse","extra":{}}}"#,
            nested(levels - 1)
        );
        let (status, answer) = call(
            app.request(Method::POST, "/api/auth/login")
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
        assert_eq!(status, want, "{levels} levels: {answer}");
        if want == StatusCode::BAD_REQUEST {
            assert_eq!(error_code(&answer), "bad_request");
        }
    }
}
