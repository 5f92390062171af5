//! Criterion benches of the reference network (benches/refcnn.md): one training step and one
//! eval-mode inference batch (plain and batch-norm-folded), batch 32, on each backend compiled
//! in (flex always; ndarray with `--features ndarray`; wgpu with `--features wgpu`, on a machine
//! with a GPU), 2 CPU threads.
//!
//! ```text
//! cargo bench -p sonotag-nn --bench refcnn
//! cargo bench -p sonotag-nn --bench refcnn --features ndarray
//! cargo bench -p sonotag-nn --bench refcnn --features wgpu -- refcnn/wgpu
//! ```

use std::time::Duration;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Tensor};
use criterion::{Criterion, criterion_group, criterion_main};
use sonotag_nn::fused::FusedCnn;
use sonotag_nn::{BackendKind, Cnn, MultiLabel, MultiLabelTargets, Preset, Task, TrainWorkspace};

const INPUT: [usize; 4] = [32, 1, 64, 101];

fn seed_net(device: &Device) -> Cnn {
    Preset::SeedNet
        .config(70)
        .init(device)
        .expect("valid preset")
}

fn bench_backend(c: &mut Criterion, kind: BackendKind) {
    let Ok(device) = kind.device() else { return };
    let mut group = c.benchmark_group(format!("refcnn/{kind}"));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));

    let train = device.clone().autodiff();
    let task = MultiLabel::default();
    let x = Tensor::<4>::random(INPUT, Distribution::Normal(0.0, 1.0), &train);
    let y = MultiLabelTargets::from_tensor_unchecked(Tensor::<2>::random(
        [32, 70],
        Distribution::Bernoulli(0.5),
        &train,
    ));
    let mut net = Some(seed_net(&train));
    let mut optim = AdamConfig::new().init();
    // Burn's own autodiff through `forward`.
    group.bench_function("train_step_b32", |b| {
        b.iter(|| {
            let model = net.take().expect("model present between steps");
            let loss = task.loss(model.forward(x.clone()), &y).expect("shapes");
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            net = Some(optim.step(1e-3, model, grads));
        })
    });
    // The Tagger's path: `forward_train_with` (the NHWC training engine on a CPU) with one
    // workspace for the run, as the Tagger's training loop keeps one.
    let mut seed = 0;
    let workspace = TrainWorkspace::new();
    group.bench_function("train_step_engine_b32", |b| {
        b.iter(|| {
            let model = net.take().expect("model present between steps");
            seed += 1;
            let (logits, pass) = model.forward_train_with(x.clone(), seed, &workspace);
            let loss = task.loss(logits, &y).expect("shapes");
            let grads = pass.gradients(loss.backward(), &model).expect("f32");
            net = Some(optim.step(1e-3, model, grads));
        })
    });

    let eval = seed_net(&device).valid();
    let x = Tensor::<4>::random(INPUT, Distribution::Normal(0.0, 1.0), &device);
    group.bench_function("infer_b32", |b| {
        b.iter(|| eval.forward(x.clone()).into_data())
    });
    let fused = FusedCnn::new(&eval).expect("folds");
    group.bench_function("infer_fused_b32", |b| {
        b.iter(|| fused.forward(x.clone()).into_data())
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    // The refcnn.md protocol uses 2 threads; ignore the error if a pool already exists.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build_global();
    // Every backend compiled in (wgpu with `--features wgpu`, on a machine with a GPU).
    for kind in BackendKind::compiled() {
        bench_backend(c, kind);
    }
}

criterion_group!(refcnn, benches);
criterion_main!(refcnn);
