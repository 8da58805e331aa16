//! Rules-file text. Oracle: no panic; rules that parse classify any name without
//! panicking (their patterns on hostile names included).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ptraudit_classify::{Rules, classify_with};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rules) = Rules::parse(text) {
        for name in ["mail.example.test", "198-18-0-7.dyn.example.test", text] {
            let _ = classify_with(&rules, "198.18.0.7".parse().ok(), name);
        }
    }
});
