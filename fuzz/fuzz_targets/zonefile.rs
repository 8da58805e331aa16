//! Zone-file text (the test server's loader). Oracle: no panic; a parsed zone parses the
//! same way twice.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ptraudit_testdns::parse_zone;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let origin = ptraudit_dns::Name::from_ascii("zone.test.").unwrap();
    let first = parse_zone(text, &origin);
    if let Ok(records) = &first {
        assert_eq!(parse_zone(text, &origin).ok().as_ref(), Some(records));
    }
});
