//! The read routes. Every query names the caller's user id: another user's
//! contact id is a 404 exactly like one that does not exist.

use axum::Json;
use axum::extract::{Path, State};
use nolose_shared::auth::AuthUser;
use nolose_shared::error::ErrorBody;
use nolose_shared::http::ApiQuery;
use nolose_shared::store::{Contact, ContactId, MessageId, Stats};
use nolose_shared::{ApiError, AppState};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::paging::PageQuery;
use crate::views::{ContactRow, ContactView, ConversationRow, MessageRow, MessageView};

#[derive(Serialize, ToSchema)]
pub struct ContactsPage {
    pub contacts: Vec<ContactView>,
    /// All of the user's contacts, not the page size.
    pub total: u64,
}

#[utoipa::path(get, path = "/api/evolution/contacts", tag = "reads", security(("bearer" = [])),
    params(PageQuery), responses((status = 200, body = ContactsPage), (status = 422, body = ErrorBody)))]
pub async fn evolution_contacts(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<ContactsPage>, ApiError> {
    let page = q.page(100)?;
    let (contacts, total) = tokio::try_join!(
        state.store.contacts_page(user.id, page),
        state.store.count_contacts(user.id)
    )?;
    Ok(Json(ContactsPage {
        contacts: contacts.iter().map(ContactView::from).collect(),
        total,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct MessagesQuery {
    pub skip: Option<i64>,
    pub limit: Option<i64>,
    /// Keyset paging: only messages older than this message id.
    pub before: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ContactMessages {
    /// Newest first.
    pub messages: Vec<MessageView>,
    pub contact: ContactView,
}

#[utoipa::path(get, path = "/api/evolution/messages/{contact_id}", tag = "reads", security(("bearer" = [])),
    params(("contact_id" = i64, Path), MessagesQuery),
    responses((status = 200, body = ContactMessages), (status = 404, description = "contact_not_found", body = ErrorBody)))]
pub async fn evolution_messages(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(contact_id): Path<String>,
    ApiQuery(q): ApiQuery<MessagesQuery>,
) -> Result<Json<ContactMessages>, ApiError> {
    let page = PageQuery {
        skip: q.skip,
        limit: q.limit,
    }
    .page(50)?;
    let contact = owned_contact(&state, user.id, &contact_id).await?;
    let before = q.before.map(MessageId::new);
    let messages = state
        .store
        .messages_by_contact(user.id, contact.id, page, before)
        .await?;
    Ok(Json(ContactMessages {
        messages: messages.iter().map(MessageView::from).collect(),
        contact: ContactView::from(&contact),
    }))
}

/// The caller's contact with this id, or 404 `contact_not_found`.
pub async fn owned_contact(
    state: &AppState,
    user: nolose_shared::domain::UserId,
    raw_id: &str,
) -> Result<Contact, ApiError> {
    let not_found = || ApiError::NotFound {
        code: "contact_not_found",
        detail: "Contact not found".into(),
    };
    let id = raw_id.parse::<i64>().map_err(|_| not_found())?;
    state
        .store
        .contact_by_id(user, ContactId::new(id))
        .await?
        .ok_or_else(not_found)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct LegacyMessagesQuery {
    pub skip: Option<i64>,
    pub limit: Option<i64>,
    pub contact_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct MessageRows {
    pub messages: Vec<MessageRow>,
}

#[utoipa::path(get, path = "/api/messages", tag = "reads", security(("bearer" = [])),
    params(LegacyMessagesQuery), responses((status = 200, body = MessageRows), (status = 422, body = ErrorBody)))]
pub async fn messages(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiQuery(q): ApiQuery<LegacyMessagesQuery>,
) -> Result<Json<MessageRows>, ApiError> {
    let page = PageQuery {
        skip: q.skip,
        limit: q.limit,
    }
    .page(100)?;
    let list = state
        .store
        .messages_by_user(user.id, page, q.contact_id.map(ContactId::new))
        .await?;
    Ok(Json(MessageRows {
        messages: list.iter().map(MessageRow::from).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct ContactRows {
    pub contacts: Vec<ContactRow>,
}

#[utoipa::path(get, path = "/api/contacts", tag = "reads", security(("bearer" = [])),
    params(PageQuery), responses((status = 200, body = ContactRows), (status = 422, body = ErrorBody)))]
pub async fn contacts(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<ContactRows>, ApiError> {
    let list = state.store.contacts_page(user.id, q.page(100)?).await?;
    Ok(Json(ContactRows {
        contacts: list.iter().map(ContactRow::from).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct ConversationRows {
    pub conversations: Vec<ConversationRow>,
}

#[utoipa::path(get, path = "/api/conversations", tag = "reads", security(("bearer" = [])),
    params(PageQuery), responses((status = 200, body = ConversationRows), (status = 422, body = ErrorBody)))]
pub async fn conversations(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<ConversationRows>, ApiError> {
    let list = state
        .store
        .conversations_page(user.id, q.page(100)?)
        .await?;
    Ok(Json(ConversationRows {
        conversations: list.iter().map(ConversationRow::from).collect(),
    }))
}

#[utoipa::path(get, path = "/api/stats", tag = "reads", security(("bearer" = [])),
    responses((status = 200, body = Stats)))]
pub async fn stats(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Stats>, ApiError> {
    Ok(Json(state.store.stats(user.id).await?))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    evolution_contacts,
    evolution_messages,
    messages,
    contacts,
    conversations,
    stats
))]
pub struct ReadsApi;
