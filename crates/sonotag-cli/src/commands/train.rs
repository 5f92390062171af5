//! `sonotag train`: manifest in, model directory out.

use std::io::IsTerminal;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use sonotag::audio::features::load_mel_config;
use sonotag::audio::{MelConfig, PadFill, SegmentConfig};
use sonotag::dataset::Dataset;
use sonotag::{
    CalibrationMethod, LossKind, ModelSpec, PosWeight, PresetName, Tagger, TaskKind, TrainEvent,
};

use super::metric;
use crate::output::{CliError, Stdout, note};

/// Arguments of `sonotag train` (they mirror the library's builder).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Training manifest: CSV with columns `path,labels` (labels separated by `;`).
    #[arg(long)]
    manifest: PathBuf,
    /// Validation manifest; by default a stratified share of the training manifest.
    #[arg(long)]
    val: Option<PathBuf>,
    /// Output model directory (written atomically).
    #[arg(long)]
    out: PathBuf,
    /// Network preset: seed_net, cnn6, cnn10 or tiny.
    #[arg(long, default_value = "seed_net")]
    model: String,
    /// Passes over the training data.
    #[arg(long, default_value_t = 20)]
    epochs: usize,
    /// Segments per batch.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Peak learning rate (AdamW, cosine schedule with warm-up).
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// AdamW weight decay.
    #[arg(long, default_value_t = 1e-4)]
    weight_decay: f32,
    /// Share of the training clips held out for validation when --val is absent.
    #[arg(long, default_value_t = 0.2)]
    validation_fraction: f64,
    /// Stop after this many epochs without a better validation mAP (0 = never).
    #[arg(long, default_value_t = 5)]
    patience: usize,
    /// Positive-class weighting: none or auto.
    #[arg(long, default_value = "none")]
    pos_weight: String,
    /// Task: multilabel (any subset of labels per clip) or multiclass (exactly one).
    #[arg(long, default_value = "multilabel")]
    task: String,
    /// Focal loss with this gamma instead of BCE (an alternative to --pos-weight).
    #[arg(long)]
    focal_gamma: Option<f64>,
    /// Positive-class weight alpha of the focal loss, in (0, 1).
    #[arg(long, requires = "focal_gamma")]
    focal_alpha: Option<f64>,
    /// Draw training segments so that rare labels are seen as often as common ones.
    #[arg(long)]
    balanced_sampling: bool,
    /// Cache clip features in this folder (keyed by audio and feature settings).
    #[arg(long)]
    feature_cache: Option<PathBuf>,
    /// Write a checkpoint into this folder after every epoch.
    #[arg(long)]
    checkpoint_dir: Option<PathBuf>,
    /// Continue from the checkpoint in --checkpoint-dir, if there is one.
    #[arg(long, requires = "checkpoint_dir")]
    resume: bool,
    /// SpecAugment time and frequency masks on training batches.
    #[arg(long)]
    spec_augment: bool,
    /// Mixup with this Beta(alpha, alpha) parameter.
    #[arg(long)]
    mixup: Option<f64>,
    /// Calibration: temperature, platt or none.
    #[arg(long, default_value = "temperature")]
    calibration: String,
    /// Tune one F1-optimal threshold per label on the validation split.
    #[arg(long)]
    tune_thresholds: bool,
    /// Seed of initialisation, shuffling, splitting and augmentation.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print the training report as one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// A JSON file of MelConfig fields (omitted fields take the defaults: 16 kHz, 64 bands).
    #[arg(long)]
    mel_config: Option<PathBuf>,
    /// Sample rate (Hz) the features are made at; overrides the mel config's.
    #[arg(long)]
    sample_rate: Option<u32>,
    /// Segment window in seconds (default 1).
    #[arg(long)]
    window: Option<f64>,
    /// Hop between segment starts in seconds (default: the window, no overlap).
    #[arg(long)]
    hop: Option<f64>,
    /// A residual shorter than this (seconds) is dropped, a longer one padded (default 0.25).
    #[arg(long)]
    min_residual: Option<f64>,
    /// How a kept residual is padded: zeros, or noise (Gaussian, std 1e-3, i.e. -60 dBFS,
    /// seeded by --seed).
    #[arg(long, default_value = "zeros")]
    pad: String,
}

/// Standard deviation of `--pad noise` (linear amplitude): -60 dBFS, below what a tagger hears
/// as content but not digital silence.
const PAD_NOISE_STD: f32 = 1e-3;

/// The feature settings the flags give: the mel config file (or the defaults), then each flag
/// over it. The values are checked when training starts, with the library's typed errors.
fn feature_settings(args: &Args) -> Result<(MelConfig, SegmentConfig), CliError> {
    let mut mel = match &args.mel_config {
        Some(path) => load_mel_config(path).map_err(|e| e.to_string())?,
        None => MelConfig::default(),
    };
    if let Some(rate) = args.sample_rate {
        mel.sample_rate = rate;
    }
    let mut segment = SegmentConfig::default();
    if let Some(window) = args.window {
        segment.window_s = window;
    }
    segment.hop_s = args.hop;
    if let Some(min_residual) = args.min_residual {
        segment.min_residual_s = min_residual;
    }
    segment.pad = match args.pad.as_str() {
        "zeros" => PadFill::Zeros,
        "noise" => PadFill::Noise {
            std: PAD_NOISE_STD,
            seed: args.seed,
        },
        other => {
            return Err(format!("--pad: unknown padding `{other}` (zeros, noise)").into());
        }
    };
    // Checked before the manifest's clips are decoded, with the library's own checks.
    let invalid = |e: sonotag::audio::ConfigError| format!("invalid feature settings: {e}");
    mel.validate().map_err(invalid)?;
    segment.in_samples(mel.sample_rate).map_err(invalid)?;
    Ok((mel, segment))
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), CliError> {
    let err = |e: sonotag::Error| e.to_string();
    let calibration = match args.calibration.as_str() {
        "temperature" => CalibrationMethod::Temperature,
        "platt" => CalibrationMethod::Platt,
        "none" => CalibrationMethod::None,
        other => {
            return Err(format!(
                "--calibration: unknown method `{other}` (temperature, platt, none)"
            )
            .into());
        }
    };
    let pos_weight = match args.pos_weight.as_str() {
        "none" => PosWeight::None,
        "auto" => PosWeight::Auto,
        other => {
            return Err(format!("--pos-weight: unknown value `{other}` (none, auto)").into());
        }
    };
    let task = match args.task.as_str() {
        "multilabel" => TaskKind::MultiLabel,
        "multiclass" => TaskKind::MultiClass,
        other => {
            return Err(format!("--task: unknown task `{other}` (multilabel, multiclass)").into());
        }
    };
    let preset = PresetName::parse(&args.model).map_err(err)?;
    let (mel, segment) = feature_settings(&args)?;
    let data = Dataset::from_manifest(&args.manifest).map_err(err)?;
    let mut builder = Tagger::builder()
        .model(ModelSpec::Preset(preset))
        .mel(mel)
        .segment(segment)
        .epochs(args.epochs)
        .batch_size(args.batch_size)
        .learning_rate(args.lr)
        .weight_decay(args.weight_decay)
        .validation_fraction(args.validation_fraction)
        .early_stopping_patience((args.patience > 0).then_some(args.patience))
        .pos_weight(pos_weight)
        .spec_augment(args.spec_augment)
        .mixup(args.mixup)
        .calibration(calibration)
        .tune_thresholds(args.tune_thresholds)
        .seed(args.seed)
        .task(task)
        .balanced_sampling(args.balanced_sampling)
        .resume(args.resume)
        .on_event(progress_reporter());
    if let Some(gamma) = args.focal_gamma {
        builder = builder.loss(LossKind::Focal {
            gamma,
            alpha: args.focal_alpha,
        });
    }
    if let Some(dir) = &args.feature_cache {
        builder = builder.feature_cache(dir);
    }
    if let Some(dir) = &args.checkpoint_dir {
        builder = builder.checkpoint_dir(dir);
    }
    if let Some(val) = &args.val {
        builder = builder.validation(Dataset::from_manifest(val).map_err(err)?);
    }
    let (tagger, report) = builder.train(&data).map_err(err)?;
    tagger.save(&args.out).map_err(err)?;
    if args.json {
        let json = serde_json::to_string(&report).map_err(|e| e.to_string())?;
        let mut out = Stdout::new();
        out.line(&json)?;
        out.finish()?;
    } else {
        let v = &report.validation.calibrated;
        note(&format!(
            "saved {} (best epoch {}, validation macro ROC-AUC {}, mAP {}, ECE {})",
            args.out.display(),
            report.summary.best_epoch,
            metric(v.roc_auc.macro_average),
            metric(v.average_precision.macro_average),
            metric(v.ece)
        ));
    }
    Ok(())
}

/// Progress on stderr: bars on a terminal (features, then each epoch), one line per stage
/// otherwise.
fn progress_reporter() -> impl FnMut(&TrainEvent) + Send + 'static {
    let terminal = std::io::stderr().is_terminal();
    let mut bar: Option<ProgressBar> = None;
    let mut features = FeatureProgress::new(terminal);
    move |event| match event {
        TrainEvent::Features {
            files_done,
            files_total,
            audio_seconds_done,
        } => features.update(*files_done, *files_total, *audio_seconds_done),
        TrainEvent::DecodeWarning {
            clip,
            time_s,
            message,
        } => features.println(&format!("warning: {clip}: at {time_s:.3} s: {message}")),
        TrainEvent::Start {
            train_segments,
            val_clips,
            device,
            ..
        } => {
            features.finish();
            note(&format!(
                "training on {train_segments} segments, validating on {val_clips} clips ({device})"
            ));
        }
        TrainEvent::EpochStart { epoch, epochs } if terminal => {
            let b = ProgressBar::new(0);
            if let Ok(style) = ProgressStyle::with_template(
                "epoch {msg} [{bar:30}] {pos}/{len} batches, loss {prefix}",
            ) {
                b.set_style(style.progress_chars("=> "));
            }
            b.set_message(format!("{epoch}/{epochs}"));
            bar = Some(b);
        }
        TrainEvent::Batch {
            batch,
            batches,
            loss,
            ..
        } => {
            if let Some(b) = &bar {
                b.set_length(*batches as u64);
                b.set_position(*batch as u64);
                b.set_prefix(format!("{loss:.4}"));
            }
        }
        TrainEvent::EpochEnd(m) => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            note(&format!(
                "epoch {}: train loss {:.4}, val loss {:.4}, val ROC-AUC {}, val mAP {}, val ECE {:.4}, {:.1} s",
                m.epoch,
                m.train_loss,
                m.val_loss,
                metric(m.val_macro_roc_auc),
                metric(m.val_map),
                m.val_ece,
                m.seconds
            ));
        }
        TrainEvent::EarlyStop { epoch, best_epoch } => {
            note(&format!(
                "early stop after epoch {epoch}: keeping epoch {best_epoch}"
            ));
        }
        TrainEvent::EngineFallback(reason) => {
            note(&format!(
                "note: training runs on burn's kernels, not sonotag's CPU engine: {reason}"
            ));
        }
        _ => {}
    }
}

/// The feature stage's progress: a bar of files done with the hours of audio so far and the
/// time left on a terminal; one summary line otherwise.
struct FeatureProgress {
    terminal: bool,
    bar: Option<ProgressBar>,
    started: std::time::Instant,
    files: usize,
    seconds: f64,
}

impl FeatureProgress {
    fn new(terminal: bool) -> Self {
        Self {
            terminal,
            bar: None,
            started: std::time::Instant::now(),
            files: 0,
            seconds: 0.0,
        }
    }

    fn update(&mut self, files_done: usize, files_total: usize, audio_seconds: f64) {
        if self.files == 0 {
            self.started = std::time::Instant::now();
        }
        self.files = files_done;
        self.seconds = audio_seconds;
        if !self.terminal {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let b = ProgressBar::new(files_total as u64);
            if let Ok(style) = ProgressStyle::with_template(
                "features [{bar:30}] {pos}/{len} files, {msg} h of audio, {eta} left",
            ) {
                b.set_style(style.progress_chars("=> "));
            }
            b
        });
        // The message first: setting the position draws the bar.
        bar.set_message(format!("{:.2}", audio_seconds / 3600.0));
        bar.set_position(files_done as u64);
    }

    /// A line on stderr above the bar (or alone, off a terminal).
    fn println(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => note(text),
        }
    }

    /// Ends the stage (once): clears the bar and says what was done.
    fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        if self.files > 0 {
            note(&format!(
                "features of {} files ({:.2} h of audio) in {:.1} s",
                self.files,
                self.seconds / 3600.0,
                self.started.elapsed().as_secs_f64()
            ));
            self.files = 0;
        }
    }
}
