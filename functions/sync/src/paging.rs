//! `skip` ≥ 0 and `limit` 1..=500 on every list (API.md), else 422 naming
//! the parameter. Parsed as wide integers so that `-1` is a range error with
//! a clear detail rather than a type error.

use nolose_shared::ApiError;
use nolose_shared::store::Page;
use serde::Deserialize;

pub const MAX_LIMIT: i64 = 500;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// Rows to skip (≥ 0).
    pub skip: Option<i64>,
    /// Rows to return (1..=500).
    pub limit: Option<i64>,
}

impl PageQuery {
    pub fn page(&self, default_limit: u32) -> Result<Page, ApiError> {
        let skip = self.skip.unwrap_or(0);
        let limit = self.limit.unwrap_or(i64::from(default_limit));
        if !(0..=i64::from(u32::MAX)).contains(&skip) {
            return Err(ApiError::validation("skip: must be 0 or more"));
        }
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::validation(format!(
                "limit: must be between 1 and {MAX_LIMIT}"
            )));
        }
        Ok(Page {
            skip: skip as u32,
            limit: limit as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_validated() {
        let q = |skip, limit| PageQuery { skip, limit }.page(50);
        assert_eq!(
            q(None, None).ok(),
            Some(Page { skip: 0, limit: 50 }),
            "defaults"
        );
        assert_eq!(
            q(Some(3), Some(500)).ok(),
            Some(Page {
                skip: 3,
                limit: 500
            })
        );
        for (skip, limit) in [
            (Some(-1), None),
            (None, Some(0)),
            (None, Some(501)),
            (None, Some(-5)),
        ] {
            assert!(
                q(skip, limit).is_err(),
                "case skip={skip:?} limit={limit:?}"
            );
        }
    }
}
