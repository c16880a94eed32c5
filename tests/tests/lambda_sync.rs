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
    let SyncStart::Started(run) = store.start_sync_run(u, 25, t0()).await.expect("start") else {
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
    let SyncStart::Started(run) = store.start_sync_run(u, 2, t0()).await.expect("start") else {
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
    let after = store.latest_sync_run(u).await.expect("read").expect("run");
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
