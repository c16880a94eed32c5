//! The one insert-if-new path for messages, whoever brings them: the webhook
//! (`messages.upsert`, `send.message`, `messages.set`), the history sync and
//! the send route. It resolves each message to its person (skipping groups,
//! broadcast, status and newsletters; an `@lid` with a phone `remoteJidAlt`
//! belongs to the phone's contact), makes sure contact and conversation
//! exist, and stores the batch in one store call.

use std::collections::HashMap;

use crate::domain::{JidKind, MessageStatus, UserId};
use crate::evolution::message::{ParsedMessage, person_identity};
use crate::store::{ContactId, ContactUpsert, Inserted, NewMessage, Store, StoreResult, SyncTally};

/// What an ingest did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Ingested {
    /// One per stored-or-duplicate message, in input order (skipped ones are absent).
    pub rows: Vec<Inserted>,
    /// Messages not about a person (group, broadcast, status, newsletter).
    pub skipped: usize,
}

impl Ingested {
    /// Messages this call stored that were not stored before.
    pub fn new_count(&self) -> usize {
        self.rows.iter().filter(|r| r.new).count()
    }
}

/// The status a message is first stored with: inbound ones are `received`
/// whatever they carry; outbound ones start where they arrive (`sent` when
/// nothing says otherwise).
fn initial_status(m: &ParsedMessage) -> MessageStatus {
    if m.from_me {
        m.status.unwrap_or(MessageStatus::Sent)
    } else {
        MessageStatus::Received
    }
}

pub async fn ingest_messages(
    store: &dyn Store,
    user: UserId,
    messages: &[ParsedMessage],
    now: chrono::DateTime<chrono::Utc>,
) -> StoreResult<Ingested> {
    ingest(store, user, messages, now, None).await
}

/// [`ingest_messages`] for a history sync job: the new messages are tallied
/// to the job's (run, chat) in the transaction that stores them.
pub async fn ingest_sync_messages(
    store: &dyn Store,
    user: UserId,
    messages: &[ParsedMessage],
    now: chrono::DateTime<chrono::Utc>,
    tally: SyncTally,
) -> StoreResult<Ingested> {
    ingest(store, user, messages, now, Some(tally)).await
}

async fn ingest(
    store: &dyn Store,
    user: UserId,
    messages: &[ParsedMessage],
    now: chrono::DateTime<chrono::Utc>,
    tally: Option<SyncTally>,
) -> StoreResult<Ingested> {
    let mut contacts: HashMap<String, ContactId> = HashMap::new();
    let mut latest: HashMap<ContactId, chrono::DateTime<chrono::Utc>> = HashMap::new();
    let mut batch = Vec::with_capacity(messages.len());
    let mut skipped = 0;
    for m in messages {
        let Ok((jid, lid)) = person_identity(m) else {
            skipped += 1;
            continue;
        };
        let contact = match contacts.get(jid.as_str()) {
            Some(id) => *id,
            None => {
                let found = if jid.kind() == JidKind::Lid && lid.is_none() {
                    store.contact_by_jid(user, &jid).await?
                } else {
                    None
                };
                let id = match found {
                    Some(c) => c.id,
                    None => {
                        let profile_name = m.push_name.clone().filter(|_| !m.from_me);
                        let upsert = ContactUpsert {
                            jid: jid.clone(),
                            lid,
                            name: None,
                            profile_name,
                            now,
                        };
                        store.upsert_contact(user, &upsert).await?.id
                    }
                };
                contacts.insert(jid.as_str().to_owned(), id);
                id
            }
        };
        let at = latest.entry(contact).or_insert(m.timestamp);
        *at = (*at).max(m.timestamp);
        batch.push(NewMessage {
            contact_id: contact,
            key_id: m.key_id.clone(),
            is_outbound: m.from_me,
            message_type: m.message_type,
            content: m.content.clone(),
            status: initial_status(m),
            timestamp: m.timestamp,
        });
    }
    for (contact, at) in &latest {
        store
            .upsert_conversation(user, *contact, Some(*at), now)
            .await?;
    }
    let rows = match tally {
        _ if batch.is_empty() => Vec::new(),
        None => store.insert_messages(user, &batch).await?,
        Some(tally) => store.insert_sync_messages(user, &batch, tally, now).await?,
    };
    Ok(Ingested { rows, skipped })
}
