//! Integration tests of the scan engine: the fixture network through the test server,
//! Knot DNS and Unbound against its ground truth, and shards against the whole.

mod dnsbl;
mod faults;
mod fixture;
mod hostile;
mod rate;
mod shards;
mod verdicts;
mod walk;
