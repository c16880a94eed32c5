use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PgStore;
use super::errors::map_err;
use crate::domain::{Email, User, UserCredentials, UserId, UserName};
use crate::store::{NewUser, StoreError, StoreResult, UserStore};

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    email: String,
    name: String,
    is_active: bool,
    created_at: DateTime<Utc>,
    password_hash: String,
}

impl UserRow {
    fn into_user(self) -> User {
        User {
            id: UserId::new(self.id),
            email: Email::normalise(&self.email),
            name: self.name,
            is_active: self.is_active,
            created_at: self.created_at,
        }
    }
}

/// The columns of a `UserRow`, as a literal so statements stay static
/// strings (sqlx 0.9 refuses SQL built at run time).
macro_rules! columns {
    () => {
        "id, email, name, is_active, created_at, password_hash"
    };
}

#[async_trait]
impl UserStore for PgStore {
    #[tracing::instrument(skip_all)]
    async fn create_user(&self, new: NewUser) -> StoreResult<User> {
        let sql = concat!(
            "INSERT INTO users (email, name, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING ",
            columns!()
        );
        let new = &new;
        self.run(move || async move {
            let row: UserRow = sqlx::query_as(sql)
                .bind(new.email.as_str())
                .bind(new.name.as_str())
                .bind(&new.password_hash)
                .bind(new.created_at)
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)?;
            Ok(row.into_user())
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<UserCredentials>> {
        let sql = concat!("SELECT ", columns!(), " FROM users WHERE email = $1");
        let row: Option<UserRow> = self
            .run(move || async move {
                sqlx::query_as(sql)
                    .bind(email.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)
            })
            .await?;
        Ok(row.map(|r| {
            let password_hash = r.password_hash.clone();
            UserCredentials {
                user: r.into_user(),
                password_hash,
            }
        }))
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        let sql = concat!("SELECT ", columns!(), " FROM users WHERE id = $1");
        let row: Option<UserRow> = self
            .run(move || async move {
                sqlx::query_as(sql)
                    .bind(id.get())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)
            })
            .await?;
        Ok(row.map(UserRow::into_user))
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn rename_user(&self, id: UserId, name: &UserName) -> StoreResult<User> {
        let sql = concat!(
            "UPDATE users SET name = $2 WHERE id = $1 RETURNING ",
            columns!()
        );
        self.run(move || self.update_one(sqlx::query_as(sql).bind(id.get()).bind(name.as_str())))
            .await
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn set_user_active(&self, id: UserId, active: bool) -> StoreResult<User> {
        let sql = concat!(
            "UPDATE users SET is_active = $2 WHERE id = $1 RETURNING ",
            columns!()
        );
        self.run(move || self.update_one(sqlx::query_as(sql).bind(id.get()).bind(active)))
            .await
    }
}

impl PgStore {
    async fn update_one(
        &self,
        query: sqlx::query::QueryAs<'_, sqlx::Postgres, UserRow, sqlx::postgres::PgArguments>,
    ) -> StoreResult<User> {
        let row = query.fetch_optional(&self.pool).await.map_err(map_err)?;
        row.map(UserRow::into_user).ok_or(StoreError::NotFound)
    }
}
