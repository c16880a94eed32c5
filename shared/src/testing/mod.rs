//! The store conformance suite: every method of the store port, including the
//! races that matter, written once and run against every adapter.
//!
//! An adapter's test file calls [`store_conformance!`](crate::store_conformance)
//! with an async expression that yields a fresh, empty `Arc<dyn Store>` and a
//! guard kept alive until the case ends (a test database dropped on `Drop`,
//! or `()`); the macro expands to one `#[tokio::test]` per case so that a
//! failure names it.

pub mod throttle;
pub mod users;

use chrono::{DateTime, TimeZone, Utc};

use crate::domain::{Email, UserName};
use crate::store::NewUser;

/// A fixed instant, so that window arithmetic in the cases is exact.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 10, 30, 0)
        .single()
        .unwrap_or_default()
}

pub fn email(s: &str) -> Email {
    Email::parse(s).unwrap_or_else(|e| panic!("test email {s:?} is invalid: {e}"))
}

pub fn new_user(address: &str, name: &str) -> NewUser {
    NewUser {
        email: email(address),
        name: UserName::parse(name).unwrap_or_else(|e| panic!("test name {name:?}: {e}")),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$fake${address}"),
        created_at: t0(),
    }
}

/// Expands to one test per conformance case. `$make` is an async expression
/// evaluating to `(Arc<dyn Store>, guard)`.
#[macro_export]
macro_rules! store_conformance {
    ($make:expr) => {
        $crate::store_conformance!(@cases $make;
            users::created_user_reads_back_by_id_and_email,
            users::second_registration_of_an_email_conflicts,
            users::concurrent_registrations_of_one_email_have_one_winner,
            users::unknown_users_are_absent,
            users::rename_changes_only_the_name,
            users::rename_of_unknown_user_is_not_found,
            users::deactivation_is_stored_and_reversible,
            users::user_ids_are_distinct_and_json_safe,
            throttle::no_failures_means_no_window,
            throttle::failures_accumulate_within_the_window,
            throttle::concurrent_failures_are_all_counted,
            throttle::an_expired_window_restarts_at_one,
            throttle::clearing_forgets_the_failures,
            throttle::windows_are_per_email,
            users::ping_answers,
        );
    };
    (@cases $make:expr; $($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let (store, guard): (::std::sync::Arc<dyn $crate::store::Store>, _) = $make.await;
                $crate::testing::$module::$case(store).await;
                drop(guard);
            }
        )*
    };
}
