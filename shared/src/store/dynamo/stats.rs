//! A user's counters (`USER#<uid>` / `STATS`): every transaction that
//! creates a contact, conversation or message also `ADD`s to them, so they
//! are exact without counting rows, and `stats` is one `GetItem`.

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use serde::Deserialize;

use super::DynamoStore;
use super::errors::backend;
use super::keys::{self, Item, STATS};
use crate::domain::UserId;
use crate::store::{Stats, StoreResult};

/// The counter attributes, as the item spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Counter {
    Messages,
    Inbound,
    Outbound,
    Contacts,
    Conversations,
}

impl Counter {
    fn attribute(self) -> &'static str {
        match self {
            Self::Messages => "total_messages",
            Self::Inbound => "inbound_messages",
            Self::Outbound => "outbound_messages",
            Self::Contacts => "total_contacts",
            Self::Conversations => "total_conversations",
        }
    }
}

/// Counters never written read as 0.
#[derive(Deserialize, Default)]
#[serde(default)]
struct StatsItem {
    total_messages: u64,
    inbound_messages: u64,
    outbound_messages: u64,
    total_contacts: u64,
    total_conversations: u64,
}

impl DynamoStore {
    /// The user's counters (all 0 before anything was stored).
    pub(super) async fn read_stats(&self, user: UserId) -> StoreResult<Stats> {
        let Some(item) = self.get_item(stats_key(user), "reading stats").await? else {
            return Ok(Stats::default());
        };
        let s: StatsItem =
            serde_dynamo::from_item(item).map_err(|e| backend(e, "decoding stats"))?;
        Ok(Stats {
            total_messages: s.total_messages,
            total_contacts: s.total_contacts,
            total_conversations: s.total_conversations,
            inbound_messages: s.inbound_messages,
            outbound_messages: s.outbound_messages,
        })
    }

    /// The transaction item that adds `amounts` to the user's counters
    /// (creating the item on first use); zero amounts are left out.
    pub(super) fn count(
        &self,
        user: UserId,
        amounts: &[(Counter, i64)],
    ) -> StoreResult<TransactWriteItem> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(stats_key(user)));
        let mut adds = Vec::new();
        for (i, (counter, amount)) in amounts.iter().filter(|(_, a)| *a != 0).enumerate() {
            adds.push(format!("#c{i} :c{i}"));
            update = update
                .expression_attribute_names(format!("#c{i}"), counter.attribute())
                .expression_attribute_values(format!(":c{i}"), keys::n(*amount));
        }
        let update = update
            .update_expression(format!("ADD {}", adds.join(", ")))
            .build()
            .map_err(|e| backend(e, "building a counter update"))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

fn stats_key(user: UserId) -> Item {
    keys::key(keys::user_pk(user), STATS)
}
