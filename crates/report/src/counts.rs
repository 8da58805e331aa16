//! Counts of one group of rows (a prefix, a domain, everything): the one home of every
//! per-group number the summary, the report and the HTML page show.

use std::net::IpAddr;

use ptraudit_scan::dnsbl::{Listing, ListingKind, listing_kind};
use ptraudit_scan::{Fcrdns, FcrdnsReason, Row};

/// What the counts (and the report's maps) need of a row: the fields a report reads,
/// borrowed. Built from a [`Row`], or straight from a Parquet part's columns without
/// building one (the report's fast path).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Facts<'a> {
    pub(crate) ip: IpAddr,
    /// The PTR name (for `--by domain`).
    pub(crate) ptr: Option<&'a str>,
    /// `ptr_all` is not empty.
    pub(crate) has_ptr: bool,
    pub(crate) fcrdns: Fcrdns,
    pub(crate) reason: Option<FcrdnsReason>,
    pub(crate) generic: Option<bool>,
    pub(crate) dnsbl: &'a [Listing],
    pub(crate) dnsbl_listed: Option<bool>,
}

impl<'a> Facts<'a> {
    pub(crate) fn of(r: &'a Row) -> Self {
        Facts {
            ip: r.ip,
            ptr: r.ptr.as_deref(),
            has_ptr: !r.ptr_all.is_empty(),
            fcrdns: r.fcrdns,
            reason: r.fcrdns_reason,
            generic: r.generic,
            dnsbl: &r.dnsbl,
            dnsbl_listed: r.dnsbl_listed,
        }
    }

    /// [`Row::mail_ready`].
    pub(crate) fn mail_ready(&self) -> bool {
        ptraudit_scan::mail_ready(self.fcrdns, self.reason, self.generic)
    }
}

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
    /// FCrDNS pass, but another PTR name does not lead back
    /// ([`FcrdnsReason::MultiPtrUnconfirmed`]; counted in `pass` too, never in
    /// `mail_ready`).
    pub multi_ptr_unconfirmed: u64,
    /// temperror rows (SERVFAIL, REFUSED, TIMEOUT).
    pub errors: u64,
    /// Addresses whose DNSBL status is known (`dnsbl_listed` not empty).
    pub dnsbl_checked: u64,
    /// Addresses on at least one DNSBL.
    pub listed: u64,
    /// Addresses with an SBL listing (SBL, CSS, DROP).
    pub listed_sbl: u64,
    /// Addresses with an XBL listing.
    pub listed_xbl: u64,
    /// Addresses with a PBL listing.
    pub listed_pbl: u64,
    /// Addresses with a listing of another kind (other lists, undocumented codes).
    pub listed_other: u64,
}

impl Counts {
    /// Counts one more row.
    pub fn add(&mut self, r: &Row) {
        self.add_facts(&Facts::of(r));
    }

    /// Counts one more row, from its facts.
    #[inline]
    pub(crate) fn add_facts(&mut self, r: &Facts<'_>) {
        self.addresses += 1;
        self.with_ptr += u64::from(r.has_ptr);
        match r.fcrdns {
            Fcrdns::Pass => self.pass += 1,
            Fcrdns::Fail => match r.reason {
                Some(FcrdnsReason::ForwardNodata) => self.fail_nodata += 1,
                Some(FcrdnsReason::ForwardNxdomain) => self.fail_nxdomain += 1,
                _ => self.fail_mismatch += 1,
            },
            Fcrdns::NoPtr => self.no_ptr += 1,
            Fcrdns::TempError => self.errors += 1,
        }
        self.generic += u64::from(r.generic == Some(true));
        self.mail_ready += u64::from(r.mail_ready());
        self.multi_ptr_unconfirmed +=
            u64::from(r.reason == Some(FcrdnsReason::MultiPtrUnconfirmed));
        self.dnsbl_checked += u64::from(r.dnsbl_listed.is_some());
        if r.dnsbl_listed == Some(true) || !r.dnsbl.is_empty() {
            self.listed += 1;
            // [SBL, XBL, PBL, other]: an address counts once per kind.
            let mut kinds = [false; 4];
            for l in r.dnsbl {
                let k = match listing_kind(&l.list, l.code) {
                    ListingKind::Sbl => 0,
                    ListingKind::Xbl => 1,
                    ListingKind::Pbl => 2,
                    _ => 3,
                };
                kinds[k] = true;
            }
            self.listed_sbl += u64::from(kinds[0]);
            self.listed_xbl += u64::from(kinds[1]);
            self.listed_pbl += u64::from(kinds[2]);
            self.listed_other += u64::from(kinds[3]);
        }
    }

    /// Percentage of the addresses checked against DNSBLs that are listed.
    pub fn listed_share(&self) -> f64 {
        100.0 * self.listed as f64 / self.dnsbl_checked.max(1) as f64
    }

    /// True when some address was checked against DNSBLs (the report then shows the
    /// listing columns).
    pub fn dnsbl(&self) -> bool {
        self.dnsbl_checked > 0 || self.listed > 0
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

    #[test]
    fn listings_count_once_per_address_and_once_per_kind() {
        let mut row = crate::schema::reference::row("198.18.0.7", true, 0);
        // spamhaus-zen .4 (XBL) and .10 (PBL), and a plain list's .2 (other).
        let mut c = Counts::default();
        c.add(&row);
        row.dnsbl = vec![
            "spamhaus-zen=127.0.0.10".parse().unwrap(),
            "spamhaus-zen=127.0.0.11".parse().unwrap(),
        ];
        c.add(&row);
        row.dnsbl.clear();
        row.dnsbl_listed = Some(false);
        c.add(&row);
        row.dnsbl_listed = None;
        c.add(&row);
        assert_eq!((c.dnsbl_checked, c.listed), (3, 2));
        assert_eq!(
            (c.listed_sbl, c.listed_xbl, c.listed_pbl, c.listed_other),
            (0, 1, 2, 1)
        );
        assert!((c.listed_share() - 200.0 / 3.0).abs() < 1e-9);
        assert!(c.dnsbl() && !Counts::default().dnsbl());
    }

    /// Issue 17: a pass with a stale second PTR is counted as a pass and as
    /// `multi_ptr_unconfirmed`, and is not mail-ready.
    #[test]
    fn a_flagged_pass_counts_as_pass_not_as_mail_ready() {
        let mut row = crate::schema::reference::row("198.18.0.7", true, 0);
        row.fcrdns = Fcrdns::Pass;
        row.fcrdns_reason = None;
        row.generic = Some(false);
        let mut c = Counts::default();
        c.add(&row);
        row.fcrdns_reason = Some(FcrdnsReason::MultiPtrUnconfirmed);
        c.add(&row);
        assert_eq!((c.pass, c.mail_ready, c.multi_ptr_unconfirmed), (2, 1, 1));
    }
}
