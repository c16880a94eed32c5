//! PostgreSQL: the user's Evolution instance, saved with optimistic
//! concurrency (`version`) because QR and connection webhooks race.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PgStore;
use super::errors::map_err;
use crate::domain::{InstanceName, UserId};
use crate::store::{ConnectionStatus, Instance, InstanceStore, StoreError, StoreResult};

#[derive(sqlx::FromRow)]
struct InstanceRow {
    user_id: i64,
    name: String,
    webhook_secret: String,
    status: String,
    phone_number: Option<String>,
    profile_name: Option<String>,
    qr_code: Option<String>,
    qr_updated_at: Option<DateTime<Utc>>,
    pairing_code: Option<String>,
    last_connected_at: Option<DateTime<Utc>>,
    chats_count: Option<i64>,
    created_at: DateTime<Utc>,
    version: i64,
}

impl InstanceRow {
    fn into_instance(self) -> StoreResult<Instance> {
        let name = InstanceName::parse(&self.name).ok_or_else(|| {
            StoreError::Backend(anyhow::anyhow!("stored instance name {:?}", self.name))
        })?;
        Ok(Instance {
            user_id: UserId::new(self.user_id),
            name,
            webhook_secret: self.webhook_secret,
            status: ConnectionStatus::from_db(&self.status),
            phone_number: self.phone_number,
            profile_name: self.profile_name,
            qr_code: self.qr_code,
            qr_updated_at: self.qr_updated_at,
            pairing_code: self.pairing_code,
            last_connected_at: self.last_connected_at,
            chats_count: self.chats_count,
            created_at: self.created_at,
            version: self.version,
        })
    }
}

/// The columns of an `InstanceRow`, as a literal so statements stay static.
macro_rules! columns {
    () => {
        "user_id, name, webhook_secret, status, phone_number, profile_name, qr_code, \
         qr_updated_at, pairing_code, last_connected_at, chats_count, created_at, version"
    };
}

#[async_trait]
impl InstanceStore for PgStore {
    /// One statement whether the row is new or not: the no-op update on
    /// conflict locks and returns the stored row, secret included, even when
    /// a concurrent create committed after this statement began.
    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn create_instance(
        &self,
        user: UserId,
        name: &InstanceName,
        webhook_secret: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Instance> {
        let sql = concat!(
            "INSERT INTO instances AS i (user_id, name, webhook_secret, created_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id) DO UPDATE SET user_id = i.user_id
             RETURNING ",
            columns!()
        );
        self.run(move || async move {
            let row: InstanceRow = sqlx::query_as(sql)
                .bind(user.get())
                .bind(name.as_str())
                .bind(webhook_secret)
                .bind(now)
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)?;
            row.into_instance()
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn instance_by_user(&self, user: UserId) -> StoreResult<Option<Instance>> {
        let sql = concat!("SELECT ", columns!(), " FROM instances WHERE user_id = $1");
        self.run(move || async move {
            let row: Option<InstanceRow> = sqlx::query_as(sql)
                .bind(user.get())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
            row.map(InstanceRow::into_instance).transpose()
        })
        .await
    }

    /// A compare-and-set on `version`: of concurrent saves from one read the
    /// first to lock the row wins, and the others re-check the condition
    /// against its new version and match nothing.
    #[tracing::instrument(skip_all, fields(user_id = %instance.user_id))]
    async fn save_instance(&self, instance: &Instance) -> StoreResult<Instance> {
        let sql = concat!(
            "UPDATE instances SET status = $3, phone_number = $4, profile_name = $5,
                 qr_code = $6, qr_updated_at = $7, pairing_code = $8,
                 last_connected_at = $9, chats_count = $10, version = version + 1
             WHERE user_id = $1 AND version = $2
             RETURNING ",
            columns!()
        );
        self.run(move || async move {
            let row: Option<InstanceRow> = sqlx::query_as(sql)
                .bind(instance.user_id.get())
                .bind(instance.version)
                .bind(instance.status.as_str())
                .bind(&instance.phone_number)
                .bind(&instance.profile_name)
                .bind(&instance.qr_code)
                .bind(instance.qr_updated_at)
                .bind(&instance.pairing_code)
                .bind(instance.last_connected_at)
                .bind(instance.chats_count)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
            match row {
                Some(row) => row.into_instance(),
                None => Err(self.why_not_saved(instance.user_id).await),
            }
        })
        .await
    }
}

impl PgStore {
    /// Only on the failure path: a missing row is `NotFound`, a moved
    /// version is `Conflict`.
    async fn why_not_saved(&self, user: UserId) -> StoreError {
        let exists =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM instances WHERE user_id = $1)")
                .bind(user.get())
                .fetch_one(&self.pool)
                .await;
        match exists {
            Ok(true) => StoreError::Conflict,
            Ok(false) => StoreError::NotFound,
            Err(e) => map_err(e),
        }
    }
}
