//! [`Stop`]: ending a run from another task — drained (no new address, those in flight
//! finished) or aborted (at once) — and the state the loop reads back.

/// The run starts no new address.
pub(super) const DRAIN: u8 = 1;
/// The run ends at once.
pub(super) const ABORT: u8 = 2;

/// Stops a running scan from another task (a signal handler): see
/// [`Scanner::run_until`](super::Scanner::run_until).
#[derive(Debug, Default)]
pub struct Stop {
    state: std::sync::atomic::AtomicU8,
    notify: tokio::sync::Notify,
}

impl Stop {
    /// Start no new address; finish those in flight.
    pub fn drain(&self) {
        self.raise(DRAIN);
    }

    /// End now; rows not yet complete are not written.
    pub fn abort(&self) {
        self.raise(ABORT);
    }

    /// Drain on the first call, abort on the second (what a second Ctrl-C means).
    pub fn escalate(&self) {
        let next = if self.state() == 0 { DRAIN } else { ABORT };
        self.raise(next);
    }

    fn raise(&self, to: u8) {
        self.state
            .fetch_max(to, std::sync::atomic::Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub(super) fn state(&self) -> u8 {
        self.state.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(super) async fn changed(&self) {
        self.notify.notified().await;
    }
}
