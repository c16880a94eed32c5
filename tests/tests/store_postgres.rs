//! The store conformance suite against PostgreSQL, a fresh database per case.

nolose_shared::store_conformance!(nolose_tests::pg::fresh_store());
