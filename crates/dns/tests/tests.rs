//! Integration tests of the DNS client: against the loopback test server with faults,
//! against the fixture network (ground truth), and against real Knot DNS and Unbound.

mod faults;
mod interop;
mod support;
mod truth;
