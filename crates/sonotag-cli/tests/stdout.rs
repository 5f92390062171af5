//! Standard output that fails: a full device (`/dev/full`) is one error line and a non-zero
//! exit; a pipe closed by its reader (`| head`) ends the command quietly with status 0; and
//! `--bins` beyond the limit is one line. Never a panic.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use sonotag::synthetic::SyntheticConfig;

fn sonotag() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sonotag"))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `args` with standard output on `/dev/full`.
fn to_dev_full(args: &[&str]) -> Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full exists on Linux");
    sonotag().args(args).stdout(full).output().unwrap()
}

fn assert_full_device_error(out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "stderr: {stderr}");
    assert!(
        stderr.starts_with("error: cannot write to standard output: No space left on device"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Runs `args` with standard output a pipe from which the test reads the first `n` bytes, then
/// closes it (with `n` = 0, before the command writes, so its first write fails with EPIPE);
/// returns (status ok, stderr).
fn read_then_close(args: &[&str], n: usize) -> (bool, String) {
    use std::io::Read;
    let mut child = sonotag()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut head = vec![0; n];
    stdout.read_exact(&mut head).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// [`read_then_close`] closing the pipe before the command writes.
fn to_closed_pipe(args: &[&str]) -> (bool, String) {
    read_then_close(args, 0)
}

/// A scores and a targets CSV with `labels` labels and 3 rows: a report of about 60 bytes per
/// label, far more than a pipe buffer for 20,000 labels.
fn wide_csvs(dir: &Path, labels: usize) -> (String, String) {
    let header: Vec<String> = (0..labels).map(|j| format!("label{j}")).collect();
    let header = header.join(",");
    let row = |v: &str| vec![v; labels].join(",");
    let scores = dir.join("scores.csv");
    let targets = dir.join("targets.csv");
    std::fs::write(
        &scores,
        format!("{header}\n{}\n{}\n{}\n", row("0.9"), row("0.2"), row("0.6")),
    )
    .unwrap();
    std::fs::write(
        &targets,
        format!("{header}\n{}\n{}\n{}\n", row("1"), row("0"), row("1")),
    )
    .unwrap();
    (s(&scores).to_string(), s(&targets).to_string())
}

#[test]
fn metrics_to_a_full_device_or_a_closed_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let (scores, targets) = wide_csvs(dir.path(), 20_000);
    let args = ["metrics", "--scores", &scores, "--targets", &targets];
    assert_full_device_error(&to_dev_full(&args));
    let (ok, stderr) = to_closed_pipe(&args);
    assert!(ok && stderr.is_empty(), "stderr: {stderr}");
    let (ok, stderr) = read_then_close(&args, 100);
    assert!(ok && stderr.is_empty(), "stderr: {stderr}");
}

#[test]
fn bins_beyond_the_limit_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let (scores, targets) = wide_csvs(dir.path(), 3);
    for bins in ["18446744073709551615", "1000000000000", "0", "100001"] {
        let out = sonotag()
            .args(["metrics", "--scores", &scores, "--targets", &targets])
            .args(["--bins", bins])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("`bins`") && stderr.contains(bins) && stderr.contains("100000"),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let out = sonotag()
        .args(["metrics", "--scores", &scores, "--targets", &targets])
        .args(["--bins", "100000"])
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn predict_and_eval_to_a_full_device_or_a_closed_pipe_and_folder_links() {
    let dir = tempfile::tempdir().unwrap();
    let train = SyntheticConfig {
        n_clips: 16,
        seed: 3,
        ..Default::default()
    }
    .write_to_folder(&dir.path().join("train"))
    .unwrap();
    let model = dir.path().join("model");
    let out = sonotag()
        .args(["train", "--manifest", s(&train), "--out", s(&model)])
        .args(["--model", "tiny", "--epochs", "1", "--seed", "1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let clips = train.parent().unwrap();
    let predict = ["predict", "--model", s(&model), s(clips)];
    assert_full_device_error(&to_dev_full(&predict));
    let (ok, stderr) = to_closed_pipe(&predict);
    assert!(ok && stderr.is_empty(), "stderr: {stderr}");
    let (ok, stderr) = read_then_close(&predict, 20);
    assert!(ok && stderr.is_empty(), "stderr: {stderr}");
    let eval = ["eval", "--model", s(&model), "--manifest", s(&train)];
    assert_full_device_error(&to_dev_full(&eval));
    let (ok, stderr) = to_closed_pipe(&eval);
    assert!(ok && stderr.is_empty(), "stderr: {stderr}");

    // A link back to the folder: each clip once by default, a loop error when following.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(clips, clips.join("again")).unwrap();
        let rows = |args: &[&str]| {
            let out = sonotag().args(args).output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        let listed = rows(&[
            "predict",
            "--model",
            s(&model),
            "--format",
            "json",
            s(clips),
        ]);
        let files: serde_json::Value = serde_json::from_str(&listed).unwrap();
        assert_eq!(files.as_array().unwrap().len(), 16);
        let out = sonotag()
            .args(["predict", "--model", s(&model), "--follow-links", s(clips)])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("again") && stderr.contains("symbolic link"),
            "{stderr}"
        );
    }
}
