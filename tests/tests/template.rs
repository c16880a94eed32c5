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

#[test]
fn the_send_function_outlasts_a_send_and_a_waiting_duplicate() {
    let t = template();
    let send = &t["Resources"]["SendFunction"];
    assert_eq!(send["Metadata"]["BuildProperties"]["Binary"], "send");
    let timeout = send["Properties"]["Timeout"].as_u64().unwrap_or_default();
    let evolution = nolose_shared::evolution::client::Timeouts::default().request;
    let waiting = nolose_send::Patience::default().0;
    let store = nolose_shared::store::OPERATION_TIMEOUT;
    assert!(
        timeout >= (evolution.max(waiting) + 2 * store).as_secs(),
        "Timeout {timeout} s leaves no room for Evolution's {evolution:?} or the wait of {waiting:?}"
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
