//! Integration tests of the test server: the walk fixtures through our server, Knot and
//! Unbound; the proxy mode in front of our server.

mod proxy;
mod support;
mod walk;
