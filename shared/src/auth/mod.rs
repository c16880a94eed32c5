//! Authentication: argon2id password hashing ([`password`]), HS256 access
//! tokens ([`token`]) and the [`AuthUser`] extractor that turns a bearer token
//! into the caller's [`User`](crate::domain::User).

mod extractor;
pub mod password;
mod pool;
pub mod token;

pub use extractor::AuthUser;
pub use password::{HashError, PasswordHasher};
pub use token::TokenKeys;
