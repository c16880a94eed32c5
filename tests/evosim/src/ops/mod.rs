//! Things that happen on the WhatsApp side of Evolution — QRs, scans, drops,
//! incoming messages, receipts, revokes, history — shared by the emulated API,
//! the HTTP control API and the in-process [`crate::EvoSim`] handle.

pub mod connection;
pub mod content;
pub mod inbound;
pub mod qr;
pub mod receipts;
pub mod seed;
pub mod store_ops;
