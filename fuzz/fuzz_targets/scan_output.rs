//! Scan outputs others may have touched: the bytes as a CSV, a JSON lines and a Parquet
//! file, read by `report`'s reader. Oracle: no panic; an error names the file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
