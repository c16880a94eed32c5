//! The store conformance suite: every method of the store port, including the
//! races that matter, written once and run against every adapter.
//!
//! An adapter's test file calls [`store_conformance!`](crate::store_conformance)
//! with an async expression that yields a fresh, empty `Arc<dyn Store>` and a
//! guard kept alive until the case ends (a test database dropped on `Drop`,
//! or `()`); the macro expands to one `#[tokio::test]` per case so that a
//! failure names it.

pub mod contacts;
pub mod idempotency;
pub mod instances;
pub mod messages;
pub mod sync_runs;
pub mod throttle;
pub mod users;

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use crate::domain::{Email, Jid, MessageStatus, MessageType, UserId, UserName};
use crate::store::{ContactId, ContactUpsert, NewMessage, NewUser, Store};

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

/// A fresh user (rows of other families hang off users).
pub async fn user(store: &Arc<dyn Store>, tag: &str) -> UserId {
    store
        .create_user(new_user(&format!("{tag}@example.com"), tag))
        .await
        .expect("create user")
        .id
}

pub fn jid(s: &str) -> Jid {
    Jid::parse(s).unwrap_or_else(|e| panic!("test jid {s:?}: {e}"))
}

/// An upsert of `jid` that sets nothing else.
pub fn upsert(j: &str) -> ContactUpsert {
    ContactUpsert {
        jid: jid(j),
        lid: None,
        name: None,
        profile_name: None,
        now: t0(),
    }
}

/// A text message `seconds` after [`t0`]; inbound ones are `received`,
/// outbound ones `sent`.
pub fn message(contact: ContactId, key: &str, outbound: bool, seconds: i64) -> NewMessage {
    NewMessage {
        contact_id: contact,
        key_id: key.to_owned(),
        is_outbound: outbound,
        message_type: MessageType::Text,
        content: Some(format!("text {key}")),
        status: if outbound {
            MessageStatus::Sent
        } else {
            MessageStatus::Received
        },
        timestamp: t0() + chrono::Duration::seconds(seconds),
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
            throttle::attempts_are_allowed_up_to_the_max_then_locked_until_the_window_ends,
            throttle::forty_concurrent_attempts_allow_exactly_ten,
            throttle::a_window_that_ran_out_restarts_at_one,
            throttle::clearing_forgets_the_attempts,
            throttle::windows_are_per_email,
            throttle::an_address_of_any_length_has_a_window,
            users::ping_answers,
            instances::create_instance_is_idempotent_and_keeps_the_first_secret,
            instances::an_unknown_instance_is_absent,
            instances::saving_round_trips_every_state_field,
            instances::a_save_from_a_stale_read_conflicts,
            instances::of_concurrent_saves_from_one_read_exactly_one_wins,
            instances::saving_an_instance_that_does_not_exist_is_not_found,
            contacts::upsert_creates_then_updates_without_erasing,
            contacts::contacts_belong_to_their_user,
            contacts::a_remembered_lid_finds_the_contact,
            contacts::concurrent_upserts_of_one_jid_make_one_contact,
            contacts::contacts_page_in_creation_order_and_count_them_all,
            contacts::one_conversation_per_contact_whose_last_message_only_moves_forward,
            contacts::conversations_page_most_recent_first,
            messages::a_message_is_stored_once,
            messages::concurrent_duplicates_store_one_row,
            messages::a_batch_skips_stored_and_repeated_keys,
            messages::dedup_is_per_user,
            messages::outbound_status_only_moves_forward,
            messages::inbound_messages_take_only_read_played_and_deleted,
            messages::an_update_before_its_message_waits_for_it,
            messages::an_update_racing_the_insert_of_its_message_is_never_lost,
            messages::a_stashed_update_for_an_inbound_message_follows_inbound_rules,
            messages::messages_of_a_contact_page_newest_first,
            messages::messages_of_a_user_page_newest_first_and_filter_by_contact,
            messages::stats_count_what_the_user_has,
            idempotency::a_completed_key_replays_its_response,
            idempotency::a_running_reservation_is_in_progress_for_the_same_body,
            idempotency::a_key_used_with_another_body_is_reused,
            idempotency::a_released_key_is_free_again,
            idempotency::concurrent_reservations_of_one_key_have_one_winner,
            idempotency::a_completed_key_expires_after_24_hours,
            idempotency::an_abandoned_reservation_frees_the_key_after_its_lease,
            idempotency::a_completed_key_cannot_be_completed_or_released_again,
            idempotency::keys_are_per_user,
            sync_runs::a_user_who_never_synced_has_no_run,
            sync_runs::a_started_run_is_running_and_is_the_latest,
            sync_runs::a_second_start_returns_the_running_run,
            sync_runs::of_concurrent_starts_exactly_one_starts,
            sync_runs::a_run_of_no_chats_is_done_at_once,
            sync_runs::each_chat_counts_once_and_the_last_one_finishes_the_run,
            sync_runs::concurrent_chat_reports_are_all_counted,
            sync_runs::another_users_run_is_not_found,
            sync_runs::a_page_stored_by_a_job_that_died_counts_when_its_rerun_reports,
            sync_runs::messages_stored_before_the_run_are_not_counted,
            sync_runs::a_stale_run_is_finished_by_the_next_start,
            sync_runs::a_stale_run_reads_as_done_with_its_unreported_chats_failed,
            sync_runs::late_reports_racing_the_stale_finish_keep_the_sum,
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
