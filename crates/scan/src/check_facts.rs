//! What a [`Check`] of one address shows beyond its row, for the walkthrough a person
//! reads (`ptraudit check`): the PTR question asked, and which PTR names do not lead
//! back to the address.

use ptraudit_dns::{RecordType, reverse_name_string};

use crate::{Check, Status};

impl Check {
    /// The name the PTR lookup asks (`7.0.18.198.in-addr.arpa.`, with the final dot).
    pub fn ptr_question(&self) -> String {
        reverse_name_string(self.row.ip)
    }

    /// The PTR names whose forward lookup of the address's family definitely does not
    /// lead back (what makes a row `multi-ptr-unconfirmed`), in `ptr_all` order.
    pub fn stale_names(&self) -> Vec<&str> {
        let ip = self.row.ip;
        let matching = if ip.is_ipv4() {
            RecordType::A
        } else {
            RecordType::AAAA
        };
        self.forward
            .iter()
            .filter(|f| {
                f.rtype == matching
                    && !f.addrs.contains(&ip)
                    && matches!(f.status, Status::Answer | Status::NoData | Status::NxDomain)
            })
            .map(|f| f.name.as_str())
            .collect()
    }
}
