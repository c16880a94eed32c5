//! Auth in Lambda mode: function-URL events through the real `auth` handler
//! (the router `main` serves, wrapped by `lambda_http::Adapter`) against
//! DynamoDB on moto.

use std::sync::Arc;

use nolose_shared::AppState;
use nolose_shared::store::Store;
use nolose_shared::store::dynamo::DynamoStore;
use nolose_tests::app::test_config;
use nolose_tests::lambda::{fixture, invoke};

async fn auth_router() -> axum::Router {
    let store = nolose_tests::dynamo::fresh_store().await;
    let state = AppState::new(test_config(), Arc::clone(&store)).expect("state");
    nolose_auth::router(state)
}

#[tokio::test]
async fn register_login_me_and_rename_work_through_function_url_events() {
    let router = auth_router().await;

    let reg = invoke(router.clone(), &fixture("auth_register.json", &[])).await;
    assert_eq!(reg.status, 201, "register: {:?}", reg.body);
    assert_eq!(
        (reg.body["email"].as_str(), reg.body["name"].as_str()),
        (Some("ana@example.com"), Some("Ana"))
    );
    assert!(
        reg.body["id"]
            .as_i64()
            .is_some_and(|id| id > 0 && id < 1 << 53),
        "JSON-safe id"
    );
    assert_eq!(reg.header("content-type"), Some("application/json"));

    let login = invoke(router.clone(), &fixture("auth_login.json", &[])).await;
    assert_eq!(login.status, 200, "login: {:?}", login.body);
    let token = login.body["access_token"]
        .as_str()
        .expect("token")
        .to_owned();

    let me = invoke(
        router.clone(),
        &fixture("auth_me.json", &[("token", &token)]),
    )
    .await;
    assert_eq!(me.status, 200, "me: {:?}", me.body);
    assert_eq!(me.body["id"], reg.body["id"]);
    assert_eq!(
        me.header("x-request-id"),
        Some("req-lambda-me"),
        "the request id is echoed"
    );

    let renamed = invoke(
        router.clone(),
        &fixture("auth_rename_query.json", &[("token", &token)]),
    )
    .await;
    assert_eq!(
        (renamed.status, renamed.body["name"].as_str()),
        (200, Some("Zoë R")),
        "{:?}",
        renamed.body
    );
}

#[tokio::test]
async fn errors_keep_their_shape_through_lambda() {
    let router = auth_router().await;
    let unauthorized = invoke(router.clone(), &fixture("auth_me_no_token.json", &[])).await;
    assert_eq!(
        (unauthorized.status, unauthorized.body["code"].as_str()),
        (401, Some("unauthorized"))
    );

    let weak = invoke(
        router.clone(),
        &fixture("auth_register_weak_password.json", &[]),
    )
    .await;
    assert_eq!(
        (weak.status, weak.body["code"].as_str()),
        (422, Some("weak_password"))
    );
    assert!(weak.body["detail"].is_string());

    invoke(router.clone(), &fixture("auth_register.json", &[])).await;
    let wrong = invoke(
        router.clone(),
        &fixture("auth_login_wrong_password.json", &[]),
    )
    .await;
    assert_eq!(
        (wrong.status, wrong.body["code"].as_str()),
        (401, Some("invalid_credentials"))
    );

    let health = invoke(router, &fixture("health.json", &[])).await;
    assert_eq!(
        (health.status, health.body["status"].as_str()),
        (200, Some("ok"))
    );
}

#[tokio::test]
async fn the_lockout_holds_in_the_shared_table() {
    let router = auth_router().await;
    invoke(router.clone(), &fixture("auth_register.json", &[])).await;
    for _ in 0..10 {
        let r = invoke(
            router.clone(),
            &fixture("auth_login_wrong_password.json", &[]),
        )
        .await;
        assert_eq!(r.status, 401);
    }
    let locked = invoke(router, &fixture("auth_login.json", &[])).await;
    assert_eq!(
        (locked.status, locked.body["code"].as_str()),
        (429, Some("too_many_attempts"))
    );
    assert!(
        locked
            .header("retry-after")
            .is_some_and(|s| s.parse::<u64>().is_ok()),
        "Retry-After in seconds"
    );
}

/// Four Lambda instances (each with its own store client and hasher) on one
/// table, like four warm containers behind one function URL.
async fn four_instances_on_one_table() -> Vec<AppState> {
    let client = nolose_tests::dynamo::client().await;
    let table = nolose_tests::dynamo::fresh_table(&client).await;
    (0..4)
        .map(|_| {
            let store: Arc<dyn Store> = Arc::new(DynamoStore::new(client.clone(), table.clone()));
            AppState::new(test_config(), store).expect("state")
        })
        .collect()
}

/// Hashes and verifications run by all of `instances` so far.
fn hashes_run(instances: &[AppState]) -> u64 {
    instances.iter().map(|s| s.passwords.hashes_run()).sum()
}

fn login_as(email: &str, password: &str) -> String {
    fixture(
        "auth_login_as.json",
        &[("email", email), ("password", password)],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_parallel_wrong_logins_across_four_instances_check_exactly_ten() {
    let instances = four_instances_on_one_table().await;
    let routers: Vec<_> = instances.iter().cloned().map(nolose_auth::router).collect();
    let reg = invoke(routers[0].clone(), &fixture("auth_register.json", &[])).await;
    assert_eq!(reg.status, 201, "register: {:?}", reg.body);
    let hashes_before = hashes_run(&instances);

    let guesses = (0..40).map(|i| {
        let router = routers[i % routers.len()].clone();
        let event = login_as("ana@example.com", &format!("wrong guess {i}"));
        async move { invoke(router, &event).await }
    });
    let mut statuses = Vec::new();
    // One task, forty requests in flight: the invocations interleave on
    // every DynamoDB call and every hash (which run on the hasher threads).
    for answer in futures::future::join_all(guesses).await {
        if answer.status == 429 {
            assert!(
                answer.header("retry-after").is_some(),
                "a 429 carries Retry-After"
            );
        }
        statuses.push(answer.status);
    }
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let locked = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(
        (checked, locked),
        (10, 30),
        "of 40 parallel guesses exactly 10 are checked: {statuses:?}"
    );
    assert_eq!(
        hashes_run(&instances) - hashes_before,
        10,
        "and only those ten were verified"
    );
}

#[tokio::test]
async fn a_five_kilobyte_email_at_login_is_an_ordinary_401() {
    let router = auth_router().await;
    let huge = format!("{}@example.com", "a".repeat(5 * 1024));
    let answer = invoke(router.clone(), &login_as(&huge, "whatever password")).await;
    assert_eq!(
        (answer.status, answer.body["code"].as_str()),
        (401, Some("invalid_credentials")),
        "{:?}",
        answer.body
    );
    for _ in 0..9 {
        invoke(router.clone(), &login_as(&huge, "whatever password")).await;
    }
    let locked = invoke(router, &login_as(&huge, "whatever password")).await;
    assert_eq!(locked.status, 429, "counted like any failure");
}

#[tokio::test]
async fn oversized_fields_get_their_4xx_through_lambda() {
    let router = auth_router().await;
    let long_email = format!(
        "{}@{}.{}.{}.com",
        "a".repeat(64),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(58)
    );
    let (pw, long_pw, long_name) = ("correct horse battery", "p".repeat(129), "n".repeat(101));
    let cases = [
        (
            "email of 255 characters",
            long_email.as_str(),
            pw,
            "Ana",
            "invalid_email",
        ),
        (
            "password of 129 characters",
            "ana@example.com",
            long_pw.as_str(),
            "Ana",
            "weak_password",
        ),
        (
            "name of 101 characters",
            "ana@example.com",
            pw,
            long_name.as_str(),
            "invalid_name",
        ),
    ];
    for (case, email, password, name, code) in cases {
        let event = fixture(
            "auth_register_as.json",
            &[("email", email), ("password", password), ("name", name)],
        );
        let answer = invoke(router.clone(), &event).await;
        assert_eq!(
            (answer.status, answer.body["code"].as_str()),
            (422, Some(code)),
            "case {case}"
        );
    }
    invoke(router.clone(), &fixture("auth_register.json", &[])).await;
    let answer = invoke(router, &login_as("ana@example.com", &long_pw)).await;
    assert_eq!(
        (answer.status, answer.body["code"].as_str()),
        (401, Some("invalid_credentials")),
        "a 129-character password is a wrong password"
    );
}

#[tokio::test]
async fn a_saturated_password_hasher_answers_503_through_lambda() {
    let store = nolose_tests::dynamo::fresh_store().await;
    let state = AppState::new(test_config(), store).expect("state");
    let router = nolose_auth::router(state.clone());
    let saturated = state.passwords.saturate();
    let busy = invoke(router.clone(), &fixture("auth_register.json", &[])).await;
    assert_eq!(
        (
            busy.status,
            busy.body["code"].as_str(),
            busy.header("retry-after")
        ),
        (503, Some("unavailable"), Some("1"))
    );
    drop(saturated);
    let reg = invoke(router, &fixture("auth_register.json", &[])).await;
    assert_eq!(reg.status, 201, "room again: {:?}", reg.body);
}
