//! Throughput of the reference network (../shared/refcnn.md, `Preset::SeedNet`) on a CPU
//! backend: training steps (batch 32, Adam lr 1e-3, BCE-with-logits mean) and eval-mode
//! inference, 2 threads, median of 3 repetitions.
//!
//! ```text
//! cargo run --release --example refcnn_bench -- --json [--backend flex|ndarray] [--threads 2]
//! cargo run --release --example refcnn_bench --features sonotag-nn/ndarray -- --json --backend ndarray
//! ```
//!
//! Prints one JSON line with `train_samples_per_s` and `infer_samples_per_s`: the paths the
//! `Tagger` uses (training through `Cnn::forward_train`, which runs the blocks on sonotag's NHWC
//! engine on a CPU; inference through the batch-norm-folded `FusedCnn`). Also burn's own paths
//! (`train_burn_samples_per_s`: `forward` + burn autodiff; `infer_plain_samples_per_s`: eval-mode
//! `forward`) and every repetition.

use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Tensor};
use sonotag_nn::fused::FusedCnn;
use sonotag_nn::{BackendKind, Cnn, MultiLabel, MultiLabelTargets, Preset, Task};

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

/// One repetition of training: `warmup` untimed steps, then `steps` timed ones; `engine` picks
/// `forward_train` (the Tagger's path) over burn's `forward` + autodiff.
fn train_rep(device: &Device, args: &Args, engine: bool) -> f64 {
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
    let mut step = |net: Cnn| {
        let grads = if engine {
            seed += 1;
            let (logits, pass) = net.forward_train(x.clone(), seed);
            let loss = task.loss(logits, &y).expect("shapes match");
            pass.gradients(loss.backward(), &net)
                .expect("f32 gradients")
        } else {
            let loss = task.loss(net.forward(x.clone()), &y).expect("shapes match");
            GradientsParams::from_grads(loss.backward(), &net)
        };
        optim.step(1e-3, net, grads)
    };
    for _ in 0..args.warmup {
        net = step(net);
    }
    let start = Instant::now();
    for _ in 0..args.steps {
        net = step(net);
    }
    // Read a parameter back so that asynchronous backends have finished.
    let _ = net.head.output.weight.val().into_data();
    (args.steps * BATCH) as f64 / start.elapsed().as_secs_f64()
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
    let mut train_burn = vec![];
    let mut infer = vec![];
    let mut fused = vec![];
    for _ in 0..args.reps {
        if run_train {
            train.push(train_rep(&device, &args, true));
        }
        if run_train_burn {
            train_burn.push(train_rep(&device, &args, false));
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
    if args.json {
        // train/infer_samples_per_s: the Tagger's paths; *_burn / *_plain: burn's own.
        println!(
            "{{\"backend\":\"{}\",\"threads\":{},\"batch\":{BATCH},\"train_samples_per_s\":{},\
             \"infer_samples_per_s\":{},\"train_burn_samples_per_s\":{},\
             \"infer_plain_samples_per_s\":{},\"infer_fused_samples_per_s\":{},\"train_reps\":[{}],\
             \"train_burn_reps\":[{}],\"infer_plain_reps\":[{}],\"infer_fused_reps\":[{}]}}",
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
            list(&fused)
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
