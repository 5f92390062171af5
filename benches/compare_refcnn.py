#!/usr/bin/env python3
"""Reference network (crates/sonotag-nn/benches/refcnn.md) in PyTorch and in sonotag, in one run,
with ratios.

Measures, with the protocol of refcnn.md (batch 32, Adam lr 1e-3, BCE-with-logits mean, >= 3
warm-up and 20 timed training steps, eval-mode inference without grad, 2 threads, median of 3
repetitions):
  * PyTorch eager (train and infer) and torch.compile (infer, and train when it compiles);
  * sonotag's `refcnn_bench` example on each requested burn backend.
The two sides run one after the other, never at the same time.

Usage (from the workspace root):
    python3 benches/compare_refcnn.py [--backends flex,ndarray] [--threads 2] [--no-compile]
    # On a GPU machine: PyTorch on CUDA against a prebuilt wgpu refcnn_bench binary
    python3 benches/compare_refcnn.py --device cuda --backends wgpu \
        --sonotag-bin target/release/examples/refcnn_bench
    python3 benches/compare_refcnn.py --param-counts   # parameter counts used by the tests
"""
import argparse
import json
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn

BATCH, N_LABELS, N_MELS, N_FRAMES = 32, 70, 64, 101


class RefCNN(nn.Module):
    """refcnn.md: 4 x (conv3x3 + BN + ReLU + maxpool2), GAP, dropout 0.2, Linear 256 -> 70."""

    def __init__(self, n_labels=N_LABELS):
        super().__init__()
        layers, c_in = [], 1
        for c_out in (32, 64, 128, 256):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out),
                       nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(256, n_labels)

    def forward(self, x):
        x = self.features(x).mean(dim=(2, 3))
        return self.fc(self.dropout(x))


class PannsBlock(nn.Module):
    """PANNs ConvBlock5x5 (one conv) or ConvBlock (two 3x3 convs): no bias, BN, ReLU, avg pool 2."""

    def __init__(self, c_in, c_out, kernel, n_convs):
        super().__init__()
        convs = []
        for i in range(n_convs):
            convs += [nn.Conv2d(c_in if i == 0 else c_out, c_out, kernel, padding=kernel // 2,
                                bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
        self.body = nn.Sequential(*convs, nn.AvgPool2d(2), nn.Dropout(0.2))

    def forward(self, x):
        return self.body(x)


class Panns(nn.Module):
    """PANNs Cnn6 (kernel 5, one conv) / Cnn10 (kernel 3, two convs) without the input bn0."""

    def __init__(self, kernel, n_convs, n_labels=527):
        super().__init__()
        widths, c_in, blocks = (64, 128, 256, 512), 1, []
        for w in widths:
            blocks.append(PannsBlock(c_in, w, kernel, n_convs))
            c_in = w
        self.blocks = nn.Sequential(*blocks)
        self.fc1 = nn.Linear(512, 512)
        self.fc_out = nn.Linear(512, n_labels)


def params(m):
    return sum(p.numel() for p in m.parameters())


def params_and_bn_stats(m):
    """Parameters plus batch-norm running mean/var: what burn's `num_params` counts."""
    return params(m) + sum(b.numel() for n, b in m.named_buffers() if n.endswith(("running_mean", "running_var")))


def median_of(reps, fn):
    return statistics.median(fn() for _ in range(reps))


DEVICE = torch.device("cpu")


def sync():
    """Wait for queued GPU work so that the clock measures it (a no-op on the CPU)."""
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


def torch_train(model, steps, warmup):
    model = model.to(DEVICE)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    x = torch.randn(BATCH, 1, N_MELS, N_FRAMES, device=DEVICE)
    y = torch.randint(0, 2, (BATCH, N_LABELS), device=DEVICE).float()
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return steps * BATCH / (time.perf_counter() - t0)


def torch_infer(model, batches, warmup):
    model = model.to(DEVICE)
    x = torch.randn(BATCH, 1, N_MELS, N_FRAMES, device=DEVICE)
    model.eval()
    with torch.inference_mode():
        for _ in range(warmup):
            model(x).cpu()
        sync()
        t0 = time.perf_counter()
        for _ in range(batches):
            # Bring the logits to the host, as sonotag's side does.
            model(x).cpu()
    return batches * BATCH / (time.perf_counter() - t0)


def sonotag(backend, threads, reps, extra, binary=None):
    if binary:
        cmd = [binary]
    else:
        cmd = ["cargo", "run", "--release", "-q", "-p", "sonotag-nn", "--example", "refcnn_bench"]
        if backend != "flex":
            cmd += ["--features", f"sonotag-nn/{backend}"]
        cmd += ["--"]
    cmd += ["--json", "--backend", backend, "--threads", str(threads), "--reps", str(reps)]
    cmd += extra.split()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--backends", default="flex", help="comma-separated burn backends")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--infer-batches", type=int, default=30)
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    ap.add_argument("--param-counts", action="store_true")
    ap.add_argument("--sonotag-extra", default="",
                    help="extra refcnn_bench arguments, e.g. '--steps 3' for the slow ndarray")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                    help="where PyTorch runs (cuda: compare with sonotag's wgpu backend)")
    ap.add_argument("--sonotag-bin", default=None,
                    help="a prebuilt refcnn_bench binary to run instead of `cargo run`")
    args = ap.parse_args()
    global DEVICE
    DEVICE = torch.device(args.device)

    if args.param_counts:
        nets = {"seednet_70": RefCNN(), "cnn6_527": Panns(5, 1), "cnn10_527": Panns(3, 2)}
        print(json.dumps({"parameters": {k: params(m) for k, m in nets.items()},
                          "parameters_and_bn_stats": {k: params_and_bn_stats(m) for k, m in nets.items()}}))
        return

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    results = {"torch_version": torch.__version__, "threads": args.threads, "device": args.device}
    if DEVICE.type == "cuda":
        results["gpu"] = torch.cuda.get_device_name(0)
    results["torch_eager_train"] = median_of(
        args.reps, lambda: torch_train(RefCNN(), args.steps, args.warmup))
    results["torch_eager_infer"] = median_of(
        args.reps, lambda: torch_infer(RefCNN(), args.infer_batches, args.warmup))
    if not args.no_compile:
        for key, fn in (("torch_compile_infer", lambda: torch_infer(
                torch.compile(RefCNN()), args.infer_batches, args.warmup)),
                        ("torch_compile_train", lambda: torch_train(
                            torch.compile(RefCNN()), args.steps, args.warmup))):
            try:
                results[key] = median_of(args.reps, fn)
            except Exception as e:  # inductor needs a C++ toolchain; report, do not fail
                results[key] = None
                print(f"{key}: torch.compile failed: {type(e).__name__}: {e}", file=sys.stderr)

    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        r = sonotag(backend, args.threads, args.reps, args.sonotag_extra, args.sonotag_bin)
        # train/infer: the paths the Tagger uses (CPU training engine, BN-folded inference);
        # *_burn / *_plain: burn's own autodiff and eval-mode forward.
        results[f"sonotag_{backend}_train"] = r["train_samples_per_s"]
        results[f"sonotag_{backend}_infer"] = r["infer_samples_per_s"]
        results[f"sonotag_{backend}_train_burn"] = r.get("train_burn_samples_per_s")
        results[f"sonotag_{backend}_infer_plain"] = r.get("infer_plain_samples_per_s")

    print(f"{'':28} {'train/s':>9} {'infer/s':>9}")
    print(f"{'torch eager':28} {results['torch_eager_train']:9.1f} {results['torch_eager_infer']:9.1f}")
    ct, ci = results.get("torch_compile_train"), results.get("torch_compile_infer")
    if ci is not None:
        print(f"{'torch.compile':28} {ct if ct is None else round(ct, 1)!s:>9} {ci:9.1f}")
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        tr, inf = results[f"sonotag_{backend}_train"], results[f"sonotag_{backend}_infer"]
        tb, ip = results[f"sonotag_{backend}_train_burn"], results[f"sonotag_{backend}_infer_plain"]
        print(f"{'sonotag ' + backend:28} {tr:9.1f} {inf:9.1f}")
        if tb is not None and ip is not None:
            print(f"{'  (burn autodiff / plain)':28} {tb:9.1f} {ip:9.1f}")
        eager_tr, eager_inf = results["torch_eager_train"], results["torch_eager_infer"]
        ratios = {"train_vs_eager": tr / eager_tr, "infer_vs_eager": inf / eager_inf}
        if ct:
            ratios["train_vs_compile"] = tr / ct
        if ci:
            ratios["infer_vs_compile"] = inf / ci
        for name, value in ratios.items():
            results[f"ratio_{backend}_{name}"] = value
            print(f"  ratio {name:24} {value:.2f}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
