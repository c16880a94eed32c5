//! DynamoDB for tests: a client on the local emulator (moto, started by
//! `scripts/test`) and a fresh table per test, created from the very
//! definition SAM deploys (`infra/template.yaml`, resource `Table`), so a
//! key or index the code relies on but the template lacks fails here first.
//!
//! Tables are named `nolose-t-<uuid>`: tests never see each other's items,
//! and the emulator is thrown away with its tables when the run ends.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use nolose_shared::store::Store;
use nolose_shared::store::dynamo::DynamoStore;
use serde::Deserialize;

pub const TEMPLATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml");

/// A store on a new, empty table of its own.
pub async fn fresh_store() -> Arc<dyn Store> {
    let client = client().await;
    let table = fresh_table(&client).await;
    Arc::new(DynamoStore::new(client, table))
}

/// A client on `AWS_ENDPOINT_URL`. Without it the tests would talk to real
/// AWS (or nothing), so its absence is an error, never a skip. Dummy
/// credentials and region fill in for the emulator when none are set; they
/// go through the loader, so the process environment stays untouched.
pub async fn client() -> Client {
    Client::new(&sdk_config().await)
}

/// The SDK configuration of every emulated service (DynamoDB, SQS).
pub async fn sdk_config() -> aws_config::SdkConfig {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!(
            "AWS_ENDPOINT_URL is not set: run the test suite with scripts/test, which starts moto"
        )
    });
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).endpoint_url(endpoint);
    if unset("AWS_ACCESS_KEY_ID") {
        loader = loader.credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "nolose-tests",
        ));
    }
    if unset("AWS_REGION") && unset("AWS_DEFAULT_REGION") {
        loader = loader.region(Region::new("us-east-1"));
    }
    loader.load().await
}

fn unset(var: &str) -> bool {
    std::env::var_os(var).is_none_or(|v| v.is_empty())
}

/// Creates `nolose-t-<uuid>` from the template's definition, waits until it
/// is active, and turns its TTL on; returns its name.
pub async fn fresh_table(client: &Client) -> String {
    let name = format!("nolose-t-{}", uuid::Uuid::new_v4().simple());
    create_table(client, &name, &table_definition())
        .await
        .unwrap_or_else(|e| {
            panic!("creating test table {name} (is moto up at AWS_ENDPOINT_URL?): {e:#}")
        });
    name
}

/// `Resources.Table.Properties` of the SAM template. Only this part is read;
/// the rest of the file (with its `!Ref`/`!GetAtt` tags) is parsed as
/// opaque YAML.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableDefinition {
    pub billing_mode: String,
    pub attribute_definitions: Vec<AttributeDef>,
    pub key_schema: Vec<KeyDef>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<IndexDef>,
    pub time_to_live_specification: Option<TtlDef>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDef {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyDef {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexDef {
    pub index_name: String,
    pub key_schema: Vec<KeyDef>,
    pub projection: ProjectionDef,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectionDef {
    pub projection_type: String,
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TtlDef {
    pub attribute_name: String,
    pub enabled: bool,
}

/// The table as `infra/template.yaml` defines it.
pub fn table_definition() -> TableDefinition {
    parse_table_definition()
        .unwrap_or_else(|e| panic!("reading the Table resource of {TEMPLATE}: {e:#}"))
}

fn parse_table_definition() -> anyhow::Result<TableDefinition> {
    let text = std::fs::read_to_string(TEMPLATE).context("reading the template")?;
    let doc: serde_yaml::Value =
        serde_yaml::from_str(&text).context("parsing the template as YAML")?;
    let properties = doc["Resources"]["Table"]["Properties"].clone();
    serde_yaml::from_value(properties).context("decoding Resources.Table.Properties")
}

async fn create_table(client: &Client, name: &str, def: &TableDefinition) -> anyhow::Result<()> {
    let mut req = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(def.billing_mode.as_str()));
    for a in &def.attribute_definitions {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&a.attribute_name)
                .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                .build()?,
        );
    }
    for k in &def.key_schema {
        req = req.key_schema(key_element(k)?);
    }
    for index in &def.global_secondary_indexes {
        req = req.global_secondary_indexes(gsi(index)?);
    }
    req.send().await.context("CreateTable")?;
    wait_until_active(client, name).await?;
    if let Some(ttl) = &def.time_to_live_specification {
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(&ttl.attribute_name)
            .enabled(ttl.enabled)
            .build()?;
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(spec)
            .send()
            .await
            .context("UpdateTimeToLive")?;
    }
    Ok(())
}

fn key_element(k: &KeyDef) -> anyhow::Result<KeySchemaElement> {
    Ok(KeySchemaElement::builder()
        .attribute_name(&k.attribute_name)
        .key_type(KeyType::from(k.key_type.as_str()))
        .build()?)
}

fn gsi(index: &IndexDef) -> anyhow::Result<GlobalSecondaryIndex> {
    let projection = Projection::builder()
        .projection_type(ProjectionType::from(
            index.projection.projection_type.as_str(),
        ))
        .set_non_key_attributes(
            Some(index.projection.non_key_attributes.clone()).filter(|a| !a.is_empty()),
        )
        .build();
    let mut builder = GlobalSecondaryIndex::builder()
        .index_name(&index.index_name)
        .projection(projection);
    for k in &index.key_schema {
        builder = builder.key_schema(key_element(k)?);
    }
    Ok(builder.build()?)
}

/// Real DynamoDB takes seconds to create a table; the emulator is instant,
/// but the wait keeps this usable against either.
async fn wait_until_active(client: &Client, name: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let out = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .context("DescribeTable")?;
        if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "table {name} not active after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
