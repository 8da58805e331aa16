//! What an accepted reply does to its query: an answer ends it (or a SERVFAIL or
//! REFUSED is retried), a truncated one moves it to TCP. Matching a datagram to its
//! query is the state machine's (`Core::handle_datagram`); reading it is `wire`'s.

use std::time::{Duration, Instant};

use rand::RngExt;

use super::health::Health;
use super::in_flight::{Phase, QUARANTINE_ANSWERED};
use super::wire::{Reply, encode_query};
use super::{Core, TcpRequest, TcpToken};
use crate::outcome::{Outcome, Status, interpret};

impl Core {
    pub(super) fn accept(
        &mut self,
        now: Instant,
        slot: u32,
        resolver: u16,
        rtt: Duration,
        reply: Reply,
        via_tcp: bool,
    ) {
        let lookup = self.slots.get(slot as usize).expect("live lookup");
        let (status, records) = interpret(
            reply.rcode,
            lookup.query.name(),
            lookup.query.query_type(),
            reply.answers,
        );
        let zone = reply
            .zone
            .map(|owner| owner.unwrap_or_else(|| lookup.query.name().clone()));
        let attempts = lookup.attempts;
        if !via_tcp {
            self.on_answer(now, resolver, rtt);
        }
        let transient = matches!(status, Status::ServFail | Status::Refused);
        if transient {
            self.per_resolver[resolver as usize].refused_or_servfail += 1;
            self.note_failure(now, resolver);
        } else {
            self.health[resolver as usize] = Health::default();
            self.per_resolver[resolver as usize].answered += 1;
        }
        let outcome = Outcome {
            status,
            records,
            attempts,
            resolver: Some(self.config.resolvers[resolver as usize]),
            rtt: Some(rtt),
            via_tcp,
            referral: reply.referral,
            zone,
        };
        if transient && self.config.retry_servfail && attempts < self.config.attempts {
            // The failed exchange is over: its IDs go to quarantine, the retry gets new ones.
            self.release_ids(slot, QUARANTINE_ANSWERED, now);
            self.retry_or_finish(now, slot, Some(outcome));
        } else {
            self.finish(now, slot, outcome, QUARANTINE_ANSWERED);
        }
    }

    pub(super) fn start_tcp(&mut self, now: Instant, slot: u32, resolver: u16) {
        self.stats.tcp_fallbacks += 1;
        self.release_ids(slot, QUARANTINE_ANSWERED, now);
        let generation = self.bump_generation(slot);
        let id: u16 = self.rng.random();
        self.leave_udp(slot);
        let lookup = self.slots.get_mut(slot as usize).expect("live lookup");
        lookup.phase = Phase::Tcp {
            resolver,
            started: now,
        };
        let mut message = Vec::with_capacity(64);
        // Over TCP the payload limit does not apply, but keep EDNS so the server treats
        // the query the same way.
        encode_query(
            &mut message,
            id,
            &lookup.wire,
            self.config.recursion_desired,
            self.config.edns_payload,
            self.config.padding_block,
        );
        self.tcp_queue.push_back(TcpRequest {
            token: TcpToken {
                slot,
                generation,
                id,
            },
            dest: self.config.resolvers[resolver as usize],
            message,
        });
        self.timers
            .push(now, self.config.tcp_timeout, slot, generation);
    }
}
