//! `infra/template.yaml` checks that cfn-lint cannot make: it validates SAM
//! resources against schemas but does not run the SAM translator, so a typo
//! in `BuildMethod`, a binary name, an `AuthType` or a policy slips through.

use serde_yaml::Value;

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml");
    let text = std::fs::read_to_string(path).expect("template.yaml");
    serde_yaml::from_str(&text).expect("template.yaml is YAML")
}

/// Binaries the workspace builds (cargo-lambda writes target/lambda/<bin>).
fn workspace_binaries() -> Vec<String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut bins = Vec::new();
    for dir in [
        "functions/auth",
        "functions/instance",
        "functions/sync",
        "functions/send",
        "functions/webhook",
        "jobs",
    ] {
        let manifest =
            std::fs::read_to_string(format!("{root}/{dir}/Cargo.toml")).expect("manifest");
        let value: toml_like::Doc = toml_like::parse(&manifest);
        bins.extend(value.bin_names);
    }
    bins
}

/// Just enough TOML reading for `[[bin]] name = "..."`, without a TOML crate.
mod toml_like {
    pub struct Doc {
        pub bin_names: Vec<String>,
    }

    pub fn parse(text: &str) -> Doc {
        let mut in_bin = false;
        let mut bin_names = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                in_bin = line == "[[bin]]";
            } else if in_bin
                && line.starts_with("name")
                && let Some(name) = line.split('"').nth(1)
            {
                bin_names.push(name.to_owned());
            }
        }
        Doc { bin_names }
    }
}

fn functions(t: &Value) -> Vec<(String, &Value)> {
    let resources = t["Resources"].as_mapping().expect("Resources");
    resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(k, r)| (k.as_str().unwrap_or_default().to_owned(), r))
        .collect()
}

#[test]
fn every_function_is_built_by_cargo_lambda_from_a_real_binary() {
    let t = template();
    let bins = workspace_binaries();
    let fns = functions(&t);
    assert!(!fns.is_empty(), "the template declares functions");
    for (name, f) in fns {
        assert_eq!(
            f["Metadata"]["BuildMethod"], "rust-cargolambda",
            "{name}: BuildMethod"
        );
        let binary = f["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_default();
        assert!(
            bins.iter().any(|b| b == binary),
            "{name}: Binary {binary:?} is not a workspace [[bin]] ({bins:?})"
        );
        let auth = &f["Properties"]["FunctionUrlConfig"]["AuthType"];
        assert!(
            auth.is_null() || auth == "NONE" || auth == "AWS_IAM",
            "{name}: AuthType {auth:?}"
        );
    }
}

#[test]
fn functions_run_on_al2023_with_a_chosen_architecture() {
    let t = template();
    let globals = &t["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Handler"], "bootstrap");
    let arch = format!("{:?}", globals["Architectures"]);
    assert!(
        arch.contains("Architecture"),
        "architecture comes from the parameter: {arch}"
    );
    let allowed = format!("{:?}", t["Parameters"]["Architecture"]["AllowedValues"]);
    assert!(
        allowed.contains("arm64") && allowed.contains("x86_64"),
        "{allowed}"
    );
}

#[test]
fn the_secret_key_is_a_noecho_parameter() {
    let t = template();
    assert_eq!(t["Parameters"]["SecretKey"]["NoEcho"], true);
    assert!(
        t["Parameters"]["SecretKey"]["MinLength"]
            .as_u64()
            .is_some_and(|n| n >= 32)
    );
}

#[test]
fn policies_are_least_privilege() {
    let t = template();
    for (name, f) in functions(&t) {
        let policies = f["Properties"]["Policies"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{name}: Policies"));
        for policy in policies {
            let statements = policy["Statement"]
                .as_sequence()
                .unwrap_or_else(|| panic!("{name}: inline statements only"));
            for s in statements {
                assert_eq!(s["Effect"], "Allow", "{name}");
                let actions = s["Action"]
                    .as_sequence()
                    .unwrap_or_else(|| panic!("{name}: Action list"));
                for a in actions {
                    let a = a.as_str().unwrap_or_default();
                    assert!(!a.contains('*'), "{name}: wildcard action {a}");
                    assert!(
                        a.starts_with("dynamodb:") || a.starts_with("sqs:"),
                        "{name}: unexpected action {a}"
                    );
                }
                let resource = format!("{:?}", s["Resource"]);
                assert!(!resource.contains("\"*\""), "{name}: wildcard resource");
            }
        }
    }
}

#[test]
fn the_table_matches_the_single_table_design() {
    let t = template();
    let table = &t["Resources"]["Table"]["Properties"];
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        table["TimeToLiveSpecification"]["AttributeName"],
        "expires_at"
    );
    assert_eq!(table["TimeToLiveSpecification"]["Enabled"], true);
    assert_eq!(table["GlobalSecondaryIndexes"][0]["IndexName"], "GSI1");
    let keys: Vec<_> = table["KeySchema"]
        .as_sequence()
        .expect("keys")
        .iter()
        .map(|k| k["AttributeName"].clone())
        .collect();
    assert_eq!(keys, vec![Value::from("PK"), Value::from("SK")]);
}

/// The longest chain of sequential upstream calls each function's handlers
/// make, from the constants the code runs with. A function's timeout must
/// exceed it, or a slow dependency ends in Lambda's own non-JSON 502 instead
/// of our 503. Every store call is one operation (`OPERATION_TIMEOUT`);
/// `update_instance` is up to `UPDATE_ATTEMPTS` rounds of read + save.
mod chains {
    use std::time::Duration;

    /// One Evolution call (30 s).
    pub fn evolution() -> Duration {
        nolose_shared::evolution::client::Timeouts::default().request
    }

    /// `n` store calls.
    pub fn store(n: u32) -> Duration {
        nolose_shared::store::OPERATION_TIMEOUT * n
    }

    /// `update_instance` at its worst: every round raced.
    pub fn instance_update() -> Duration {
        store(2 * nolose_shared::connection::UPDATE_ATTEMPTS as u32)
    }

    /// Argon2 on a small Lambda, waiting for a hashing slot included.
    const HASHING: Duration = Duration::from_secs(5);

    /// Login: the caller's window, the user, one hash, the failure count.
    pub fn auth() -> Duration {
        store(3) + HASHING
    }

    /// create: the bearer's user, the new row, Evolution create (already
    /// exists) + webhook/set + connect, then the status update.
    pub fn instance() -> Duration {
        store(2) + evolution() * 3 + instance_update()
    }

    /// A connection event: the instance's secret, then its update. A
    /// message takes less: contact lookup + upsert, conversation, insert.
    pub fn webhook() -> Duration {
        (store(1) + instance_update()).max(store(5))
    }

    /// A duplicate waits its patience (its last reservation may start just
    /// before the end), then sends itself: user, instance, sendText, the
    /// ingest (contact lookup + upsert, conversation, insert), the status,
    /// and settling the key.
    pub fn send() -> Duration {
        let patience = nolose_send::Patience::default().0;
        store(1) + patience + store(2) + evolution() + store(5) + store(1)
    }

    /// The worst of the sync routes:
    /// - `sync/chats`: user, `connected` (instance, connectionState, its
    ///   update), findChats, the count's update, the run, the fan-out's
    ///   failure records — the per-chat upserts and SQS batches are not in
    ///   it (see the report: they grow with the chat list);
    /// - `sync/messages`: user, contact, `connected`, findMessages, ingest;
    /// - `sync/contacts`: user, then pages until `CONTACTS_DEADLINE` (or
    ///   `connected` alone, if slower), plus the last call started in time.
    pub fn sync() -> Duration {
        let connected = store(1) + evolution() + instance_update();
        let chats = store(1) + connected + evolution() + instance_update() + store(2);
        let messages = store(2) + connected + evolution() + store(4);
        let deadline = nolose_sync::sync::CONTACTS_DEADLINE;
        let contacts = store(1) + deadline.max(connected) + evolution();
        chats.max(messages).max(contacts)
    }

    /// One record (a batch's records run at once): findMessages, the ingest
    /// (contact lookup + upsert, conversation, insert), the run's counters,
    /// and the failure record when that fails.
    pub fn sync_worker() -> Duration {
        evolution() + store(4) + store(1) + store(1)
    }
}

/// A function's worst chain of upstream calls.
type Chain = fn() -> std::time::Duration;

#[test]
fn every_function_outlasts_its_longest_chain_of_upstream_calls() {
    let t = template();
    let table: [(&str, Chain); 6] = [
        ("AuthFunction", chains::auth),
        ("InstanceFunction", chains::instance),
        ("WebhookFunction", chains::webhook),
        ("SendFunction", chains::send),
        ("SyncFunction", chains::sync),
        ("SyncWorkerFunction", chains::sync_worker),
    ];
    let declared: Vec<String> = functions(&t).into_iter().map(|(name, _)| name).collect();
    for name in &declared {
        assert!(
            table.iter().any(|(n, _)| n == name),
            "{name}: no chain in this table — add it"
        );
    }
    for (name, chain) in table {
        let f = &t["Resources"][name]["Properties"];
        let timeout = f["Timeout"]
            .as_u64()
            .unwrap_or_else(|| panic!("{name}: sets its own Timeout (the default is 3 s)"));
        let chain = chain();
        assert!(
            timeout > chain.as_secs(),
            "{name}: Timeout {timeout} s does not exceed its chain of {chain:?}"
        );
        assert!(timeout <= 900, "{name}: Lambda's maximum is 900 s");
    }
    assert!(
        t["Globals"]["Function"]["Timeout"].is_null(),
        "no global Timeout that a function could inherit unchecked"
    );
}

#[test]
fn the_send_function_has_an_output_url() {
    let t = template();
    assert_eq!(
        t["Resources"]["SendFunction"]["Metadata"]["BuildProperties"]["Binary"],
        "send"
    );
    assert!(
        t["Outputs"]["SendUrl"].is_mapping(),
        "the send function's URL is an output"
    );
}

#[test]
fn the_sync_queue_retries_five_times_into_a_dlq_and_outlasts_the_worker() {
    let t = template();
    let queue = &t["Resources"]["SyncQueue"]["Properties"];
    let worker = &t["Resources"]["SyncWorkerFunction"]["Properties"];
    let timeout = worker["Timeout"].as_u64().expect("worker Timeout");
    let visibility = queue["VisibilityTimeout"]
        .as_u64()
        .expect("VisibilityTimeout");
    assert!(
        visibility >= 6 * timeout,
        "visibility {visibility} < 6 x {timeout}"
    );
    assert_eq!(queue["RedrivePolicy"]["maxReceiveCount"], 5);
    let dlq = format!("{:?}", queue["RedrivePolicy"]["deadLetterTargetArn"]);
    assert!(dlq.contains("SyncDeadLetterQueue"), "{dlq}");
    assert_eq!(
        nolose_jobs::sqs_worker::MAX_RECEIVES as u64,
        queue["RedrivePolicy"]["maxReceiveCount"]
            .as_u64()
            .unwrap_or_default(),
        "the worker knows the last receive"
    );
}

#[test]
fn the_sync_worker_reports_partial_failures_with_bounded_concurrency() {
    let t = template();
    let events = &t["Resources"]["SyncWorkerFunction"]["Properties"]["Events"];
    let source = events
        .as_mapping()
        .and_then(|m| m.values().find(|e| e["Type"] == "SQS"))
        .expect("an SQS event source");
    let types = format!("{:?}", source["Properties"]["FunctionResponseTypes"]);
    assert!(types.contains("ReportBatchItemFailures"), "{types}");
    assert!(
        source["Properties"]["ScalingConfig"]["MaximumConcurrency"]
            .as_u64()
            .is_some_and(|n| n >= 2),
        "MaximumConcurrency (AWS minimum 2)"
    );
    let sync = &t["Resources"]["SyncFunction"]["Properties"];
    assert!(!sync["Environment"]["Variables"]["SYNC_QUEUE_URL"].is_null());
    let actions = format!("{:?}", sync["Policies"]);
    assert!(
        actions.contains("sqs:SendMessage"),
        "sync may enqueue: {actions}"
    );
}
