//! [`InstanceStore`] on DynamoDB: one item per user (`USER#<uid>` /
//! `INSTANCE`). Creation is one `UpdateItem` whose every `SET` is
//! `if_not_exists`, so of concurrent creations the first one's secret stays
//! and all of them get the stored row back in the same call. A save is an
//! `UpdateItem` conditioned on the version it read (optimistic locking).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::DynamoStore;
use super::errors::backend;
use super::keys::{self, INSTANCE, Item, parse_stamp, stamp};
use super::ops::Updated;
use crate::domain::{InstanceName, UserId};
use crate::store::{ConnectionStatus, Instance, InstanceStore, StoreError, StoreResult};

#[derive(Deserialize)]
struct InstanceItem {
    user_id: i64,
    name: String,
    webhook_secret: String,
    status: String,
    phone_number: Option<String>,
    profile_name: Option<String>,
    qr_code: Option<String>,
    qr_updated_at: Option<String>,
    pairing_code: Option<String>,
    last_connected_at: Option<String>,
    chats_count: Option<i64>,
    created_at: String,
    version: i64,
}

impl InstanceItem {
    fn parse(item: Item) -> StoreResult<Instance> {
        let i: Self =
            serde_dynamo::from_item(item).map_err(|e| backend(e, "decoding an instance"))?;
        let name = InstanceName::parse(&i.name)
            .ok_or_else(|| backend(anyhow::anyhow!("bad name {:?}", i.name), "an instance"))?;
        Ok(Instance {
            user_id: UserId::new(i.user_id),
            name,
            webhook_secret: i.webhook_secret,
            status: ConnectionStatus::from_db(&i.status),
            phone_number: i.phone_number,
            profile_name: i.profile_name,
            qr_code: i.qr_code,
            qr_updated_at: i.qr_updated_at.as_deref().map(parse_stamp).transpose()?,
            pairing_code: i.pairing_code,
            last_connected_at: i
                .last_connected_at
                .as_deref()
                .map(parse_stamp)
                .transpose()?,
            chats_count: i.chats_count,
            created_at: parse_stamp(&i.created_at)?,
            version: i.version,
        })
    }
}

#[async_trait]
impl InstanceStore for DynamoStore {
    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn create_instance(
        &self,
        user: UserId,
        name: &InstanceName,
        webhook_secret: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Instance> {
        let fields = [
            ("user_id", keys::n(user.get())),
            ("name", keys::s(name.as_str())),
            ("webhook_secret", keys::s(webhook_secret)),
            ("status", keys::s(ConnectionStatus::Disconnected.as_str())),
            ("created_at", keys::s(stamp(now))),
            ("version", keys::n(1)),
        ];
        let mut update = self.client.update_item().set_key(Some(instance_key(user)));
        let mut sets = Vec::new();
        for (i, (attr, value)) in fields.into_iter().enumerate() {
            sets.push(format!("#a{i} = if_not_exists(#a{i}, :v{i})"));
            update = update
                .expression_attribute_names(format!("#a{i}"), attr)
                .expression_attribute_values(format!(":v{i}"), value);
        }
        let update = update.update_expression(format!("SET {}", sets.join(", ")));
        match self
            .conditional_update(update, "creating an instance")
            .await?
        {
            Updated::Done(item) => InstanceItem::parse(item),
            Updated::Refused(_) => Err(backend(
                anyhow::anyhow!("an unconditional update was refused"),
                "creating an instance",
            )),
        }
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn instance_by_user(&self, user: UserId) -> StoreResult<Option<Instance>> {
        let item = self
            .get_item(instance_key(user), "reading an instance")
            .await?;
        item.map(InstanceItem::parse).transpose()
    }

    #[tracing::instrument(skip_all, fields(user_id = %instance.user_id, version = instance.version))]
    async fn save_instance(&self, instance: &Instance) -> StoreResult<Instance> {
        let mut update = self
            .client
            .update_item()
            .set_key(Some(instance_key(instance.user_id)))
            .condition_expression("#version = :read")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":read", keys::n(instance.version))
            .expression_attribute_values(":next", keys::n(instance.version + 1));
        let (mut sets, mut removes) = (vec!["#version = :next".to_owned()], Vec::new());
        for (i, (attr, value)) in state_fields(instance).into_iter().enumerate() {
            update = update.expression_attribute_names(format!("#a{i}"), attr);
            match value {
                Some(v) => {
                    sets.push(format!("#a{i} = :v{i}"));
                    update = update.expression_attribute_values(format!(":v{i}"), v);
                }
                None => removes.push(format!("#a{i}")),
            }
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let update = update.update_expression(expression);
        match self
            .conditional_update(update, "saving an instance")
            .await?
        {
            Updated::Done(item) => InstanceItem::parse(item),
            Updated::Refused(Some(_)) => Err(StoreError::Conflict),
            Updated::Refused(None) => Err(StoreError::NotFound),
        }
    }
}

/// The fields a save writes: `None` removes the attribute.
fn state_fields(i: &Instance) -> [(&'static str, Option<AttributeValue>); 8] {
    let text = |v: &Option<String>| v.as_deref().map(keys::s);
    let time = |v: &Option<DateTime<Utc>>| v.map(|t| keys::s(stamp(t)));
    [
        ("status", Some(keys::s(i.status.as_str()))),
        ("phone_number", text(&i.phone_number)),
        ("profile_name", text(&i.profile_name)),
        ("qr_code", text(&i.qr_code)),
        ("qr_updated_at", time(&i.qr_updated_at)),
        ("pairing_code", text(&i.pairing_code)),
        ("last_connected_at", time(&i.last_connected_at)),
        ("chats_count", i.chats_count.map(keys::n)),
    ]
}

fn instance_key(user: UserId) -> Item {
    keys::key(keys::user_pk(user), INSTANCE)
}
