//! Throughput of the reference network (benches/refcnn.md, `Preset::SeedNet`) on a CPU
//! backend: training steps (batch 32, Adam lr 1e-3, BCE-with-logits mean) and eval-mode
//! inference, 2 threads, median of 3 repetitions.
//!
//! ```text
//! cargo run --release --example refcnn_bench -- --json [--backend flex|ndarray] [--threads 2]
//! cargo run --release --example refcnn_bench --features sonotag-nn/ndarray -- --json --backend ndarray
//! ```
//!
//! Prints one JSON line with `train_samples_per_s` and `infer_samples_per_s`: the paths the
//! `Tagger` uses (training through `Cnn::forward_train_with`, which runs the blocks on sonotag's NHWC
//! engine on a CPU; inference through the batch-norm-folded `FusedCnn`). Also burn's own paths
//! (`train_burn_samples_per_s`: `forward` + burn autodiff; `infer_plain_samples_per_s`: eval-mode
//! `forward`) and every repetition, and `train_phase_ms`: milliseconds per step of the engine
//! path's forward, burn's head backward, the convolutions' backward and the optimiser.

use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Tensor};
use sonotag_nn::fused::FusedCnn;
use sonotag_nn::{BackendKind, Cnn, MultiLabel, MultiLabelTargets, Preset, Task, TrainWorkspace};

const BATCH: usize = 32;
const N_LABELS: usize = 70;
const INPUT: [usize; 4] = [BATCH, 1, 64, 101];

struct Args {
    json: bool,
    backend: BackendKind,
    threads: usize,
    reps: usize,
    warmup: usize,
    steps: usize,
    infer_batches: usize,
    only: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        json: false,
        backend: BackendKind::default_cpu().ok_or("no CPU backend compiled in")?,
        threads: 2,
        reps: 3,
        warmup: 3,
        steps: 20,
        infer_batches: 30,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        let number = |s: String, name: &str| {
            s.parse::<usize>()
                .map_err(|e| format!("{name}: `{s}` is not a count ({e})"))
        };
        match flag.as_str() {
            "--json" => args.json = true,
            "--backend" => {
                args.backend = value("--backend")?.parse().map_err(|e| format!("{e}"))?
            }
            "--threads" => args.threads = number(value("--threads")?, "--threads")?,
            "--reps" => args.reps = number(value("--reps")?, "--reps")?.max(1),
            "--warmup" => args.warmup = number(value("--warmup")?, "--warmup")?,
            "--steps" => args.steps = number(value("--steps")?, "--steps")?.max(1),
            "--infer-batches" => {
                args.infer_batches = number(value("--infer-batches")?, "--infer-batches")?.max(1)
            }
            "--only" => args.only = Some(value("--only")?),
            "-h" | "--help" => {
                println!(
                    "refcnn_bench [--json] [--backend flex|ndarray|wgpu] [--threads N] [--reps N] \
                     [--warmup N] [--steps N] [--infer-batches N] [--only train|train-engine|train-burn|infer|plain|fused]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}` (try --help)")),
        }
    }
    Ok(args)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn model(device: &Device) -> Cnn {
    Preset::SeedNet
        .config(N_LABELS)
        .init(device)
        .expect("the reference configuration is valid")
}

/// Mean milliseconds per training step of each phase of the engine path: what the 16-core
/// runs need to see which part stops scaling.
#[derive(Default, Clone, Copy)]
struct Phases {
    forward: f64,
    head_backward: f64,
    conv_backward: f64,
    optimizer: f64,
}

/// One repetition of training: `warmup` untimed steps, then `steps` timed ones; `engine` picks
/// `forward_train` (the Tagger's path) over burn's `forward` + autodiff. Returns samples/s and,
/// for the engine path, the time per phase.
fn train_rep(device: &Device, args: &Args, engine: bool) -> (f64, Phases) {
    let train = device.clone().autodiff();
    let mut net = model(&train);
    let mut optim = AdamConfig::new().init();
    let task = MultiLabel::default();
    let x = Tensor::<4>::random(INPUT, Distribution::Normal(0.0, 1.0), &train);
    let y = MultiLabelTargets::from_tensor_unchecked(Tensor::<2>::random(
        [BATCH, N_LABELS],
        Distribution::Bernoulli(0.5),
        &train,
    ));
    let mut seed = 0;
    let mut phases = Phases::default();
    // One workspace for the run, as the Tagger's training loop keeps one: the engine reuses
    // its large buffers from step to step.
    let workspace = TrainWorkspace::new();
    let mut step = |net: Cnn, phases: &mut Phases| {
        let grads = if engine {
            seed += 1;
            let t0 = Instant::now();
            let (logits, pass) = net.forward_train_with(x.clone(), seed, &workspace);
            let t1 = Instant::now();
            let loss = task.loss(logits, &y).expect("shapes match");
            let head = loss.backward();
            let t2 = Instant::now();
            let grads = pass.gradients(head, &net).expect("f32 gradients");
            let t3 = Instant::now();
            phases.forward += (t1 - t0).as_secs_f64();
            phases.head_backward += (t2 - t1).as_secs_f64();
            phases.conv_backward += (t3 - t2).as_secs_f64();
            grads
        } else {
            let loss = task.loss(net.forward(x.clone()), &y).expect("shapes match");
            GradientsParams::from_grads(loss.backward(), &net)
        };
        let t = Instant::now();
        let net = optim.step(1e-3, net, grads);
        phases.optimizer += t.elapsed().as_secs_f64();
        net
    };
    for _ in 0..args.warmup {
        net = step(net, &mut Phases::default());
    }
    let start = Instant::now();
    for _ in 0..args.steps {
        net = step(net, &mut phases);
    }
    // Read a parameter back so that asynchronous backends have finished.
    let _ = net.head.output.weight.val().into_data();
    let per_step_ms = 1e3 / args.steps as f64;
    let phases = Phases {
        forward: phases.forward * per_step_ms,
        head_backward: phases.head_backward * per_step_ms,
        conv_backward: phases.conv_backward * per_step_ms,
        optimizer: phases.optimizer * per_step_ms,
    };
    (
        (args.steps * BATCH) as f64 / start.elapsed().as_secs_f64(),
        phases,
    )
}

/// One repetition of eval-mode inference with `forward`.
fn infer_rep(forward: &dyn Fn(Tensor<4>) -> Tensor<2>, device: &Device, args: &Args) -> f64 {
    let x = Tensor::<4>::random(INPUT, Distribution::Normal(0.0, 1.0), device);
    for _ in 0..args.warmup {
        let _ = forward(x.clone()).into_data();
    }
    let start = Instant::now();
    for _ in 0..args.infer_batches {
        // Reading the logits back is part of inference (and syncs asynchronous backends).
        let _ = forward(x.clone()).into_data();
    }
    (args.infer_batches * BATCH) as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("refcnn_bench: {e}");
            std::process::exit(2);
        }
    };
    // Both CPU backends run on rayon's global pool (and gemm on rayon): size it first.
    if let Err(e) = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build_global()
    {
        eprintln!("refcnn_bench: could not size the thread pool: {e}");
        std::process::exit(2);
    }
    let device = match args.backend.device() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("refcnn_bench: {e}");
            std::process::exit(2);
        }
    };
    device.seed(0);

    let only = args.only.as_deref();
    let run_train = matches!(only, None | Some("train") | Some("train-engine"));
    let run_train_burn = matches!(only, None | Some("train") | Some("train-burn"));
    let run_plain = matches!(only, None | Some("infer") | Some("plain"));
    let run_fused = matches!(only, None | Some("infer") | Some("fused"));
    let mut train = vec![];
    let mut phases = Phases::default();
    let mut train_burn = vec![];
    let mut infer = vec![];
    let mut fused = vec![];
    for _ in 0..args.reps {
        if run_train {
            let (rate, p) = train_rep(&device, &args, true);
            train.push(rate);
            // The phases of the last repetition: warm caches, like the rates' median.
            phases = p;
        }
        if run_train_burn {
            train_burn.push(train_rep(&device, &args, false).0);
        }
        let net = model(&device).valid();
        if run_plain {
            infer.push(infer_rep(&|x| net.forward(x), &device, &args));
        }
        if run_fused {
            let folded = FusedCnn::new(&net).expect("SeedNet folds");
            fused.push(infer_rep(&|x| folded.forward(x), &device, &args));
        }
    }
    let med = |v: &Vec<f64>| {
        if v.is_empty() {
            "null".to_string()
        } else {
            format!("{:.2}", median(v.clone()))
        }
    };
    let list = |v: &Vec<f64>| {
        v.iter()
            .map(|x| format!("{x:.2}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let phase_json = if train.is_empty() {
        "null".to_string()
    } else {
        format!(
            "{{\"forward\":{:.2},\"head_backward\":{:.2},\"conv_backward\":{:.2},\"optimizer\":{:.2}}}",
            phases.forward, phases.head_backward, phases.conv_backward, phases.optimizer
        )
    };
    if args.json {
        // train/infer_samples_per_s: the Tagger's paths; *_burn / *_plain: burn's own.
        println!(
            "{{\"backend\":\"{}\",\"threads\":{},\"batch\":{BATCH},\"train_samples_per_s\":{},\
             \"infer_samples_per_s\":{},\"train_burn_samples_per_s\":{},\
             \"infer_plain_samples_per_s\":{},\"infer_fused_samples_per_s\":{},\"train_reps\":[{}],\
             \"train_burn_reps\":[{}],\"infer_plain_reps\":[{}],\"infer_fused_reps\":[{}],\
             \"train_phase_ms\":{}}}",
            args.backend,
            args.threads,
            med(&train),
            med(&fused),
            med(&train_burn),
            med(&infer),
            med(&fused),
            list(&train),
            list(&train_burn),
            list(&infer),
            list(&fused),
            phase_json
        );
    } else {
        println!(
            "SeedNet on {} ({} threads, batch {BATCH}, median of {}):",
            args.backend, args.threads, args.reps
        );
        println!(
            "  train (engine) {} samples/s  [{}]",
            med(&train),
            list(&train)
        );
        if !train.is_empty() {
            println!(
                "    ms per step: forward {:.2}, head backward {:.2}, conv backward {:.2}, \
                 optimizer {:.2}",
                phases.forward, phases.head_backward, phases.conv_backward, phases.optimizer
            );
        }
        println!(
            "  train (burn)   {} samples/s  [{}]",
            med(&train_burn),
            list(&train_burn)
        );
        println!(
            "  infer (burn)   {} samples/s  [{}]",
            med(&infer),
            list(&infer)
        );
        println!(
            "  infer (fused)  {} samples/s  [{}]",
            med(&fused),
            list(&fused)
        );
    }
}
