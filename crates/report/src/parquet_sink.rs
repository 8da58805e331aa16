//! Parquet: typed columns, zstd, streamed in row groups (memory stays bounded).

use std::io::Write;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

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
use ptraudit_scan::{Row, Sink, SinkError};

use crate::schema::arrow_schema;
use crate::text::{SocketText, push_ip};

/// Rows per Arrow batch handed to the writer.
const BATCH_ROWS: usize = 8192;
/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 65_536;

struct Builders {
    ip: StringBuilder,
    ip_version: UInt8Builder,
    prefix: StringBuilder,
    ptr_status: StringBuilder,
    ptr: StringBuilder,
    ptr_all: ListBuilder<StringBuilder>,
    cname_chain: ListBuilder<StringBuilder>,
    forward_addrs: ListBuilder<StringBuilder>,
    fcrdns: StringBuilder,
    fcrdns_reason: StringBuilder,
    generic: BooleanBuilder,
    generic_reasons: ListBuilder<StringBuilder>,
    resolver: StringBuilder,
    attempts: UInt32Builder,
    rtt_ms: UInt64Builder,
    scanned_at: TimestampMillisecondBuilder,
    /// Reused for addresses rendered as text.
    scratch: String,
    resolver_text: SocketText,
}

impl Builders {
    fn new() -> Self {
        Builders {
            ip: StringBuilder::new(),
            ip_version: UInt8Builder::new(),
            prefix: StringBuilder::new(),
            ptr_status: StringBuilder::new(),
            ptr: StringBuilder::new(),
            ptr_all: ListBuilder::new(StringBuilder::new()),
            cname_chain: ListBuilder::new(StringBuilder::new()),
            forward_addrs: ListBuilder::new(StringBuilder::new()),
            fcrdns: StringBuilder::new(),
            fcrdns_reason: StringBuilder::new(),
            generic: BooleanBuilder::new(),
            generic_reasons: ListBuilder::new(StringBuilder::new()),
            resolver: StringBuilder::new(),
            attempts: UInt32Builder::new(),
            rtt_ms: UInt64Builder::new(),
            scanned_at: TimestampMillisecondBuilder::new().with_timezone("UTC"),
            scratch: String::new(),
            resolver_text: SocketText::default(),
        }
    }

    fn push(&mut self, r: &Row) {
        fn list(b: &mut ListBuilder<StringBuilder>, items: &[String]) {
            for i in items {
                b.values().append_value(i);
            }
            b.append(true);
        }
        let s = &mut self.scratch;
        s.clear();
        push_ip(s, r.ip);
        self.ip.append_value(&*s);
        self.ip_version
            .append_value(if r.ip.is_ipv4() { 4 } else { 6 });
        self.prefix.append_value(&r.prefix);
        self.ptr_status.append_value(&r.ptr_status);
        self.ptr.append_option(r.ptr.as_deref());
        list(&mut self.ptr_all, &r.ptr_all);
        list(&mut self.cname_chain, &r.cname_chain);
        for a in &r.forward_addrs {
            s.clear();
            push_ip(s, *a);
            self.forward_addrs.values().append_value(&*s);
        }
        self.forward_addrs.append(true);
        self.fcrdns.append_value(r.fcrdns.as_str());
        self.fcrdns_reason.append_option(r.fcrdns_reason.as_deref());
        self.generic.append_option(r.generic);
        list(&mut self.generic_reasons, &r.generic_reasons);
        match r.resolver {
            Some(a) => self.resolver.append_value(self.resolver_text.get(a)),
            None => self.resolver.append_null(),
        }
        self.attempts.append_value(r.attempts);
        self.rtt_ms.append_option(r.rtt_ms);
        let ms = r
            .scanned_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        self.scanned_at.append_value(ms);
    }

    fn finish(&mut self) -> Vec<ArrayRef> {
        vec![
            Arc::new(self.ip.finish()),
            Arc::new(self.ip_version.finish()),
            Arc::new(self.prefix.finish()),
            Arc::new(self.ptr_status.finish()),
            Arc::new(self.ptr.finish()),
            Arc::new(self.ptr_all.finish()),
            Arc::new(self.cname_chain.finish()),
            Arc::new(self.forward_addrs.finish()),
            Arc::new(self.fcrdns.finish()),
            Arc::new(self.fcrdns_reason.finish()),
            Arc::new(self.generic.finish()),
            Arc::new(self.generic_reasons.finish()),
            Arc::new(self.resolver.finish()),
            Arc::new(self.attempts.finish()),
            Arc::new(self.rtt_ms.finish()),
            Arc::new(self.scanned_at.finish()),
        ]
    }
}

/// Writes rows as Parquet (schema: [`arrow_schema()`]). Call [`ParquetSink::close`] to write
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
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), self.builders.finish())?;
        self.writer.write(&batch)?;
        self.pending = 0;
        Ok(())
    }

    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        self.writer.inner()
    }

    /// Writes what is buffered and the footer, and returns the inner writer.
    pub fn close(mut self) -> Result<W, SinkError> {
        self.write_batch()?;
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
