//! Auth through the real local server on a fresh PostgreSQL database.

use nolose_tests::app::{TestApp, call, error_code};
use reqwest::{Method, StatusCode};
use serde_json::json;

const PW: &str = "correct horse battery";

#[tokio::test]
async fn register_returns_201_with_the_normalised_user() {
    let app = TestApp::spawn().await;
    let (status, body) = app.register("  Ana@Example.COM ", PW, "  Ana  ").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["email"], "ana@example.com");
    assert_eq!(body["name"], "Ana");
    assert_eq!(body["is_active"], true);
    assert!(
        body["id"].as_i64().is_some_and(|id| id > 0 && id < 1 << 53),
        "JSON-safe id: {body}"
    );
    let created_at = body["created_at"].as_str().expect("created_at");
    assert!(
        created_at.ends_with('Z') && !created_at.contains('.'),
        "RFC 3339 UTC seconds: {created_at}"
    );
    assert!(
        body.get("password_hash").is_none() && body.get("password").is_none(),
        "no secret in {body}"
    );
}

#[tokio::test]
async fn register_refuses_each_invalid_field_with_its_code() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            json!({"email": "not-an-email", "password": PW, "name": "A"}),
            "invalid_email",
        ),
        (
            json!({"email": "a@example.com", "password": "short77", "name": "A"}),
            "weak_password",
        ),
        (
            json!({"email": "a@example.com", "password": "x".repeat(129), "name": "A"}),
            "weak_password",
        ),
        (
            json!({"email": "a@example.com", "password": PW, "name": "   "}),
            "invalid_name",
        ),
        (
            json!({"email": "a@example.com", "password": PW, "name": "n".repeat(101)}),
            "invalid_name",
        ),
        (
            json!({"email": "a@example.com", "password": PW}),
            "validation_error",
        ),
        (
            json!({"email": 5, "password": PW, "name": "A"}),
            "validation_error",
        ),
    ];
    for (body, want) in cases {
        let (status, got) = app.post_json("/api/auth/register", &body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "case {body}: {got}"
        );
        assert_eq!(error_code(&got), want, "case {body}");
    }
    let (_, missing) = app
        .post_json(
            "/api/auth/register",
            &json!({"email": "a@example.com", "password": PW}),
        )
        .await;
    assert!(
        missing["detail"]
            .as_str()
            .is_some_and(|d| d.contains("name")),
        "detail names the field: {missing}"
    );
}

#[tokio::test]
async fn register_of_a_taken_email_is_409_email_taken() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.register("bo@example.com", PW, "Bo").await.0,
        StatusCode::CREATED
    );
    let (status, body) = app.register(" BO@example.com", PW, "Other").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_code(&body), "email_taken");
}

#[tokio::test]
async fn concurrent_registrations_of_one_email_create_one_account() {
    let app = TestApp::spawn().await;
    let names: Vec<String> = (0..6).map(|i| format!("R{i}")).collect();
    let attempts = names
        .iter()
        .map(|name| app.register("race@example.com", PW, name));
    let statuses: Vec<_> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, conflicts), (1, 5), "statuses: {statuses:?}");
}

#[tokio::test]
async fn malformed_json_and_wrong_content_type_are_400() {
    let app = TestApp::spawn().await;
    let url = app.url("/api/auth/register");
    let malformed = app
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body("{\"email\":");
    let (status, body) = call(malformed).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "bad_request"),
        "malformed"
    );
    let form = app
        .http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=a");
    let (status, body) = call(form).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "bad_request"),
        "form body"
    );
    let empty = app
        .http
        .post(&url)
        .header("content-type", "application/json");
    let (status, body) = call(empty).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "bad_request"),
        "register needs a body"
    );
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413() {
    let app = TestApp::spawn().await;
    let big =
        json!({"email": "a@example.com", "password": PW, "name": "x".repeat(1024 * 1024 + 10)});
    let (status, body) = app.post_json("/api/auth/register", &big).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
}

#[tokio::test]
async fn login_returns_a_bearer_token_that_me_accepts() {
    let app = TestApp::spawn().await;
    app.register("cy@example.com", PW, "Cy").await;
    let (status, body) = app.login(" CY@example.com ", PW).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 86_400);
    let token = body["access_token"].as_str().expect("token");
    let (status, me) = call(app.request(Method::GET, "/api/auth/me").bearer_auth(token)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(
        (me["email"].as_str(), me["name"].as_str()),
        (Some("cy@example.com"), Some("Cy"))
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_email_answer_the_same() {
    let app = TestApp::spawn().await;
    app.register("di@example.com", PW, "Di").await;
    let wrong = app.login("di@example.com", "not the password").await;
    let unknown = app.login("nobody@example.com", PW).await;
    assert_eq!(wrong.0, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong, unknown, "no enumeration: same status and body");
    assert_eq!(error_code(&wrong.1), "invalid_credentials");
}

#[tokio::test]
async fn ten_failures_lock_the_address_until_the_window_passes() {
    let app = TestApp::spawn().await;
    app.register("ed@example.com", PW, "Ed").await;
    for i in 1..=10 {
        let (status, _) = app.login("ed@example.com", "wrong password").await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "failure {i} is still a 401"
        );
    }
    let res = app
        .request(Method::POST, "/api/auth/login")
        .json(&json!({"email": "ed@example.com", "password": PW}));
    let res = res.send().await.expect("send");
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the right password does not bypass the lock"
    );
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(
        (1..=900).contains(&retry),
        "Retry-After within the window: {retry}"
    );
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(error_code(&body), "too_many_attempts");

    app.clock.advance(chrono::Duration::minutes(15));
    assert_eq!(
        app.login("ed@example.com", PW).await.0,
        StatusCode::OK,
        "the window has passed"
    );
}

#[tokio::test]
async fn unknown_addresses_are_locked_out_the_same_way() {
    let app = TestApp::spawn().await;
    for _ in 0..10 {
        app.login("ghost@example.com", "whatever1").await;
    }
    let (status, body) = app.login("ghost@example.com", "whatever1").await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
    );
}

#[tokio::test]
async fn a_successful_login_clears_earlier_failures() {
    let app = TestApp::spawn().await;
    app.register("fy@example.com", PW, "Fy").await;
    for _ in 0..9 {
        app.login("fy@example.com", "wrong password").await;
    }
    assert_eq!(app.login("fy@example.com", PW).await.0, StatusCode::OK);
    for _ in 0..9 {
        app.login("fy@example.com", "wrong password").await;
    }
    assert_eq!(
        app.login("fy@example.com", PW).await.0,
        StatusCode::OK,
        "the count restarted after success"
    );
}

#[tokio::test]
async fn me_refuses_missing_malformed_forged_and_orphaned_tokens() {
    let app = TestApp::spawn().await;
    let token = app.user_token("gu@example.com").await;
    let forged = {
        let keys = nolose_shared::auth::TokenKeys::new(
            b"some-other-secret-some-other-secret",
            std::time::Duration::from_secs(60),
        );
        keys.issue(nolose_shared::domain::UserId::new(1), chrono::Utc::now())
            .expect("issue")
    };
    let expired = app
        .state
        .tokens
        .issue(
            nolose_shared::domain::UserId::new(1),
            chrono::Utc::now() - chrono::Duration::days(2),
        )
        .expect("issue");
    let no_user = app
        .state
        .tokens
        .issue(
            nolose_shared::domain::UserId::new(999_999),
            chrono::Utc::now(),
        )
        .expect("issue");
    let cases = [
        ("no header", None),
        ("not bearer", Some(format!("Basic {token}"))),
        ("garbage", Some("Bearer not-a-token".to_owned())),
        ("forged", Some(format!("Bearer {forged}"))),
        ("expired", Some(format!("Bearer {expired}"))),
        ("unknown user", Some(format!("Bearer {no_user}"))),
    ];
    for (case, header) in cases {
        let mut req = app.request(Method::GET, "/api/auth/me");
        if let Some(h) = header {
            req = req.header("authorization", h);
        }
        let (status, body) = call(req).await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "case {case}"
        );
    }
}

#[tokio::test]
async fn a_deactivated_user_token_is_refused() {
    let app = TestApp::spawn().await;
    let token = app.user_token("ha@example.com").await;
    let (_, me) = call(app.request(Method::GET, "/api/auth/me").bearer_auth(&token)).await;
    let id = nolose_shared::domain::UserId::new(me["id"].as_i64().expect("id"));
    use nolose_shared::store::UserStore;
    app.store
        .set_user_active(id, false)
        .await
        .expect("deactivate");
    let (status, _) = call(app.request(Method::GET, "/api/auth/me").bearer_auth(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.login("ha@example.com", PW).await.0,
        StatusCode::UNAUTHORIZED,
        "inactive users cannot log in"
    );
}

#[tokio::test]
async fn rename_reads_the_query_parameter_as_the_frontend_sends_it() {
    let app = TestApp::spawn().await;
    let token = app.user_token("io@example.com").await;
    // No body and no content type, percent-encoded UTF-8: exactly the frontend.
    let url = app.url("/api/auth/me?name=Zo%C3%AB%20R");
    let res = app
        .http
        .put(&url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["name"], "Zoë R");
    let (_, me) = call(app.request(Method::GET, "/api/auth/me").bearer_auth(&token)).await;
    assert_eq!(me["name"], "Zoë R", "the rename is stored");
}

#[tokio::test]
async fn rename_prefers_the_json_body_and_validates_the_name() {
    let app = TestApp::spawn().await;
    let token = app.user_token("jo@example.com").await;
    let both = app
        .request(Method::PUT, "/api/auth/me?name=Query")
        .bearer_auth(&token)
        .json(&json!({"name": " Body "}));
    let (status, body) = call(both).await;
    assert_eq!(
        (status, body["name"].as_str()),
        (StatusCode::OK, Some("Body")),
        "body wins: {body}"
    );
    let cases = [
        ("/api/auth/me?name=%20%20", None),
        ("/api/auth/me", Some(json!({"name": ""}))),
        ("/api/auth/me", None),
    ];
    for (path, body) in cases {
        let mut req = app.request(Method::PUT, path).bearer_auth(&token);
        if let Some(b) = &body {
            req = req.json(b);
        }
        let (status, got) = call(req).await;
        assert_eq!(
            (status, error_code(&got)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_name"),
            "case {path} {body:?}"
        );
    }
}

/// After PostgreSQL restarts, every idle pooled connection is dead; the
/// first request that draws one must not be the one that finds out (it
/// used to answer 503 until enough requests had burned through the pool).
#[tokio::test]
async fn the_first_requests_after_a_database_restart_succeed() {
    let app = TestApp::spawn().await;
    let token = app.user_token("before@example.com").await;
    let pool = app.store.pool();
    let warm = futures::future::try_join_all((0..6).map(|_| pool.acquire()))
        .await
        .expect("open connections");
    drop(warm);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while pool.num_idle() < 6 {
        assert!(tokio::time::Instant::now() < deadline, "pool warmed");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    app.db.go_down().await;
    app.db.come_back().await;

    let (status, body) = app.register("after@example.com", PW, "After").await;
    assert_eq!(status, StatusCode::CREATED, "first register: {body}");
    let (status, body) = app.login("after@example.com", PW).await;
    assert_eq!(status, StatusCode::OK, "first login: {body}");
    let (status, body) = call(
        app.request(Method::GET, "/api/evolution/sync/status")
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "first sync status: {body}");
}
