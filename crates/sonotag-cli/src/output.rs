//! Standard output of every command, and how its failures end the command.
//!
//! Commands write through one [`Stdout`]: the locked standard output behind a buffer (a
//! a print macro per row would lock and flush per line, and panics when the write fails). A write
//! or flush failure becomes a typed outcome instead of a panic:
//!
//! - a closed pipe (`sonotag predict ... | head`; Rust ignores SIGPIPE, so the write returns
//!   EPIPE) is [`CliError::StdoutClosed`]: the command ends quietly with exit status 0, as
//!   ripgrep and other Unix tools do, since the reader asked for no more;
//! - any other failure (a full disk, `/dev/full`) is [`CliError::Stdout`]: one line
//!   `error: cannot write to standard output: ...` on stderr and a non-zero exit.
//!
//! Standard error carries notes and the final error line; writes to it ignore failures (a
//! closed stderr must not turn a result into a panic).

use std::io::{self, BufWriter, StdoutLock, Write};

/// How a command failed.
#[derive(Debug)]
pub enum CliError {
    /// The command failed; the message is the one line to print.
    Failed(String),
    /// Standard output was closed by its reader: stop quietly, successfully.
    StdoutClosed,
    /// Writing standard output failed for another reason.
    Stdout(io::Error),
}

impl CliError {
    /// The outcome of a failed write to standard output.
    pub fn stdout(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            Self::StdoutClosed
        } else {
            Self::Stdout(e)
        }
    }

    /// A CSV writer's failure on standard output (its I/O errors are stdout's).
    pub fn csv(e: csv::Error) -> Self {
        match e.into_kind() {
            csv::ErrorKind::Io(e) => Self::stdout(e),
            other => Self::Failed(format!("CSV output: {other:?}")),
        }
    }
}

impl From<String> for CliError {
    fn from(message: String) -> Self {
        Self::Failed(message)
    }
}

/// The buffered, locked standard output; [`Stdout::finish`] flushes it.
pub struct Stdout {
    out: BufWriter<StdoutLock<'static>>,
}

impl Stdout {
    /// Locks standard output for the rest of the command.
    pub fn new() -> Self {
        Self {
            out: BufWriter::with_capacity(1 << 16, io::stdout().lock()),
        }
    }

    /// Writes `text` and a line end.
    pub fn line(&mut self, text: &str) -> Result<(), CliError> {
        self.out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(CliError::stdout)
    }

    /// Writes `text` as it is.
    pub fn text(&mut self, text: &str) -> Result<(), CliError> {
        self.out
            .write_all(text.as_bytes())
            .map_err(CliError::stdout)
    }

    /// Flushes what is buffered: the last chance to see a write failure.
    pub fn finish(mut self) -> Result<(), CliError> {
        self.out.flush().map_err(CliError::stdout)
    }

    /// The writer, for encoders that write by themselves (CSV); map their errors with
    /// [`CliError::stdout`] or [`CliError::csv`].
    pub fn writer(&mut self) -> &mut impl Write {
        &mut self.out
    }
}

/// Writes one line to standard error, ignoring failures (see the module documentation).
pub fn note(text: &str) {
    let _ = writeln!(io::stderr().lock(), "{text}");
}
