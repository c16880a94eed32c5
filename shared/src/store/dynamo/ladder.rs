//! The status ladder ([`MessageStatus::advance`]) as DynamoDB conditions:
//! the statuses an update moves forward, so that `status IN (...)` applies
//! the ladder in the write itself, with no read-modify-write race.

use crate::domain::MessageStatus;

/// Every status, for the conditions that name those an update may move.
const STATUSES: [MessageStatus; 8] = [
    MessageStatus::Received,
    MessageStatus::Pending,
    MessageStatus::Sent,
    MessageStatus::Delivered,
    MessageStatus::Read,
    MessageStatus::Played,
    MessageStatus::Failed,
    MessageStatus::Deleted,
];

/// The statuses `update` moves forward under the rules of its direction.
pub(super) fn advanced_by(update: MessageStatus, inbound: bool) -> Vec<MessageStatus> {
    STATUSES
        .into_iter()
        .filter(|s| s.advance(update, inbound) == Some(update))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use MessageStatus::*;

    #[test]
    fn an_update_moves_exactly_the_statuses_below_it_on_its_ladder() {
        let cases = [
            (Read, true, vec![Received, Pending, Sent, Delivered]),
            (Delivered, true, vec![]),
            (Delivered, false, vec![Pending, Sent]),
            (
                Deleted,
                false,
                vec![Received, Pending, Sent, Delivered, Read, Played],
            ),
            (Failed, true, vec![]),
        ];
        for (update, inbound, want) in cases {
            assert_eq!(
                advanced_by(update, inbound),
                want,
                "case {update:?} inbound={inbound}"
            );
        }
    }
}
