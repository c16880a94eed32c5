//! The store conformance suite against the DynamoDB adapter, each case on a
//! fresh table of the template's definition (moto, via `scripts/test`).

nolose_shared::store_conformance!(async { (nolose_tests::dynamo::fresh_store().await, ()) });
