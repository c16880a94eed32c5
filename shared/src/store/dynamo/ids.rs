//! Row ids for the DynamoDB store.
//!
//! DynamoDB has no sequence, and a counter item would be one hot key every
//! writer fights over. An id is instead the moment it was minted plus random
//! bits; the item that carries it is written with `attribute_not_exists(PK)`,
//! so the rare collision is refused and the writer retries with a fresh id
//! rather than overwriting someone else's row.
//!
//! Layout: milliseconds since 2024-01-01T00:00:00Z × 4096 + a random 12-bit
//! suffix. The API's ids are JSON numbers, so they must stay ≤ 2^53 − 1:
//! 41 bits of milliseconds last until 2093. Ids also sort roughly by creation
//! time, which keeps them readable in logs.

use chrono::{DateTime, Utc};

/// 2024-01-01T00:00:00Z in Unix milliseconds.
const EPOCH_MS: i64 = 1_704_067_200_000;
const SUFFIX_BITS: u32 = 12;
const SUFFIX_MASK: i64 = (1 << SUFFIX_BITS) - 1;

/// The largest integer a JSON number (an IEEE double) holds exactly.
pub const MAX_ID: i64 = (1 << 53) - 1;

/// How many fresh ids a writer tries before giving up: the one retry limit
/// ([`super::retry`]). Two collisions in a row already need two writers in
/// the same millisecond drawing the same 12 bits twice; more means the clock
/// or the generator is broken.
pub const MAX_ATTEMPTS: usize = super::retry::MAX_ATTEMPTS;

/// A fresh id for an item written now.
pub fn mint() -> i64 {
    compose(Utc::now(), rand::random::<u16>())
}

/// The id for `at` with the low 12 bits of `suffix`. Never 0 or negative
/// (a clock before the epoch counts as its first millisecond) and never past
/// [`MAX_ID`] (a clock past 2093 saturates; collisions then retry).
fn compose(at: DateTime<Utc>, suffix: u16) -> i64 {
    let ms = at
        .timestamp_millis()
        .saturating_sub(EPOCH_MS)
        .clamp(1, MAX_ID >> SUFFIX_BITS);
    (ms << SUFFIX_BITS) | (i64::from(suffix) & SUFFIX_MASK)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(y: i32, mo: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, 0, 0, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn ids_are_positive_and_json_safe_across_the_clock_range() {
        let cases = [
            ("before the epoch", at(2000, 1, 1), u16::MAX),
            ("at the epoch", at(2024, 1, 1), 0),
            ("today", at(2026, 11, 21), 0xabc),
            ("far future", at(2200, 1, 1), u16::MAX),
        ];
        for (case, when, suffix) in cases {
            let id = compose(when, suffix);
            assert!(id > 0 && id <= MAX_ID, "{case}: id {id} out of range");
        }
    }

    #[test]
    fn the_suffix_fills_the_low_twelve_bits_only() {
        let base = compose(at(2026, 11, 21), 0);
        assert_eq!(compose(at(2026, 11, 21), 0xfff) - base, 0xfff);
        assert_eq!(
            compose(at(2026, 11, 21), 0x1001),
            base + 1,
            "bits above 12 are dropped"
        );
    }

    #[test]
    fn later_ids_sort_after_earlier_ones() {
        let (a, b) = (compose(at(2026, 1, 1), 0xfff), compose(at(2026, 1, 2), 0));
        assert!(a < b, "{a} should sort before {b}");
        assert!(compose(at(2093, 1, 1), 0) < MAX_ID, "still room in 2093");
    }

    #[test]
    fn minted_ids_are_in_range() {
        let id = mint();
        assert!(id > 0 && id <= MAX_ID);
    }
}
