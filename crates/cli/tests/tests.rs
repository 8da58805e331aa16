//! The `ptraudit` binary end to end, against the bundled test server: one module per
//! command (signals and checkpoints of `scan` have their own), shared helpers in `util`.

mod check;
mod checkpoint;
mod classify;
mod demo;
mod dnsbl;
mod hostile;
mod install;
mod interrupt;
mod report;
mod scan;
mod shards;
mod util;
mod walk;
