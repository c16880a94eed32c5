//! Conformance cases for [`SyncRunStore`](crate::store::SyncRunStore).

use std::sync::Arc;

use crate::domain::UserId;
use crate::store::{ChatOutcome, ContactId, Store, SyncRun, SyncStart, SyncState};

use super::{t0, user};

fn started(s: SyncStart) -> SyncRun {
    match s {
        SyncStart::Started(run) => run,
        SyncStart::AlreadyRunning(run) => panic!("expected a new run, got the running {run:?}"),
    }
}

fn done(n: u64) -> ChatOutcome {
    ChatOutcome::Done { new_messages: n }
}

async fn start(store: &Arc<dyn Store>, u: UserId, chats: u32) -> SyncStart {
    store.start_sync_run(u, chats, t0()).await.expect("start")
}

pub async fn a_user_who_never_synced_has_no_run(store: Arc<dyn Store>) {
    let u = user(&store, "s1").await;
    assert_eq!(store.latest_sync_run(u).await.expect("latest"), None);
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
    assert_eq!(store.latest_sync_run(u).await.expect("latest"), Some(run));
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
        tokio::spawn(async move { store.start_sync_run(u, 4, t0()).await })
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
    let run = started(start(&store, u, 2).await);
    let later = t0() + chrono::Duration::seconds(9);
    let a = store
        .finish_sync_chat(u, run.id, ContactId::new(1), done(30), later)
        .await
        .expect("a");
    assert_eq!(
        (a.state, a.chats_done, a.messages_synced),
        (SyncState::Running, 1, 30)
    );
    let again = store
        .finish_sync_chat(u, run.id, ContactId::new(1), done(30), later)
        .await
        .expect("a again");
    assert_eq!(again, a, "a repeated report changes nothing");
    let b = store
        .finish_sync_chat(u, run.id, ContactId::new(2), ChatOutcome::Failed, later)
        .await
        .expect("b");
    assert_eq!(
        (
            b.state,
            b.chats_done,
            b.chats_failed,
            b.messages_synced,
            b.finished_at
        ),
        (SyncState::Done, 1, 1, 30, Some(later))
    );
    let after = started(start(&store, u, 1).await);
    assert_ne!(after.id, run.id, "a finished run lets a new one start");
    assert_eq!(store.latest_sync_run(u).await.expect("latest"), Some(after));
}

pub async fn concurrent_chat_reports_are_all_counted(store: Arc<dyn Store>) {
    let u = user(&store, "s7").await;
    let run = started(start(&store, u, 20).await);
    let tasks = (1..=20).map(|c| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            store
                .finish_sync_chat(u, run.id, ContactId::new(c), done(3), t0())
                .await
        })
    });
    let reports: Vec<SyncRun> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task").expect("report"))
        .collect();
    assert!(
        reports.iter().all(|r| (1..=20).contains(&r.chats_done)),
        "each report includes its own chat"
    );
    let last = store
        .latest_sync_run(u)
        .await
        .expect("latest")
        .expect("run");
    assert_eq!(
        (
            last.state,
            last.chats_done,
            last.chats_failed,
            last.messages_synced
        ),
        (SyncState::Done, 20, 0, 60)
    );
}

pub async fn another_users_run_is_not_found(store: Arc<dyn Store>) {
    let (owner, other) = (user(&store, "s8").await, user(&store, "s9").await);
    let run = started(start(&store, owner, 1).await);
    let err = store
        .finish_sync_chat(other, run.id, ContactId::new(1), done(1), t0())
        .await
        .expect_err("foreign run");
    assert!(matches!(err, crate::store::StoreError::NotFound), "{err:?}");
    let mine = store
        .latest_sync_run(owner)
        .await
        .expect("latest")
        .expect("run");
    assert_eq!(mine.chats_done, 0, "the foreign report counted nothing");
}
