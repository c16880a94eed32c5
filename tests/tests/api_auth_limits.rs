//! Auth under hostile input through the real local server (API.md "Limits
//! and hostile input"): oversized fields, parallel guessing, a saturated
//! password hasher.

use nolose_tests::app::{TestApp, error_code};
use reqwest::{Method, StatusCode};
use serde_json::json;

const PW: &str = "correct horse battery";

/// A well-formed address of exactly `n` characters (n ≥ 200): only its
/// length can be wrong.
fn email_of_length(n: usize) -> String {
    let domain_tail = n - 64 - 1 - (63 + 1 + 63 + 1) - 4;
    let email = format!(
        "{}@{}.{}.{}.com",
        "a".repeat(64),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(domain_tail)
    );
    assert_eq!(email.chars().count(), n);
    email
}

/// An address of about `len` characters that compresses badly: PostgreSQL
/// compresses a long key before indexing it, so only such a value shows
/// whether a key is bounded (a btree entry holds at most ~2.7 kB).
fn incompressible_email(len: usize) -> String {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let local: String = (0..len)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[(x >> 33) as usize % 36])
        })
        .collect();
    format!("{local}@example.com")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_parallel_wrong_logins_check_exactly_ten() {
    let app = TestApp::spawn().await;
    app.register("par@example.com", PW, "Par").await;
    let hashes_before = app.state.passwords.hashes_run();

    let guesses = (0..40).map(|i| {
        let (http, url) = (app.http.clone(), app.url("/api/auth/login"));
        let body = json!({"email": "par@example.com", "password": format!("wrong guess {i}")});
        tokio::spawn(async move {
            let res = http.post(url).json(&body).send().await.expect("send");
            let retry_after = res.headers().get("retry-after").is_some();
            (res.status(), retry_after)
        })
    });
    let mut statuses = Vec::new();
    for answer in futures::future::join_all(guesses).await {
        let (status, retry_after) = answer.expect("task");
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert!(retry_after, "a 429 carries Retry-After");
        }
        statuses.push(status);
    }
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let locked = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(
        (checked, locked),
        (10, 30),
        "of 40 parallel guesses exactly 10 are checked: {statuses:?}"
    );
    assert_eq!(
        app.state.passwords.hashes_run() - hashes_before,
        10,
        "and only those ten were verified"
    );
}

#[tokio::test]
async fn register_refuses_oversized_fields_before_hashing() {
    let app = TestApp::spawn().await;
    let long_email = email_of_length(255);
    let cases = [
        (
            json!({"email": long_email, "password": PW, "name": "A"}),
            "invalid_email",
        ),
        (
            json!({"email": "a@example.com", "password": "p".repeat(129), "name": "A"}),
            "weak_password",
        ),
        (
            json!({"email": "a@example.com", "password": PW, "name": "n".repeat(101)}),
            "invalid_name",
        ),
    ];
    for (body, want) in cases {
        let (status, got) = app.post_json("/api/auth/register", &body).await;
        assert_eq!(
            (status, error_code(&got)),
            (StatusCode::UNPROCESSABLE_ENTITY, want),
            "case {want}"
        );
    }
    let at_the_limits = json!({
        "email": email_of_length(254),
        "password": "p".repeat(128),
        "name": "n".repeat(100),
    });
    let (status, got) = app.post_json("/api/auth/register", &at_the_limits).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the limits themselves pass: {got}"
    );
}

#[tokio::test]
async fn oversized_login_fields_are_ordinary_failures_that_count() {
    let app = TestApp::spawn().await;
    app.register("big@example.com", PW, "Big").await;
    let huge_email = incompressible_email(5 * 1024);
    let hashes_before = app.state.passwords.hashes_run();
    let cases = [
        ("a 5 kB email", huge_email.as_str(), PW.to_owned()),
        (
            "a 129-character password",
            "big@example.com",
            "p".repeat(129),
        ),
        (
            "a 1 MiB-ish password",
            "big@example.com",
            "p".repeat(512 * 1024),
        ),
    ];
    for (case, email, password) in &cases {
        let (status, got) = app.login(email, password).await;
        assert_eq!(
            (status, error_code(&got)),
            (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            "case {case}"
        );
    }
    assert_eq!(
        app.state.passwords.hashes_run(),
        hashes_before,
        "nothing was hashed for input no account can have"
    );
    for _ in 0..9 {
        app.login(&huge_email, PW).await;
    }
    let (status, got) = app.login(&huge_email, PW).await;
    assert_eq!(
        (status, error_code(&got)),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
        "a 5 kB email is counted like any address"
    );
}

#[tokio::test]
async fn a_saturated_password_hasher_answers_503_with_retry_after() {
    let app = TestApp::spawn().await;
    app.register("sat@example.com", PW, "Sat").await;
    let saturated = app.state.passwords.saturate();
    let cases = [
        (
            "register",
            "/api/auth/register",
            json!({"email": "new@example.com", "password": PW, "name": "New"}),
        ),
        (
            "login",
            "/api/auth/login",
            json!({"email": "sat@example.com", "password": PW}),
        ),
    ];
    for (case, path, body) in &cases {
        let res = app
            .request(Method::POST, path)
            .json(body)
            .send()
            .await
            .expect("send");
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "case {case}");
        let retry = res
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().map(str::to_owned));
        assert!(
            matches!(retry, Some(Ok(ref s)) if s == "1"),
            "case {case}: Retry-After {retry:?}"
        );
        let got: serde_json::Value = res.json().await.expect("json");
        assert_eq!(error_code(&got), "unavailable", "case {case}");
    }
    drop(saturated);
    let (status, got) = app.register("new@example.com", PW, "New").await;
    assert_eq!(status, StatusCode::CREATED, "room again: {got}");
    assert_eq!(app.login("sat@example.com", PW).await.0, StatusCode::OK);
}
