//! Saving is atomic: a process killed (SIGKILL) at any moment while saving leaves either the old
//! model or the new one, never a mix.
//!
//! The test re-runs its own binary as a child that saves two different models over the same
//! folder in a loop, kills it at varying moments, and loads what is left.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sonotag::dataset::Dataset;
use sonotag::synthetic::{SYNTHETIC_LABELS, SyntheticConfig};
use sonotag::{ModelSpec, PresetName, Tagger};

/// Set in the child: the folder holding models `a` and `b`, and the target folder to save to.
const CHILD_ENV: &str = "SONOTAG_CRASH_SAFETY_CHILD";
/// The full name of the test below in the integration binary (run with `--exact`).
const TEST_NAME: &str = "crash_safety::killed_saves_leave_the_old_or_the_new_model";

fn probe() -> Vec<f32> {
    SyntheticConfig {
        n_clips: 1,
        seed: 77,
        ..Default::default()
    }
    .clip(0)
    .load()
    .unwrap()
    .0
    .into_owned()
}

fn child(root: &Path) -> ! {
    let a = Tagger::load(root.join("a")).expect("model a");
    let b = Tagger::load(root.join("b")).expect("model b");
    let target = root.join("target");
    for i in 0u64.. {
        let model = if i % 2 == 0 { &a } else { &b };
        model.save(&target).expect("save");
    }
    unreachable!()
}

#[test]
fn killed_saves_leave_the_old_or_the_new_model() {
    if let Some(root) = std::env::var_os(CHILD_ENV) {
        child(Path::new(&root));
    }
    let dir = tempfile::tempdir().unwrap();
    let train = Dataset::from_clips(
        SyntheticConfig {
            n_clips: 24,
            ..Default::default()
        }
        .generate(),
    );
    let builder = || {
        Tagger::builder()
            .labels(SYNTHETIC_LABELS)
            .model(ModelSpec::Preset(PresetName::Tiny))
            .epochs(1)
    };
    let (a, _) = builder().seed(1).train(&train).unwrap();
    let (b, _) = builder().seed(2).train(&train).unwrap();
    a.save(dir.path().join("a")).unwrap();
    b.save(dir.path().join("b")).unwrap();
    let samples = probe();
    let expected_a = a.predict_samples(&samples, 16_000).unwrap().clip;
    let expected_b = b.predict_samples(&samples, 16_000).unwrap().clip;
    assert_ne!(expected_a, expected_b, "the two models must differ");

    let target = dir.path().join("target");
    let mut loaded = 0;
    for round in 0..12u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([TEST_NAME, "--exact", "--test-threads=1", "--nocapture"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Let it start and save a few times, then kill it at a varying moment.
        let started = Instant::now();
        while !target.join("sonotag.json").exists() && started.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(7 * round + 3));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();

        let model = Tagger::load(&target)
            .unwrap_or_else(|e| panic!("round {round}: the killed save left a broken model: {e}"));
        let clip = model.predict_samples(&samples, 16_000).unwrap().clip;
        assert!(
            clip == expected_a || clip == expected_b,
            "round {round}: the loaded model is neither the old nor the new one"
        );
        loaded += 1;
    }
    assert_eq!(loaded, 12);
}

/// Set in the child: the checkpoint folder of a training run to kill mid-epoch.
const TRAIN_CHILD_ENV: &str = "SONOTAG_RESUME_CHILD";
const RESUME_TEST: &str = "crash_safety::killed_training_resumes_to_the_same_weights";

fn resumable(dir: &Path) -> sonotag::TaggerBuilder {
    // SpecAugment and mixup draw random numbers every batch: resuming must replay them too.
    Tagger::builder()
        .labels(SYNTHETIC_LABELS)
        .model(ModelSpec::Preset(PresetName::Tiny))
        .epochs(3)
        .spec_augment(true)
        .mixup(Some(0.4))
        .seed(5)
        .checkpoint_dir(dir)
        .resume(true)
}

fn resume_data() -> Dataset {
    Dataset::from_clips(
        SyntheticConfig {
            n_clips: 48,
            seed: 3,
            ..Default::default()
        }
        .generate(),
    )
}

#[test]
fn killed_training_resumes_to_the_same_weights() {
    if let Some(dir) = std::env::var_os(TRAIN_CHILD_ENV) {
        let _ = resumable(Path::new(&dir))
            .on_event(|event| {
                if let sonotag::TrainEvent::Batch {
                    epoch: 2, batch: 2, ..
                } = event
                {
                    // kill -9 ourselves in the middle of epoch 2: no unwinding, no cleanup.
                    let _ = Command::new("kill")
                        .args(["-9", &std::process::id().to_string()])
                        .status();
                    std::thread::sleep(Duration::from_secs(60));
                }
            })
            .train(&resume_data());
        unreachable!("the child should have been killed");
    }
    let data = resume_data();
    let dir = tempfile::tempdir().unwrap();
    let (whole, whole_report) = resumable(&dir.path().join("whole")).train(&data).unwrap();

    let killed = dir.path().join("killed");
    let status = Command::new(std::env::current_exe().unwrap())
        .args([RESUME_TEST, "--exact", "--test-threads=1", "--nocapture"])
        .env(TRAIN_CHILD_ENV, &killed)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the child was meant to be killed");
    let card = std::fs::read_to_string(killed.join("checkpoint.json")).unwrap();
    assert!(card.contains("\"epoch\": 1"), "{card}");

    let mut epochs_run = Vec::new();
    let (resumed, resumed_report) = resumable(&killed)
        .on_event(move |event| {
            if let sonotag::TrainEvent::EpochStart { epoch, .. } = event {
                epochs_run.push(*epoch);
                assert_ne!(*epoch, 1, "epoch 1 was checkpointed and must not run again");
            }
        })
        .train(&data)
        .unwrap();
    let losses = |r: &sonotag::TrainReport| {
        r.summary
            .history
            .iter()
            .map(|m| (m.epoch, m.train_loss, m.val_loss))
            .collect::<Vec<_>>()
    };
    assert_eq!(losses(&whole_report), losses(&resumed_report));
    let samples = probe();
    assert_eq!(
        whole.predict_samples(&samples, 16_000).unwrap(),
        resumed.predict_samples(&samples, 16_000).unwrap()
    );

    // A checkpoint of another run is refused, not silently continued.
    let err = resumable(&killed).epochs(4).train(&data).unwrap_err();
    assert!(matches!(err, sonotag::Error::Checkpoint { .. }), "{err}");
    assert!(err.to_string().contains("checkpoint.json"), "{err}");
}
