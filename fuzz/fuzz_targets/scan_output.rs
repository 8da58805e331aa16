//! Scan outputs others may have touched: the bytes as a CSV, a JSON lines and a Parquet
//! file, read by `report`'s reader. Oracle: no panic escapes; an error names the file.
#![no_main]

use std::sync::Once;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // libfuzzer-sys's panic hook aborts on every panic, even one caught: the reader runs
    // the parquet decoder under `catch_unwind` (it panics on some corrupt pages), and a
    // caught panic is the reader's error path, not a crash. This hook only prints; a
    // panic that escapes the reader still aborts (libfuzzer-sys catches it and aborts).
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| eprintln!("panic (caught or not): {info}")));
    });
    let dir = std::env::temp_dir().join(format!("ptraudit-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    for ext in ["csv", "jsonl", "parquet"] {
        let path = dir.join(format!("input.{ext}"));
        std::fs::write(&path, data).unwrap();
        if let Err(e) = ptraudit_report::read_rows(&path) {
            assert!(e.to_string().contains("input."), "{e}");
        }
    }
});
