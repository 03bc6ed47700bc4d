//! Log output on stderr: with `<N>` syslog priorities and no timestamps under systemd (journald adds
//! both), timestamped lines otherwise. Secrets never reach a log: they are `Secret`-wrapped.

use std::fmt;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

struct JournalFormat;

impl<S, N> FormatEvent<S, N> for JournalFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let priority = match *event.metadata().level() {
            Level::ERROR => 3,
            Level::WARN => 4,
            Level::INFO => 6,
            _ => 7,
        };
        write!(writer, "<{priority}>")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

pub fn init(level: &str) {
    let filter = EnvFilter::try_from_env("HOLDFAST_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},rustls=warn,hyper=warn")));
    let under_journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false);
    let result = if under_journald {
        builder.event_format(JournalFormat).try_init()
    } else {
        builder.try_init()
    };
    if result.is_err() {
        eprintln!("holdfast: logging was already initialised");
    }
}
