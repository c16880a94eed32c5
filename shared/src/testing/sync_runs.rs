//! Conformance cases for [`SyncRunStore`](crate::store::SyncRunStore).

use std::sync::Arc;
use std::time::Duration;

use chrono::DateTime;
use chrono::Utc;

use crate::domain::UserId;
use crate::store::{
    ChatOutcome, ContactId, Store, StoreError, SyncRun, SyncStart, SyncState, SyncTally,
};

use super::{message, t0, upsert, user};

/// The stale threshold of every case: ten minutes, as in production.
const STALE: Duration = Duration::from_secs(600);

fn started(s: SyncStart) -> SyncRun {
    match s {
        SyncStart::Started(run) => run,
        SyncStart::AlreadyRunning(run) => panic!("expected a new run, got the running {run:?}"),
    }
}

fn at(seconds: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(seconds)
}

async fn start(store: &Arc<dyn Store>, u: UserId, chats: u32) -> SyncStart {
    store
        .start_sync_run(u, chats, t0(), STALE)
        .await
        .expect("start")
}

async fn latest(store: &Arc<dyn Store>, u: UserId, now: DateTime<Utc>) -> Option<SyncRun> {
    store.latest_sync_run(u, now, STALE).await.expect("latest")
}

async fn chat(store: &Arc<dyn Store>, u: UserId, n: u32) -> ContactId {
    store
        .upsert_contact(u, &upsert(&format!("55119{n:08}@s.whatsapp.net")))
        .await
        .expect("contact")
        .id
}

/// A job of `run` storing messages `from..to` of `chat`; returns how many
/// this call found new.
async fn store_page(
    store: &Arc<dyn Store>,
    u: UserId,
    run: &SyncRun,
    chat: ContactId,
    keys: std::ops::Range<u32>,
) -> usize {
    let page: Vec<_> = keys
        .map(|k| message(chat, &format!("C{chat}M{k}"), k % 4 == 0, i64::from(k)))
        .collect();
    let tally = SyncTally { run: run.id, chat };
    let rows = store
        .insert_sync_messages(u, &page, tally, t0())
        .await
        .expect("insert a page");
    rows.iter().filter(|r| r.new).count()
}

async fn report(
    store: &Arc<dyn Store>,
    u: UserId,
    run: &SyncRun,
    chat: ContactId,
    outcome: ChatOutcome,
    now: DateTime<Utc>,
) -> SyncRun {
    store
        .finish_sync_chat(u, run.id, chat, outcome, now)
        .await
        .expect("report")
}

fn counters(r: &SyncRun) -> (SyncState, u32, u32, u64) {
    (r.state, r.chats_done, r.chats_failed, r.messages_synced)
}

pub async fn a_user_who_never_synced_has_no_run(store: Arc<dyn Store>) {
    let u = user(&store, "s1").await;
    assert_eq!(latest(&store, u, t0()).await, None);
}

pub async fn a_started_run_is_running_and_is_the_latest(store: Arc<dyn Store>) {
    let u = user(&store, "s2").await;
    let run = started(start(&store, u, 3).await);
    assert_eq!(
        (run.state, run.chats_total, run.chats_done, run.chats_failed),
        (SyncState::Running, 3, 0, 0)
    );
    assert_eq!((run.messages_synced, run.finished_at), (0, None));
    assert!(run.id.get() > 0 && run.id.get() < (1 << 53), "JSON-safe id");
    assert_eq!(latest(&store, u, t0()).await, Some(run));
}

pub async fn a_second_start_returns_the_running_run(store: Arc<dyn Store>) {
    let u = user(&store, "s3").await;
    let first = started(start(&store, u, 2).await);
    assert_eq!(start(&store, u, 5).await, SyncStart::AlreadyRunning(first));
}

pub async fn of_concurrent_starts_exactly_one_starts(store: Arc<dyn Store>) {
    let u = user(&store, "s4").await;
    let tasks = (0..8).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.start_sync_run(u, 4, t0(), STALE).await })
    });
    let outcomes: Vec<SyncStart> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task").expect("start"))
        .collect();
    let winners = outcomes
        .iter()
        .filter(|o| matches!(o, SyncStart::Started(_)))
        .count();
    assert_eq!(winners, 1, "one run starts: {outcomes:?}");
    let ids: std::collections::HashSet<_> = outcomes
        .iter()
        .map(|(SyncStart::Started(r) | SyncStart::AlreadyRunning(r))| r.id)
        .collect();
    assert_eq!(ids.len(), 1, "everyone sees the same run");
}

pub async fn a_run_of_no_chats_is_done_at_once(store: Arc<dyn Store>) {
    let u = user(&store, "s5").await;
    let run = started(start(&store, u, 0).await);
    assert_eq!((run.state, run.finished_at), (SyncState::Done, Some(t0())));
}

pub async fn each_chat_counts_once_and_the_last_one_finishes_the_run(store: Arc<dyn Store>) {
    let u = user(&store, "s6").await;
    let (one, two) = (chat(&store, u, 1).await, chat(&store, u, 2).await);
    let run = started(start(&store, u, 2).await);
    assert_eq!(store_page(&store, u, &run, one, 0..30).await, 30);
    let a = report(&store, u, &run, one, ChatOutcome::Done, at(9)).await;
    assert_eq!(counters(&a), (SyncState::Running, 1, 0, 30));
    let again = report(&store, u, &run, one, ChatOutcome::Done, at(9)).await;
    assert_eq!(again, a, "a repeated report changes nothing");
    let b = report(&store, u, &run, two, ChatOutcome::Failed, at(9)).await;
    assert_eq!(counters(&b), (SyncState::Done, 1, 1, 30));
    assert_eq!(b.finished_at, Some(at(9)));
    let after = started(start(&store, u, 1).await);
    assert_ne!(after.id, run.id, "a finished run lets a new one start");
    assert_eq!(latest(&store, u, t0()).await, Some(after));
}

pub async fn concurrent_chat_reports_are_all_counted(store: Arc<dyn Store>) {
    let u = user(&store, "s7").await;
    let mut chats = Vec::new();
    for n in 1..=20 {
        chats.push(chat(&store, u, n).await);
    }
    let run = started(start(&store, u, 20).await);
    let tasks = chats.into_iter().map(|c| {
        let (store, run) = (Arc::clone(&store), run.clone());
        tokio::spawn(async move {
            store_page(&store, u, &run, c, 0..3).await;
            report(&store, u, &run, c, ChatOutcome::Done, t0()).await
        })
    });
    let reports: Vec<SyncRun> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    assert!(
        reports.iter().all(|r| (1..=20).contains(&r.chats_done)),
        "each report includes its own chat"
    );
    let last = latest(&store, u, t0()).await.expect("run");
    assert_eq!(counters(&last), (SyncState::Done, 20, 0, 60));
}

pub async fn another_users_run_is_not_found(store: Arc<dyn Store>) {
    let (owner, other) = (user(&store, "s8").await, user(&store, "s9").await);
    let run = started(start(&store, owner, 1).await);
    let err = store
        .finish_sync_chat(other, run.id, ContactId::new(1), ChatOutcome::Done, t0())
        .await
        .expect_err("foreign run");
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    let mine = latest(&store, owner, t0()).await.expect("run");
    assert_eq!(mine.chats_done, 0, "the foreign report counted nothing");
}

/// Issue 9: a job that stored its page and died before reporting; the
/// rerun finds every message stored, and the run still counts them.
pub async fn a_page_stored_by_a_job_that_died_counts_when_its_rerun_reports(store: Arc<dyn Store>) {
    let u = user(&store, "s10").await;
    let (small, big) = (chat(&store, u, 1).await, chat(&store, u, 2).await);
    let run = started(start(&store, u, 2).await);
    assert_eq!(store_page(&store, u, &run, small, 0..10).await, 10);
    report(&store, u, &run, small, ChatOutcome::Done, at(1)).await;
    // The first run of `big` stores 12 of its 30, dies; the second stores
    // everything, dies before reporting; the third finds all 30 stored.
    assert_eq!(store_page(&store, u, &run, big, 0..12).await, 12);
    assert_eq!(store_page(&store, u, &run, big, 0..30).await, 18);
    assert_eq!(store_page(&store, u, &run, big, 0..30).await, 0);
    let after = report(&store, u, &run, big, ChatOutcome::Done, at(2)).await;
    assert_eq!(counters(&after), (SyncState::Done, 2, 0, 40));
}

/// Messages another path stored first (webhook) are not this run's.
pub async fn messages_stored_before_the_run_are_not_counted(store: Arc<dyn Store>) {
    let u = user(&store, "s11").await;
    let c = chat(&store, u, 1).await;
    let early: Vec<_> = (0..5)
        .map(|k| message(c, &format!("C{c}M{k}"), false, i64::from(k)))
        .collect();
    store.insert_messages(u, &early).await.expect("webhook");
    let run = started(start(&store, u, 1).await);
    assert_eq!(store_page(&store, u, &run, c, 0..30).await, 25);
    let after = report(&store, u, &run, c, ChatOutcome::Done, at(1)).await;
    assert_eq!(counters(&after), (SyncState::Done, 1, 0, 25));
}

/// Issue 9: a run whose jobs stopped reporting blocks sync for good
/// unless it is finished once it made no progress for `stale_after`.
pub async fn a_stale_run_is_finished_by_the_next_start(store: Arc<dyn Store>) {
    let u = user(&store, "s12").await;
    let c = chat(&store, u, 1).await;
    let run = started(start(&store, u, 3).await);
    report(&store, u, &run, c, ChatOutcome::Done, at(100)).await;
    let early = store.start_sync_run(u, 2, at(650), STALE).await;
    assert_eq!(
        early.expect("start"),
        SyncStart::AlreadyRunning(latest(&store, u, at(650)).await.expect("run")),
        "ten minutes after its last progress, not after its start"
    );
    let next = started(
        store
            .start_sync_run(u, 2, at(700), STALE)
            .await
            .expect("start"),
    );
    assert_ne!(next.id, run.id);
    let old = store
        .finish_sync_chat(u, run.id, ContactId::new(999), ChatOutcome::Done, at(701))
        .await
        .expect("a late report");
    assert_eq!(counters(&old), (SyncState::Done, 1, 2, 0));
    assert_eq!(old.finished_at, Some(at(700)));
}

pub async fn a_stale_run_reads_as_done_with_its_unreported_chats_failed(store: Arc<dyn Store>) {
    let u = user(&store, "s13").await;
    let c = chat(&store, u, 1).await;
    let run = started(start(&store, u, 2).await);
    assert_eq!(store_page(&store, u, &run, c, 0..4).await, 4);
    report(&store, u, &run, c, ChatOutcome::Done, at(10)).await;
    let fresh = latest(&store, u, at(609)).await.expect("run");
    assert_eq!(fresh.state, SyncState::Running, "not stale yet");
    let stale = latest(&store, u, at(610)).await.expect("run");
    assert_eq!(counters(&stale), (SyncState::Done, 1, 1, 4));
    assert_eq!(stale.finished_at, Some(at(610)));
    assert_eq!(
        latest(&store, u, at(900)).await,
        Some(stale),
        "finished once"
    );
}

/// A late report racing the stale finish: each chat counts at most once
/// and the counters still sum to the total, whichever lands first.
pub async fn late_reports_racing_the_stale_finish_keep_the_sum(store: Arc<dyn Store>) {
    let u = user(&store, "s14").await;
    let mut chats = Vec::new();
    for n in 1..=6 {
        chats.push(chat(&store, u, n).await);
    }
    let run = started(start(&store, u, 6).await);
    for &c in &chats {
        store_page(&store, u, &run, c, 0..2).await;
    }
    let reports = chats.iter().map(|&c| {
        let (store, run) = (Arc::clone(&store), run.clone());
        tokio::spawn(async move { report(&store, u, &run, c, ChatOutcome::Done, at(700)).await })
    });
    let finishes = (0..3).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move { latest(&store, u, at(700)).await })
    });
    let (_, _) = futures::future::join(
        futures::future::join_all(reports),
        futures::future::join_all(finishes),
    )
    .await;
    let end = latest(&store, u, at(700)).await.expect("run");
    assert_eq!(end.state, SyncState::Done, "{end:?}");
    assert_eq!(end.chats_done + end.chats_failed, 6, "{end:?}");
    assert_eq!(
        end.messages_synced,
        2 * u64::from(end.chats_done),
        "only counted chats add their messages: {end:?}"
    );
}
