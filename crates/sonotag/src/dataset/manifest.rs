//! Manifest CSV files: `path,labels`, one clip per row.
//!
//! Paths are relative to the manifest's folder and may not leave it, neither by `..` nor
//! through a symbolic link (a row whose file exists is resolved, links followed, and must stay
//! inside the resolved manifest folder; the file is not opened before that check). Labels are
//! separated by `;`; an empty labels cell means no label is present; a manifest may use at most
//! [`DEFAULT_MAX_LABELS`] distinct labels. A UTF-8 byte-order mark, CRLF line ends
//! and quoted fields (with commas inside) are accepted.
//!
//! ```
//! use sonotag::dataset::Manifest;
//!
//! let text = "path,labels\nbirds/a.wav,robin;wren\nquiet.wav,\n";
//! let manifest = Manifest::parse(text.as_bytes(), "train.csv", std::path::Path::new("data"))?;
//! assert_eq!(manifest.entries.len(), 2);
//! assert_eq!(manifest.entries[0].labels, ["robin", "wren"]);
//! assert!(manifest.entries[1].labels.is_empty());
//! assert_eq!(manifest.labels(), ["robin", "wren"]);
//! # Ok::<(), sonotag::dataset::DatasetError>(())
//! ```

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use super::DatasetError;
use crate::error::one_line;

/// The most distinct labels a manifest may use (2^20): far above any real tagging vocabulary
/// (AudioSet has 527 labels), and low enough that the per-label arrays a model and its metrics
/// allocate stay bounded. See [`check_label_count`].
pub const DEFAULT_MAX_LABELS: usize = 1 << 20;

/// Refuses a manifest that uses more than `limit` distinct labels, with
/// [`DatasetError::TooManyLabels`] naming the count and the limit. [`Manifest::parse`] applies
/// it with [`DEFAULT_MAX_LABELS`].
///
/// ```
/// use sonotag::dataset::{Manifest, check_label_count};
/// let m = Manifest::parse("path,labels\na.wav,x;y;z\n".as_bytes(), "m.csv", std::path::Path::new("."))?;
/// assert!(check_label_count(&m, 3).is_ok());
/// let err = check_label_count(&m, 2).unwrap_err();
/// assert_eq!(err.to_string(), "m.csv: 3 distinct labels, more than the limit of 2");
/// # Ok::<(), sonotag::dataset::DatasetError>(())
/// ```
pub fn check_label_count(manifest: &Manifest, limit: usize) -> Result<(), DatasetError> {
    let distinct: HashSet<&str> = manifest
        .entries
        .iter()
        .flat_map(|e| e.labels.iter().map(String::as_str))
        .collect();
    if distinct.len() > limit {
        return Err(DatasetError::TooManyLabels {
            path: manifest.source.clone(),
            count: distinct.len(),
            limit,
        });
    }
    Ok(())
}

/// One row of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManifestEntry {
    /// The audio file, resolved against the manifest's folder.
    pub path: PathBuf,
    /// The labels present in the clip (possibly none).
    pub labels: Vec<String>,
    /// The 1-based line of the row in the manifest, for error messages.
    pub line: u64,
}

/// A parsed manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Manifest {
    /// Where the manifest was read from (used in error messages).
    pub source: PathBuf,
    /// The rows, in file order.
    pub entries: Vec<ManifestEntry>,
}

impl Manifest {
    /// Reads and parses the manifest at `path`; audio paths resolve against its folder.
    pub fn read(path: &Path) -> Result<Self, DatasetError> {
        let bytes = std::fs::read(path).map_err(|source| DatasetError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        Self::parse(bytes.as_slice(), path, base)
    }

    /// Parses a manifest from `reader`; `source` names it in errors, `base` is the folder
    /// relative paths resolve against. Rows whose file exists are resolved (links followed)
    /// and must stay inside the resolved `base`; a missing file is left for the decoder to
    /// report. At most [`DEFAULT_MAX_LABELS`] distinct labels.
    pub fn parse(
        reader: impl Read,
        source: impl AsRef<Path>,
        base: &Path,
    ) -> Result<Self, DatasetError> {
        let source = source.as_ref().to_path_buf();
        let mut bytes = Vec::new();
        let mut reader = reader;
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| DatasetError::Io {
                path: source.clone(),
                source: e,
            })?;
        // A byte-order mark is common in files saved by spreadsheet programs.
        let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .trim(csv::Trim::All)
            .from_reader(body);
        let lines = std::cell::RefCell::new(LineCounter::new(body));
        let line_at = |byte: u64| lines.borrow_mut().line_at(byte);
        let bad = |line: u64, message: String| DatasetError::Manifest {
            path: source.clone(),
            line,
            message: one_line(&message),
        };
        let headers = csv.headers().map_err(|e| bad(1, e.to_string()))?.clone();
        let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
        let (Some(path_col), Some(labels_col)) = (col("path"), col("labels")) else {
            return Err(bad(
                1,
                format!(
                    "the header must name the columns `path` and `labels`, found `{}`",
                    headers.iter().collect::<Vec<_>>().join(",")
                ),
            ));
        };
        let mut entries = Vec::new();
        let mut seen: HashMap<PathBuf, u64> = HashMap::new();
        // `Path::new("m.csv").parent()` is the empty path, which does not resolve.
        let base_dir = if base.as_os_str().is_empty() {
            Path::new(".")
        } else {
            base
        };
        let resolved_base = base_dir.canonicalize().ok();
        for record in csv.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| line_at(p.byte()));
                bad(line, e.to_string())
            })?;
            let line = record.position().map_or(0, |p| line_at(p.byte()));
            let raw_path = record.get(path_col).unwrap_or("");
            if raw_path.is_empty() {
                return Err(bad(line, "empty `path` cell".into()));
            }
            let relative = checked_relative(raw_path).map_err(|m| bad(line, m))?;
            let labels =
                parse_labels(record.get(labels_col).unwrap_or("")).map_err(|m| bad(line, m))?;
            let path = base.join(relative);
            if let Some(resolved_base) = &resolved_base {
                check_inside(&path, resolved_base, raw_path).map_err(|m| bad(line, m))?;
            }
            if let Some(first) = seen.insert(path.clone(), line) {
                return Err(bad(
                    line,
                    format!("`{raw_path}` is listed twice (first on line {first})"),
                ));
            }
            entries.push(ManifestEntry { path, labels, line });
        }
        if entries.is_empty() {
            return Err(bad(1, "the manifest lists no clips".into()));
        }
        let manifest = Self { source, entries };
        check_label_count(&manifest, DEFAULT_MAX_LABELS)?;
        Ok(manifest)
    }

    /// The sorted set of labels used anywhere in the manifest.
    pub fn labels(&self) -> Vec<String> {
        let set: BTreeSet<&String> = self.entries.iter().flat_map(|e| &e.labels).collect();
        set.into_iter().cloned().collect()
    }

    /// Checks that every label is one of `known`, naming the first offending line (linear
    /// time: `known` goes into a hash set). The message lists at most the first 20 known
    /// labels.
    pub fn check_labels(&self, known: &[String]) -> Result<(), DatasetError> {
        let set: HashSet<&str> = known.iter().map(String::as_str).collect();
        for entry in &self.entries {
            if let Some(label) = entry.labels.iter().find(|l| !set.contains(l.as_str())) {
                return Err(DatasetError::Manifest {
                    path: self.source.clone(),
                    line: entry.line,
                    message: one_line(&format!(
                        "unknown label `{label}` (the model knows: {})",
                        short_list(known, 20)
                    )),
                });
            }
        }
        Ok(())
    }
}

/// 1-based line numbers of byte offsets, counting line breaks as the CSV parser does (LF,
/// CRLF and a lone CR each end a line). Offsets come in increasing order, so each call only
/// scans the bytes since the previous one: linear in the manifest's size overall.
struct LineCounter<'a> {
    body: &'a [u8],
    /// Bytes before `pos` hold `breaks` line breaks; `pos` never splits a CRLF.
    pos: usize,
    breaks: u64,
}

impl<'a> LineCounter<'a> {
    fn new(body: &'a [u8]) -> Self {
        Self {
            body,
            pos: 0,
            breaks: 0,
        }
    }

    fn line_at(&mut self, byte: u64) -> u64 {
        // Skip the terminator the parser may stop inside (between CR and LF), so CRLF, CR and
        // LF files number lines alike.
        let mut at = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.body.len());
        while at < self.body.len() && matches!(self.body[at], b'\r' | b'\n') {
            at += 1;
        }
        if at < self.pos {
            self.pos = 0;
            self.breaks = 0;
        }
        let span = &self.body[self.pos..at];
        let mut i = 0;
        while i < span.len() {
            match span[i] {
                b'\r' => {
                    self.breaks += 1;
                    if span.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                }
                b'\n' => self.breaks += 1,
                _ => {}
            }
            i += 1;
        }
        self.pos = at;
        1 + self.breaks
    }
}

/// `items` joined by `, `, cut after `max` with a count of the rest.
fn short_list(items: &[String], max: usize) -> String {
    let mut text = items[..items.len().min(max)].join(", ");
    if items.len() > max {
        text.push_str(&format!(", ... ({} more)", items.len() - max));
    }
    text
}

/// Refuses a row whose existing file resolves (links followed) outside the resolved manifest
/// folder. Only the path is resolved: the file is not opened, so an error can never show its
/// content. A file that cannot be resolved (missing) is left to the decoder's error.
fn check_inside(path: &Path, resolved_base: &Path, raw: &str) -> Result<(), String> {
    match path.canonicalize() {
        Ok(real) if !real.starts_with(resolved_base) => Err(format!(
            "`{raw}` leads out of the manifest's folder through a symbolic link"
        )),
        _ => Ok(()),
    }
}

/// Splits a `;`-separated labels cell; an empty cell means no label. Repeated labels are kept
/// once (a hash set: linear in the cell's size).
fn parse_labels(cell: &str) -> Result<Vec<String>, String> {
    if cell.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut labels: Vec<String> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for part in cell.split(';') {
        let label = part.trim();
        if label.is_empty() {
            return Err(format!(
                "empty label in `{cell}` (labels are separated by `;`)"
            ));
        }
        if seen.insert(label) {
            labels.push(label.to_string());
        }
    }
    Ok(labels)
}

/// Accepts only relative paths that stay inside the manifest's folder.
fn checked_relative(raw: &str) -> Result<PathBuf, String> {
    let path = Path::new(raw);
    let mut depth: i64 = 0;
    for component in path.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("`{raw}` leaves the manifest's folder"));
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "`{raw}` is absolute; paths must be relative to the manifest's folder"
                ));
            }
        }
    }
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, DatasetError> {
        Manifest::parse(text.as_bytes(), "m.csv", Path::new("root"))
    }

    fn line_of(err: DatasetError) -> u64 {
        match err {
            DatasetError::Manifest { line, .. } => line,
            other => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn lone_cr_line_ends_number_lines_like_lf() {
        // Found by fuzzing: a lone CR ends a record for the CSV parser, so it ends a line too.
        let m = parse("path,labels\ra.wav,x\rb.wav,\r\nc.wav,y\n").unwrap();
        let lines: Vec<u64> = m.entries.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4]);
        let err = parse("path,labels\ra.wav,x\ra.wav,y\r").unwrap_err();
        assert_eq!(line_of(err), 3);
    }

    #[test]
    fn line_numbers_stay_right_over_many_rows() {
        let mut text = String::from("path,labels\n");
        for i in 0..5000 {
            text.push_str(&format!("clip{i}.wav,a\n"));
        }
        text.push_str("clip7.wav,a\n");
        let err = parse(&text).unwrap_err();
        assert_eq!(line_of(err), 5002);
        assert!(err_message(&text).contains("first on line 9"));
    }

    fn err_message(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn accepts_bom_crlf_and_quoted_commas() {
        let m = parse("\u{feff}path,labels\r\n\"a, b.wav\",x;y\r\nc.wav,\r\n").unwrap();
        assert_eq!(m.entries[0].path, Path::new("root").join("a, b.wav"));
        assert_eq!(m.entries[0].labels, ["x", "y"]);
        assert_eq!(m.entries[1].line, 3);
    }

    #[test]
    fn rejects_escaping_and_absolute_paths() {
        assert_eq!(
            line_of(parse("path,labels\nok.wav,a\n../x.wav,a\n").unwrap_err()),
            3
        );
        assert!(parse("path,labels\n/etc/x.wav,a\n").is_err());
        assert!(parse("path,labels\nsub/../x.wav,a\n").is_ok());
    }

    #[test]
    fn rejects_empty_labels_duplicates_and_empty_manifests() {
        let err = parse("path,labels\na.wav,x;;y\n").unwrap_err();
        assert!(err.to_string().contains("empty label"), "{err}");
        let err = parse("path,labels\na.wav,x\nb.wav,\na.wav,y\n").unwrap_err();
        assert!(err.to_string().contains("first on line 2"), "{err}");
        assert!(
            parse("path,labels\n")
                .unwrap_err()
                .to_string()
                .contains("no clips")
        );
        assert!(
            parse("file,tags\na.wav,x\n")
                .unwrap_err()
                .to_string()
                .contains("header")
        );
    }

    #[test]
    fn a_hundred_thousand_distinct_labels_parse_and_check_in_linear_time() {
        let labels: Vec<String> = (0..100_000).map(|i| format!("l{i}")).collect();
        // One row with every label (and each twice: de-duplicated), and one row per label.
        let mut text = format!(
            "path,labels\nall.wav,{};{}\n",
            labels.join(";"),
            labels.join(";")
        );
        for (i, l) in labels.iter().enumerate() {
            text.push_str(&format!("c{i}.wav,{l}\n"));
        }
        let m = parse(&text).unwrap();
        assert_eq!(m.entries[0].labels.len(), 100_000);
        assert_eq!(m.labels().len(), 100_000);
        m.check_labels(&labels).unwrap();
        let err = m.check_labels(&labels[1..]).unwrap_err();
        assert_eq!(line_of(err), 2);
        let message = m.check_labels(&labels[1..]).unwrap_err().to_string();
        assert!(message.contains("l20, ... (99979 more)"), "{message}");
    }

    #[test]
    fn more_distinct_labels_than_the_limit_are_refused() {
        let m = parse("path,labels\na.wav,x;y\nb.wav,y;z\n").unwrap();
        assert!(check_label_count(&m, 3).is_ok());
        match check_label_count(&m, 2) {
            Err(DatasetError::TooManyLabels { count, limit, .. }) => {
                assert_eq!((count, limit), (3, 2));
            }
            other => panic!("expected TooManyLabels, got {other:?}"),
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_out_of_the_manifest_folder_is_refused_before_reading_it() {
        use std::os::unix::fs::symlink;
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("secret.txt");
        let content = b"\x01\x02\x03\x7fRIFF";
        std::fs::write(&secret, content).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("data");
        std::fs::create_dir_all(folder.join("sub")).unwrap();
        std::fs::write(folder.join("real.wav"), b"").unwrap();
        symlink(&secret, folder.join("sub/evil.wav")).unwrap();
        symlink(folder.join("real.wav"), folder.join("alias.wav")).unwrap();
        symlink(outside.path(), folder.join("out")).unwrap();
        let manifest = folder.join("m.csv");
        let read = |rows: &str| {
            std::fs::write(&manifest, format!("path,labels\n{rows}")).unwrap();
            Manifest::read(&manifest)
        };
        // Links that stay inside, and a missing file (the decoder's error later), are fine.
        assert!(read("real.wav,a\nalias.wav,b\nmissing.wav,c\n").is_ok());
        for row in ["sub/evil.wav", "out/secret.txt", "sub/../out/secret.txt"] {
            let err = read(&format!("real.wav,a\n{row},b\n")).unwrap_err();
            assert_eq!(line_of_ref(&err), 3, "{err}");
            let text = err.to_string();
            assert!(
                text.contains(row) && text.contains("symbolic link"),
                "{text}"
            );
            // Neither the text nor the control bytes of the target appear (single letters
            // would: the temporary folder's random name holds some).
            assert!(
                !text.contains("RIFF") && !text.contains(['\x01', '\x02', '\x03', '\x7f']),
                "{text:?} shows the file's content"
            );
        }
        let err = crate::dataset::Dataset::from_manifest(&manifest).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }

    fn line_of_ref(err: &DatasetError) -> u64 {
        match err {
            DatasetError::Manifest { line, .. } => *line,
            other => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn unknown_labels_name_the_line() {
        let m = parse("path,labels\na.wav,x\nb.wav,z\n").unwrap();
        let err = m.check_labels(&["x".to_string()]).unwrap_err();
        assert_eq!(line_of(err), 3);
    }
}
