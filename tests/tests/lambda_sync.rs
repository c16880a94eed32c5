//! History sync in Lambda mode on moto: the `sync` function enqueues into a
//! real (emulated) SQS queue, the test receives the messages and feeds them
//! to the real `sync-worker` handler as SQS events, deletes what succeeded,
//! and lets the reported failures come back, as the Lambda service would.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use nolose_evosim::{DownMode, EvoSim, Seed, SimConfig};
use nolose_jobs::JobContext;
use nolose_jobs::sqs_worker::{MAX_RECEIVES, handle_batch};
use nolose_shared::AppState;
use nolose_shared::domain::InstanceName;
use nolose_shared::jobs::sqs::SqsQueue;
use nolose_shared::jobs::{JobQueue, SyncChatHistory};
use nolose_shared::store::{ContactId, Store, SyncRun, SyncStart, SyncState};
use nolose_shared::testing::{t0, user};
use nolose_tests::app::{Setup, config_with};
use nolose_tests::lambda::{fixture, invoke};
use nolose_tests::sqs;

const PATIENCE: Duration = Duration::from_secs(40);

/// A sync run no job will ever report to again is finished after this.
const STALE: Duration = Duration::from_secs(600);

fn state(sim: &EvoSim, store: &Arc<dyn Store>) -> AppState {
    let setup = Setup {
        evolution: Some((sim.base_url().to_owned(), sim.api_key().to_owned())),
        webhook_secret: None,
    };
    AppState::new(config_with(&setup, "http://127.0.0.1:9"), Arc::clone(store)).expect("state")
}

fn jobs(user: nolose_shared::domain::UserId, run: &SyncRun, chats: i64) -> Vec<SyncChatHistory> {
    (1..=chats)
        .map(|c| SyncChatHistory {
            user_id: user,
            instance: InstanceName::for_user(user),
            sync_id: run.id,
            contact_id: ContactId::new(c),
            remote_jid: nolose_evosim::seeded_jid(c as u32),
            limit: 30,
        })
        .collect()
}

/// Plays the event source until the queue stays empty; returns the highest
/// receive count seen.
async fn drain(client: &aws_sdk_sqs::Client, url: &str, ctx: &JobContext) -> u32 {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut most_receives = 0;
    let mut idle_rounds = 0;
    while idle_rounds < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the queue never drained"
        );
        let records = sqs::receive(client, url, 2).await;
        if records.is_empty() {
            idle_rounds += 1;
            continue;
        }
        idle_rounds = 0;
        for r in &records {
            let n = r
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|n| n.parse().ok());
            most_receives = most_receives.max(n.unwrap_or(1));
        }
        let response = handle_batch(sqs::event(records.clone()), ctx, MAX_RECEIVES).await;
        let failed: Vec<String> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        sqs::delete_succeeded(client, url, &records, &failed).await;
    }
    most_receives
}

#[tokio::test]
async fn jobs_are_sent_in_batches_of_ten_and_arrive_intact() {
    let client = sqs::client().await;
    let url = sqs::fresh_queue(&client).await;
    let store = nolose_tests::dynamo::fresh_store().await;
    let u = user(&store, "batches").await;
    let SyncStart::Started(run) = store
        .start_sync_run(u, 25, t0(), STALE)
        .await
        .expect("start")
    else {
        panic!("a new run")
    };
    let sent = jobs(u, &run, 25);

    SqsQueue::new(client.clone(), url.clone())
        .enqueue_many(sent.clone())
        .await
        .expect("enqueue");

    let mut received = HashSet::new();
    for _ in 0..10 {
        for r in sqs::receive(&client, &url, 1).await {
            let job: SyncChatHistory =
                serde_json::from_str(r.body.as_deref().unwrap_or_default()).expect("job body");
            received.insert(job.contact_id);
        }
    }
    assert_eq!(received.len(), 25, "every job arrives once");
}

#[tokio::test]
async fn a_chat_failing_transiently_comes_back_until_its_last_receive_counts_it_failed() {
    let sim = EvoSim::spawn(SimConfig::fast()).await.expect("evosim");
    sim.set_down(DownMode::Unavailable);
    let store = nolose_tests::dynamo::fresh_store().await;
    let ctx = JobContext::from(&state(&sim, &store));
    let client = sqs::client().await;
    let url = sqs::fresh_queue(&client).await;
    let u = user(&store, "failing").await;
    let SyncStart::Started(run) = store
        .start_sync_run(u, 2, t0(), STALE)
        .await
        .expect("start")
    else {
        panic!("a new run")
    };
    SqsQueue::new(client.clone(), url.clone())
        .enqueue_many(jobs(u, &run, 2))
        .await
        .expect("enqueue");

    let most_receives = drain(&client, &url, &ctx).await;

    assert_eq!(
        most_receives, MAX_RECEIVES,
        "redelivered up to maxReceiveCount"
    );
    let after = store
        .latest_sync_run(u, t0(), STALE)
        .await
        .expect("read")
        .expect("run");
    assert_eq!(
        (after.state, after.chats_done, after.chats_failed),
        (SyncState::Done, 0, 2),
        "{after:?}"
    );
}

/// The whole flow through the function URL of `sync` and the worker, on
/// DynamoDB and SQS (moto).
#[tokio::test]
async fn a_chat_sync_fans_out_through_sqs_and_reaches_done() {
    let sim = EvoSim::spawn(SimConfig::fast()).await.expect("evosim");
    let store = nolose_tests::dynamo::fresh_store().await;
    let client = sqs::client().await;
    let url = sqs::fresh_queue(&client).await;
    let queue = Arc::new(SqsQueue::new(client.clone(), url.clone()));
    let auth = nolose_auth::router(state(&sim, &store));
    let instance = nolose_instance::router(state(&sim, &store));
    let sync = nolose_sync::router(state(&sim, &store).with_jobs(queue));
    let ctx = JobContext::from(&state(&sim, &store));

    invoke(auth.clone(), &fixture("auth_register.json", &[])).await;
    let login = invoke(auth, &fixture("auth_login.json", &[])).await;
    let token = login.body["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let created = invoke(
        instance.clone(),
        &fixture("instance_create.json", &[("token", &token)]),
    )
    .await;
    let name = created.body["instance_name"]
        .as_str()
        .expect("name")
        .to_owned();
    sim.scan_qr(&name, Default::default()).expect("scan");
    let seed = Seed {
        contacts: 0,
        chats: 3,
        messages_per_chat: 40,
        base_timestamp: None,
    };
    sim.seed(&name, seed).expect("seed");
    sim.fail_next(Some("chat/findMessages"), 2, 500);

    let started = invoke(
        sync.clone(),
        &fixture("sync_chats.json", &[("token", &token)]),
    )
    .await;
    assert_eq!(
        (started.status, &started.body["queued"]),
        (202, &3.into()),
        "{:?}",
        started.body
    );
    drain(&client, &url, &ctx).await;

    let status = invoke(sync, &fixture("sync_status.json", &[("token", &token)])).await;
    assert_eq!(
        (
            &status.body["state"],
            &status.body["chats_done"],
            &status.body["messages_synced"]
        ),
        (&"done".into(), &3.into(), &90.into()),
        "{:?}",
        status.body
    );
}

/// A user registered through `auth`, with a connected instance on the sim.
struct Connected {
    sim: EvoSim,
    client: aws_sdk_sqs::Client,
    url: String,
    sync: axum::Router,
    ctx: JobContext,
    token: String,
    name: String,
    /// The `sync` function's clock.
    clock: Arc<nolose_shared::time::ManualClock>,
}

async fn connected() -> Connected {
    let sim = EvoSim::spawn(SimConfig::fast()).await.expect("evosim");
    let store = nolose_tests::dynamo::fresh_store().await;
    let client = sqs::client().await;
    let url = sqs::fresh_queue(&client).await;
    let queue = Arc::new(SqsQueue::new(client.clone(), url.clone()));
    let auth = nolose_auth::router(state(&sim, &store));
    let instance = nolose_instance::router(state(&sim, &store));
    let clock = Arc::new(nolose_shared::time::ManualClock::new(chrono::Utc::now()));
    let sync = nolose_sync::router(
        state(&sim, &store)
            .with_jobs(queue)
            .with_clock(Arc::clone(&clock) as Arc<dyn nolose_shared::time::Clock>),
    );
    let ctx = JobContext::from(&state(&sim, &store));
    invoke(auth.clone(), &fixture("auth_register.json", &[])).await;
    let login = invoke(auth, &fixture("auth_login.json", &[])).await;
    let token = login.body["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let created = invoke(
        instance,
        &fixture("instance_create.json", &[("token", &token)]),
    )
    .await;
    let name = created.body["instance_name"]
        .as_str()
        .expect("name")
        .to_owned();
    sim.scan_qr(&name, Default::default()).expect("scan");
    Connected {
        sim,
        client,
        url,
        sync,
        ctx,
        token,
        name,
        clock,
    }
}

/// Seeded chats 1, 2 and 3 holding 5, 10 and 40 messages.
fn seed_5_10_40(sim: &EvoSim, instance: &str) {
    let seed = Seed {
        contacts: 0,
        chats: 3,
        messages_per_chat: 5,
        base_timestamp: None,
    };
    sim.seed(instance, seed).expect("seed");
    for (chat, more) in [(2u32, 5u32), (3, 35)] {
        for m in 1..=more {
            let incoming = nolose_evosim::Incoming {
                from: nolose_evosim::seeded_jid(chat),
                text: Some(format!("later {m}")),
                id: Some(format!("3B{chat:06}{m:012}")),
                timestamp: Some(1_790_000_000 + i64::from(m)),
                silent: true,
                ..Default::default()
            };
            sim.inject(instance, incoming).expect("inject");
        }
    }
}

/// Plays the event source like [`drain`], but the first delivery of the
/// job of `doomed` dies after storing its page: the worker stores it, then
/// is killed before reporting, so the record is neither deleted nor
/// reported and comes back after its visibility timeout.
async fn drain_with_a_death(c: &Connected, doomed: &str) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let (mut died, mut idle_rounds) = (false, 0);
    while idle_rounds < 3 {
        assert!(tokio::time::Instant::now() < deadline, "never drained");
        let mut records = sqs::receive(&c.client, &c.url, 2).await;
        if records.is_empty() {
            idle_rounds += 1;
            continue;
        }
        idle_rounds = 0;
        if !died && let Some(i) = records.iter().position(|r| job_of(r).remote_jid == doomed) {
            let job = job_of(&records.remove(i));
            store_page_then_die(&job, &c.ctx).await;
            died = true;
        }
        let response = handle_batch(sqs::event(records.clone()), &c.ctx, MAX_RECEIVES).await;
        let failed: Vec<String> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        sqs::delete_succeeded(&c.client, &c.url, &records, &failed).await;
    }
    assert!(died, "the doomed job was delivered");
}

fn job_of(record: &aws_lambda_events::event::sqs::SqsMessage) -> SyncChatHistory {
    serde_json::from_str(record.body.as_deref().unwrap_or_default()).expect("job body")
}

/// What a worker did before it was killed: the job's page, stored.
async fn store_page_then_die(job: &SyncChatHistory, ctx: &JobContext) {
    let page = nolose_shared::history::ChatPage {
        user: job.user_id,
        instance: &job.instance,
        remote_jid: &job.remote_jid,
        limit: job.limit,
        tally: Some(nolose_shared::store::SyncTally {
            run: job.sync_id,
            chat: job.contact_id,
        }),
    };
    let stored = nolose_shared::history::sync_chat(
        ctx.evolution.as_ref(),
        ctx.store.as_ref(),
        page,
        ctx.clock.now(),
    )
    .await
    .expect("the page is stored");
    assert_eq!(stored.new_count(), 30, "the dying worker stored the page");
}

/// Issue 9: chats of 5, 10 and 40 messages once ended `done` with
/// `messages_synced: 15`, the 40-message chat's rerun counting nothing.
#[tokio::test]
async fn chats_of_5_10_and_40_sync_45_messages_though_a_worker_dies_after_storing() {
    let c = connected().await;
    seed_5_10_40(&c.sim, &c.name);

    let started = invoke(
        c.sync.clone(),
        &fixture("sync_chats.json", &[("token", &c.token)]),
    )
    .await;
    assert_eq!(started.body["queued"], 3, "{:?}", started.body);
    drain_with_a_death(&c, &nolose_evosim::seeded_jid(3)).await;

    let status = invoke(c.sync, &fixture("sync_status.json", &[("token", &c.token)])).await;
    assert_eq!(
        (
            &status.body["state"],
            &status.body["chats_done"],
            &status.body["chats_failed"],
            &status.body["messages_synced"]
        ),
        (&"done".into(), &3.into(), &0.into(), &45.into()),
        "{:?}",
        status.body
    );
}

/// Issue 9: a run whose jobs were lost (DLQ, a killed Lambda) stayed
/// `running` and blocked every later sync.
#[tokio::test]
async fn a_run_no_job_reports_to_is_finished_once_stale_and_a_new_sync_starts() {
    let c = connected().await;
    c.sim
        .seed(
            &c.name,
            Seed {
                contacts: 0,
                chats: 2,
                messages_per_chat: 3,
                base_timestamp: None,
            },
        )
        .expect("seed");
    let first = invoke(
        c.sync.clone(),
        &fixture("sync_chats.json", &[("token", &c.token)]),
    )
    .await;
    assert_eq!(first.body["queued"], 2, "{:?}", first.body);
    // Its jobs are lost: the queue is never drained.
    c.clock.advance(chrono::Duration::seconds(599));
    let again = invoke(
        c.sync.clone(),
        &fixture("sync_chats.json", &[("token", &c.token)]),
    )
    .await;
    assert_eq!(
        (&again.body["sync_id"], &again.body["queued"]),
        (&first.body["sync_id"], &0.into())
    );
    c.clock.advance(chrono::Duration::seconds(2));
    let status = invoke(
        c.sync.clone(),
        &fixture("sync_status.json", &[("token", &c.token)]),
    )
    .await;
    assert_eq!(
        (
            &status.body["state"],
            &status.body["chats_done"],
            &status.body["chats_failed"]
        ),
        (&"done".into(), &0.into(), &2.into()),
        "a stale run reads as done, its chats failed: {:?}",
        status.body
    );
    let next = invoke(c.sync, &fixture("sync_chats.json", &[("token", &c.token)])).await;
    assert_eq!(next.body["queued"], 2, "a new run: {:?}", next.body);
    assert_ne!(next.body["sync_id"], first.body["sync_id"]);
}
