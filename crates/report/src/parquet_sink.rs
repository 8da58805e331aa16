//! Parquet: typed columns, zstd, streamed in row groups (memory stays bounded).

use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arrow_array::builder::{
    BooleanBuilder, ListBuilder, StringBuilder, TimestampMillisecondBuilder, UInt8Builder,
    UInt32Builder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use ptraudit_scan::{Row, Sink, SinkError, Status};

use crate::schema::{Cells, KINDS, Kind, Renderer, arrow_schema};
use crate::text::{push_ip, push_status};

/// Rows per Arrow batch handed to the writer.
const BATCH_ROWS: usize = 8192;
/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 65_536;

/// One Arrow builder per column, by the column's [`Kind`].
enum Builder {
    Text(StringBuilder),
    List(ListBuilder<StringBuilder>),
    Bool(BooleanBuilder),
    UInt32(UInt32Builder),
    UInt64(UInt64Builder),
    Time(TimestampMillisecondBuilder),
}

/// The columns being built, and the renderer that fills them.
struct Builders {
    columns: Columns,
    renderer: Renderer,
}

/// [`Cells`] in schema order, plus `ip_version`.
struct Columns {
    columns: Vec<Builder>,
    ip_version: UInt8Builder,
    /// The column of the open list.
    list: usize,
    /// Addresses and statuses rendered as text.
    scratch: String,
}

impl Builders {
    fn new() -> Self {
        let columns = KINDS
            .iter()
            .map(|(_, kind)| match kind {
                Kind::Text | Kind::OptText => Builder::Text(StringBuilder::new()),
                Kind::List => Builder::List(ListBuilder::new(StringBuilder::new())),
                Kind::OptBool => Builder::Bool(BooleanBuilder::new()),
                Kind::UInt32 => Builder::UInt32(UInt32Builder::new()),
                Kind::OptUInt64 => Builder::UInt64(UInt64Builder::new()),
                Kind::Timestamp => {
                    Builder::Time(TimestampMillisecondBuilder::new().with_timezone("UTC"))
                }
            })
            .collect();
        Builders {
            columns: Columns {
                columns,
                ip_version: UInt8Builder::new(),
                list: 0,
                scratch: String::new(),
            },
            renderer: Renderer::default(),
        }
    }

    fn push(&mut self, r: &Row) {
        self.renderer.visit(r, &mut self.columns);
    }
}

impl Columns {
    fn finish(&mut self) -> Vec<ArrayRef> {
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.columns.len() + 1);
        for (i, b) in self.columns.iter_mut().enumerate() {
            arrays.push(match b {
                Builder::Text(b) => Arc::new(b.finish()),
                Builder::List(b) => Arc::new(b.finish()),
                Builder::Bool(b) => Arc::new(b.finish()),
                Builder::UInt32(b) => Arc::new(b.finish()),
                Builder::UInt64(b) => Arc::new(b.finish()),
                Builder::Time(b) => Arc::new(b.finish()),
            });
            if i == 0 {
                arrays.push(Arc::new(self.ip_version.finish()));
            }
        }
        arrays
    }
}

// A cell of the wrong kind for its column cannot happen (KINDS and `Renderer::visit`
// are checked against each other by the writer tests, and by the debug assertions
// here); in a release build it would be dropped rather than panic, and the batch would
// then fail to build with a clear error.
impl Cells for Columns {
    #[inline]
    fn text(&mut self, col: usize, v: &str) {
        debug_assert!(
            matches!(self.columns[col], Builder::Text(_)),
            "column {col}"
        );
        if let Builder::Text(b) = &mut self.columns[col] {
            b.append_value(v);
        }
    }
    #[inline]
    fn null(&mut self, col: usize) {
        match &mut self.columns[col] {
            Builder::Text(b) => b.append_null(),
            Builder::Bool(b) => b.append_null(),
            Builder::UInt64(b) => b.append_null(),
            Builder::UInt32(b) => b.append_null(),
            Builder::List(b) => b.append_null(),
            Builder::Time(b) => b.append_null(),
        }
    }
    #[inline]
    fn list_start(&mut self, col: usize) {
        self.list = col;
    }
    #[inline]
    fn item(&mut self, v: &str) {
        debug_assert!(matches!(self.columns[self.list], Builder::List(_)));
        if let Builder::List(b) = &mut self.columns[self.list] {
            b.values().append_value(v);
        }
    }
    #[inline]
    fn list_end(&mut self) {
        if let Builder::List(b) = &mut self.columns[self.list] {
            b.append(true);
        }
    }
    #[inline]
    fn bool(&mut self, col: usize, v: bool) {
        debug_assert!(
            matches!(self.columns[col], Builder::Bool(_)),
            "column {col}"
        );
        if let Builder::Bool(b) = &mut self.columns[col] {
            b.append_value(v);
        }
    }
    #[inline]
    fn uint(&mut self, col: usize, v: u64) {
        debug_assert!(
            matches!(self.columns[col], Builder::UInt32(_) | Builder::UInt64(_)),
            "column {col}"
        );
        match &mut self.columns[col] {
            Builder::UInt32(b) => b.append_value(u32::try_from(v).unwrap_or(u32::MAX)),
            Builder::UInt64(b) => b.append_value(v),
            _ => {}
        }
    }
    #[inline]
    fn time(&mut self, col: usize, t: SystemTime) {
        debug_assert!(
            matches!(self.columns[col], Builder::Time(_)),
            "column {col}"
        );
        if let Builder::Time(b) = &mut self.columns[col] {
            let ms = t
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            b.append_value(ms);
        }
    }
    #[inline]
    fn ip(&mut self, col: usize, ip: IpAddr) {
        let mut s = std::mem::take(&mut self.scratch);
        s.clear();
        push_ip(&mut s, ip);
        self.text(col, &s);
        self.scratch = s;
        self.ip_version
            .append_value(if ip.is_ipv4() { 4 } else { 6 });
    }
    #[inline]
    fn addr_item(&mut self, ip: IpAddr) {
        let mut s = std::mem::take(&mut self.scratch);
        s.clear();
        push_ip(&mut s, ip);
        self.item(&s);
        self.scratch = s;
    }
    #[inline]
    fn status(&mut self, col: usize, st: Status) {
        let mut s = std::mem::take(&mut self.scratch);
        s.clear();
        push_status(&mut s, st);
        self.text(col, &s);
        self.scratch = s;
    }
}

/// Writes rows as Parquet (typed columns: lists as `List<Utf8>`, `generic` a nullable
/// boolean, integers, `scanned_at` a UTC millisecond timestamp, plus `ip_version`). Call [`ParquetSink::close`] to write
/// the footer; a file without it is not valid Parquet.
pub struct ParquetSink<W: Write + Send> {
    writer: ArrowWriter<W>,
    schema: SchemaRef,
    builders: Builders,
    pending: usize,
}

impl<W: Write + Send> std::fmt::Debug for ParquetSink<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetSink")
            .field("pending", &self.pending)
            .finish()
    }
}

impl<W: Write + Send> ParquetSink<W> {
    /// Starts a Parquet stream on `out`.
    pub fn new(out: W) -> Result<Self, SinkError> {
        let schema: SchemaRef = Arc::new(arrow_schema());
        // Dictionaries pay off for the repetitive columns (prefix, status, verdict,
        // reasons, resolver), not for the ones that are unique per row: building and then
        // abandoning a dictionary there was the writer's largest cost.
        let unique = ["ip", "ptr", "ptr_all.list.item", "forward_addrs.list.item"];
        let mut props = WriterProperties::builder();
        for column in unique {
            let path = ColumnPath::new(column.split('.').map(String::from).collect());
            props = props.set_column_dictionary_enabled(path.clone(), false);
            if column.ends_with(".item") {
                props = props.set_column_statistics_enabled(path, EnabledStatistics::None);
            }
        }
        let props = props
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_created_by(format!("ptraudit {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer = ArrowWriter::try_new(out, Arc::clone(&schema), Some(props))?;
        Ok(ParquetSink {
            writer,
            schema,
            builders: Builders::new(),
            pending: 0,
        })
    }

    fn write_batch(&mut self) -> Result<(), SinkError> {
        if self.pending == 0 {
            return Ok(());
        }
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), self.builders.columns.finish())?;
        self.writer.write(&batch)?;
        self.pending = 0;
        Ok(())
    }

    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        self.writer.inner()
    }

    /// Writes what is buffered and the footer, and returns the inner writer.
    pub fn close(self) -> Result<W, SinkError> {
        self.close_with(&[])
    }

    /// Like [`ParquetSink::close`], with `metadata` in the file's key-value metadata
    /// (what scan a part comes from: see `ptraudit scan`'s dataset metadata).
    pub fn close_with(mut self, metadata: &[(String, String)]) -> Result<W, SinkError> {
        self.write_batch()?;
        for (k, v) in metadata {
            self.writer
                .append_key_value_metadata(parquet::file::metadata::KeyValue::new(
                    k.clone(),
                    v.clone(),
                ));
        }
        // `into_inner` flushes the open row group and writes the footer.
        Ok(self.writer.into_inner()?)
    }
}

impl<W: Write + Send> Sink for ParquetSink<W> {
    fn row(&mut self, r: &Row) -> Result<(), SinkError> {
        self.builders.push(r);
        self.pending += 1;
        if self.pending >= BATCH_ROWS {
            self.write_batch()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.write_batch()
    }
}
