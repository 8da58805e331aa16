//! `ptraudit-report`: where rows go. Implements the scan engine's
//! [`Sink`](ptraudit_scan::Sink) for
//!
//! - [`CsvSink`] — one CSV line per address, columns
//!   [`COLUMNS`](ptraudit_scan::COLUMNS) in order, written as rows
//!   complete and flushed regularly;
//! - [`ParquetSink`] — typed columns (lists as `List<Utf8>`, `generic` a nullable boolean,
//!   integers, `scanned_at` a UTC timestamp, plus `ip_version`), zstd, streamed in row
//!   groups;
//! - [`JsonlSink`] — one JSON object per address, lists as arrays, `null` where absent;
//! - [`Writer`] — any of the three to a file or stdout; [`read_rows`] and
//!   [`for_each_row`] read any back;
//! - [`Summary`] — [`Counts`] per prefix as rows stream by (the ISP's hygiene report),
//!   as CSV or a short text table;
//! - [`Report`] — scan outputs aggregated per prefix or PTR domain with a hygiene score,
//!   as CSV, a text table, or one self-contained HTML page ([`render_html`]) with a
//!   Hilbert-curve map of the address space (a /24 overview for large scans); memory
//!   bounded by the address space ([`Report::add_file`] reads Parquet parts column by column);
//! - [`Checkpointed`] — resumable outputs: journals plus a [`CheckpointFile`];
//! - [`AtomicFile`] — a file that appears under its final name only when complete
//!   (written as `NAME.partial`, renamed by [`AtomicFile::commit`]).
//!
//! Every writer renders a row through one mapping of the row to its columns (the
//! crate's `schema` module), and every text rendering (addresses, prefixes, RFC 3339
//! times) has one home (`text`): the formats cannot drift apart.
//!
//! # Example
//!
//! ```
//! use ptraudit_report::{CsvSink, Summary};
//! use ptraudit_scan::{Fcrdns, PrefixLens, Row, Sink, Status};
//!
//! let ip = "198.18.0.7".parse().unwrap();
//! let row = Row {
//!     ip,
//!     prefix: PrefixLens::DEFAULT.of(ip),
//!     ptr_status: Status::Answer,
//!     ptr: Some("mail.example.test".into()),
//!     ptr_all: vec!["mail.example.test".into()],
//!     cname_chain: vec![],
//!     forward_addrs: vec!["198.18.0.7".parse().unwrap()],
//!     fcrdns: Fcrdns::Pass,
//!     fcrdns_reason: None,
//!     generic: Some(false),
//!     generic_reasons: vec!["service-label:mail".into()],
//!     resolver: Some("127.0.0.1:53".parse().unwrap()),
//!     attempts: 2,
//!     rtt_ms: Some(0),
//!     scanned_at: std::time::SystemTime::UNIX_EPOCH,
//!     dnsbl: vec!["spamhaus-zen=127.0.0.10".parse().unwrap()],
//!     dnsbl_listed: Some(true),
//! };
//! let mut csv = CsvSink::new(Vec::new()).unwrap();
//! let mut summary = Summary::default();
//! csv.row(&row).unwrap();
//! summary.row(&row).unwrap();
//! let text = String::from_utf8(csv.into_inner().unwrap()).unwrap();
//! assert!(text.starts_with("ip,prefix,ptr_status,"));
//! assert!(text.contains("198.18.0.7,198.18.0.0/24,NOERROR,mail.example.test,"));
//! assert!(text.trim_end().ends_with(",spamhaus-zen=127.0.0.10,true"));
//! assert_eq!(summary.totals().mail_ready, 1);
//! ```

#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod counts;
mod csv_sink;
mod dataset;
mod file;
mod html;
mod hygiene;
mod journal;
mod jsonl;
mod names;
mod output;
mod parquet_sink;
mod read;
mod schema;
mod summary;
mod text;
mod walk_notes;
mod walkthrough;
mod writer;

pub use crate::counts::Counts;
pub use crate::csv_sink::CsvSink;
pub use crate::dataset::{
    DatasetError, ENDED_AT_KEY, OPTIONS_KEY, PartOrigin, RESOLVERS_KEY, SCAN_ID_KEY, SCHEMA_KEY,
    SHARD_KEY, STARTED_AT_KEY, TARGETS_DIGEST_KEY, TARGETS_KEY, VERSION_KEY, check_parts,
    dataset_files, dataset_metadata, digest, part_origin,
};
pub use crate::file::AtomicFile;
pub use crate::html::render as render_html;
pub use crate::hygiene::{Group, GroupBy, MAP_BLOCKS_KEPT, Overview8, Report};
pub use crate::journal::{CheckpointFile, Checkpointed, JournalError, JournalState};
pub use crate::jsonl::JsonlSink;
pub use crate::names::{
    Evaluation, NAME_COLUMNS, NameClassifier, NameLine, NameLineError, is_name_header,
    parse_name_line,
};
pub use crate::output::{OutputError, check_output, output_format};
pub use crate::parquet_sink::ParquetSink;
pub use crate::read::{Format, ReadError, for_each_row, parquet_metadata, read_rows};
pub use crate::summary::Summary;
pub use crate::text::{csv_guard, printable, rfc3339};
pub use crate::walk_notes::walk_notes;
pub use crate::walkthrough::walkthrough;
pub use crate::writer::Writer;
