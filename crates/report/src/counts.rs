//! Counts of one group of rows (a prefix, a domain, everything): the one home of every
//! per-group number the summary, the report and the HTML page show.

use ptraudit_scan::{Fcrdns, FcrdnsReason, Row};

/// Counts of one group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Addresses.
    pub addresses: u64,
    /// With at least one PTR name.
    pub with_ptr: u64,
    /// FCrDNS pass.
    pub pass: u64,
    /// FCrDNS fail: the name's addresses do not include the address (or none was asked).
    pub fail_mismatch: u64,
    /// FCrDNS fail: the name has no A/AAAA.
    pub fail_nodata: u64,
    /// FCrDNS fail: the name does not exist.
    pub fail_nxdomain: u64,
    /// No PTR.
    pub no_ptr: u64,
    /// The PTR name looks generic.
    pub generic: u64,
    /// FCrDNS pass and a custom name: ready to send mail ([`Row::mail_ready`]).
    pub mail_ready: u64,
    /// temperror rows (SERVFAIL, REFUSED, TIMEOUT).
    pub errors: u64,
}

impl Counts {
    /// Counts one more row.
    pub fn add(&mut self, r: &Row) {
        self.addresses += 1;
        self.with_ptr += u64::from(!r.ptr_all.is_empty());
        match r.fcrdns {
            Fcrdns::Pass => self.pass += 1,
            Fcrdns::Fail => match r.fcrdns_reason {
                Some(FcrdnsReason::ForwardNodata) => self.fail_nodata += 1,
                Some(FcrdnsReason::ForwardNxdomain) => self.fail_nxdomain += 1,
                _ => self.fail_mismatch += 1,
            },
            Fcrdns::NoPtr => self.no_ptr += 1,
            Fcrdns::TempError => self.errors += 1,
        }
        self.generic += u64::from(r.generic == Some(true));
        self.mail_ready += u64::from(r.mail_ready());
    }

    /// FCrDNS failures of any reason.
    pub fn fail(&self) -> u64 {
        self.fail_mismatch + self.fail_nodata + self.fail_nxdomain
    }

    /// Percentage of the PTR names that look generic.
    pub fn generic_share(&self) -> f64 {
        100.0 * self.generic as f64 / self.with_ptr.max(1) as f64
    }

    /// Percentage of the addresses that pass FCrDNS.
    pub fn pass_share(&self) -> f64 {
        100.0 * self.pass as f64 / self.addresses.max(1) as f64
    }

    /// Share (0..=1) of the addresses that are mail-ready.
    pub fn mail_ready_share(&self) -> f64 {
        self.mail_ready as f64 / self.addresses.max(1) as f64
    }

    /// The hygiene score: the percentage of the addresses that were *decided* (not
    /// temperror) whose reverse DNS is forward-confirmed. An address without PTR counts
    /// against it (RFC 1912: every host should have one), as does every PTR that does
    /// not resolve back. 100 means every address has a PTR that leads back to it.
    pub fn score(&self) -> f64 {
        let decided = self.addresses - self.errors;
        if decided == 0 {
            return 0.0;
        }
        100.0 * self.pass as f64 / decided as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_definition() {
        let h = Counts {
            addresses: 10,
            pass: 6,
            errors: 2,
            ..Counts::default()
        };
        assert!((h.score() - 75.0).abs() < 1e-9);
        assert_eq!(Counts::default().score(), 0.0);
    }
}
