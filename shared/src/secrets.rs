//! Webhook secrets by user, remembered in memory. A secret is generated
//! once with its instance row and never changes, and instance rows are never
//! deleted, so a remembered secret cannot go stale: the webhook checks its
//! caller without a store round trip (ARCHITECTURE.md allows the cache).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::domain::UserId;

/// Bounded: past this many users the map starts over (a re-read costs one
/// `GetItem`/`SELECT`), so memory stays flat whatever the tenant count.
const CAPACITY: usize = 10_000;

#[derive(Debug, Default)]
pub struct SecretCache(Mutex<HashMap<UserId, Arc<str>>>);

impl SecretCache {
    pub fn get(&self, user: UserId) -> Option<Arc<str>> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&user)
            .cloned()
    }

    pub fn remember(&self, user: UserId, secret: &str) -> Arc<str> {
        let secret: Arc<str> = Arc::from(secret);
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(user, Arc::clone(&secret));
        secret
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_per_user_and_stays_bounded() {
        let cache = SecretCache::default();
        cache.remember(UserId::new(1), "a");
        assert_eq!(cache.get(UserId::new(1)).as_deref(), Some("a"));
        assert_eq!(cache.get(UserId::new(2)), None);
        for n in 0..(CAPACITY as i64 + 5) {
            cache.remember(UserId::new(n), "x");
        }
        assert!(cache.0.lock().expect("lock").len() <= CAPACITY);
    }
}
