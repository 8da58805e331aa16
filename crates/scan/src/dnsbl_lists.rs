//! The blocklists of a run, chosen from `--dnsbl` values: each parsed, none given twice
//! (by zone, or by the name its rows report), at most [`MAX_LISTS`].

use crate::MAX_LISTS;
use crate::dnsbl::{Dnsbl, DnsblError};

/// `--dnsbl` values that do not make a set of lists.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DnsblListsError {
    /// More than [`MAX_LISTS`] values.
    #[error("--dnsbl is given {0} times: at most {MAX_LISTS} lists")]
    TooMany(usize),
    /// A value that is not a list.
    #[error(transparent)]
    Invalid(#[from] DnsblError),
    /// A zone given twice.
    #[error("--dnsbl {0:?} is given twice")]
    Twice(String),
    /// Two lists that would report under one name.
    #[error("--dnsbl {spec:?}: another list already reports as {name:?}")]
    SameName {
        /// The value given.
        spec: String,
        /// The name both would report as.
        name: String,
    },
}

/// The lists `specs` name, checked: exit-worthy errors name a bad value, a repeated
/// list, or too many.
pub fn dnsbl_lists(specs: &[String]) -> Result<Vec<Dnsbl>, DnsblListsError> {
    if specs.len() > MAX_LISTS {
        return Err(DnsblListsError::TooMany(specs.len()));
    }
    let mut out: Vec<Dnsbl> = Vec::new();
    for spec in specs {
        let list: Dnsbl = spec.trim().parse()?;
        if out.iter().any(|l| l.zone == list.zone) {
            return Err(DnsblListsError::Twice(spec.clone()));
        }
        if out.iter().any(|l| l.name == list.name) {
            return Err(DnsblListsError::SameName {
                spec: spec.clone(),
                name: list.name,
            });
        }
        out.push(list);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_given_twice_or_too_many_lists_are_refused() {
        let specs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            dnsbl_lists(&specs(&["spamcop", " psbl "])).unwrap().len(),
            2
        );
        let twice = dnsbl_lists(&specs(&["spamcop", "spamcop"])).unwrap_err();
        assert_eq!(twice.to_string(), r#"--dnsbl "spamcop" is given twice"#);
        let many = vec!["spamcop".to_string(); MAX_LISTS + 1];
        assert!(matches!(
            dnsbl_lists(&many),
            Err(DnsblListsError::TooMany(n)) if n == MAX_LISTS + 1
        ));
        assert!(matches!(
            dnsbl_lists(&specs(&["x"])),
            Err(DnsblListsError::Invalid(_))
        ));
    }
}
