#!/usr/bin/env python3
"""Side-by-side timing of ROC-AUC and average precision: scikit-learn vs sonotag-metrics.

Generates one score matrix with numpy, writes it as raw little-endian files, times
sklearn.metrics.roc_auc_score and average_precision_score (average=None) on it, runs the
Rust example `metrics_bench` on the same files (all threads, then one thread), checks that the
per-label values agree, and prints the timings and ratios (plus one JSON line at the end).

Usage (from the repository root):
    python3 benches/compare_metrics.py [--n-samples 1000000] [--n-labels 50] [--seed 0]

Needs numpy and scikit-learn (see benches/requirements.txt) and cargo.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import sklearn
from sklearn.metrics import average_precision_score, roc_auc_score


def generate(n, l, seed):
    """Prevalence 1%..30% across labels; scores = sigmoid(+-1 + 1.5 noise) in float32."""
    rng = np.random.default_rng(seed)
    prevalence = np.linspace(0.01, 0.30, l)
    y = rng.random((n, l)) < prevalence
    z = np.where(y, 1.0, -1.0) + 1.5 * rng.standard_normal((n, l))
    scores = (1.0 / (1.0 + np.exp(-z))).astype(np.float32)
    return scores, y.astype(np.uint8)


def run_rust(scores_path, targets_path, n, l, repeats, threads=None):
    env = dict(os.environ)
    if threads is not None:
        env["RAYON_NUM_THREADS"] = str(threads)
    cmd = [
        "cargo", "run", "--release", "--quiet", "-p", "sonotag-metrics",
        "--example", "metrics_bench", "--",
        "--scores", scores_path, "--targets", targets_path,
        "--n-samples", str(n), "--n-labels", str(l), "--repeats", str(repeats),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-samples", type=int, default=1_000_000)
    ap.add_argument("--n-labels", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3, help="repeats of the Rust timing (best kept)")
    ap.add_argument("--rounds", type=int, default=2,
                    help="alternating sklearn/sonotag rounds (best of each kept), to even out load")
    args = ap.parse_args()
    n, l = args.n_samples, args.n_labels

    # Build first so compilation is never inside a measurement.
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "sonotag-metrics",
                    "--example", "metrics_bench"], check=True)

    scores, targets = generate(n, l, args.seed)
    load_before = f"{os.getloadavg()[0]:.2f}"
    with tempfile.TemporaryDirectory() as tmp:
        sp, tp = os.path.join(tmp, "scores.f32"), os.path.join(tmp, "targets.u8")
        scores.astype("<f4").tofile(sp)
        targets.tofile(tp)

        inf = float("inf")
        sk_auc_s = sk_ap_s = both = both_1t = inf
        sk_auc_cpu = sk_ap_cpu = both_cpu = inf
        for _ in range(max(1, args.rounds)):
            t0, c0 = time.perf_counter(), time.process_time()
            sk_auc = roc_auc_score(targets, scores, average=None)
            t1, c1 = time.perf_counter(), time.process_time()
            sk_ap = average_precision_score(targets, scores, average=None)
            t2, c2 = time.perf_counter(), time.process_time()
            sk_auc_s, sk_ap_s = min(sk_auc_s, t1 - t0), min(sk_ap_s, t2 - t1)
            sk_auc_cpu, sk_ap_cpu = min(sk_auc_cpu, c1 - c0), min(sk_ap_cpu, c2 - c1)
            ours = run_rust(sp, tp, n, l, args.repeats)
            ours_1t = run_rust(sp, tp, n, l, args.repeats, threads=1)
            both = min(both, ours["auc_and_ap_per_label_seconds_best"])
            both_1t = min(both_1t, ours_1t["auc_and_ap_per_label_seconds_best"])
            if ours_1t.get("auc_and_ap_per_label_cpu_seconds_mean") is not None:
                both_cpu = min(both_cpu, ours_1t["auc_and_ap_per_label_cpu_seconds_mean"])

    auc_diff = float(np.max(np.abs(np.array(ours["roc_auc_per_label"], dtype=float) - sk_auc)))
    ap_diff = float(np.max(np.abs(np.array(ours["average_precision_per_label"], dtype=float) - sk_ap)))

    print(f"data: {n} x {l} float32 scores, seed {args.seed}; sklearn {sklearn.__version__}, "
          f"numpy {np.__version__}; best of {args.rounds} alternating rounds; load average before/after "
          f"{load_before} / {os.getloadavg()[0]:.2f}")
    print(f"sklearn roc_auc_score(average=None):           {sk_auc_s:8.3f} s")
    print(f"sklearn average_precision_score(average=None): {sk_ap_s:8.3f} s")
    print(f"sonotag ROC-AUC + AP together, {ours['threads']} threads:     {both:8.3f} s (best of {args.rounds}x{args.repeats})")
    print(f"sonotag ROC-AUC + AP together, 1 thread:       {both_1t:8.3f} s (best of {args.rounds}x{args.repeats})")
    print(f"ratio roc_auc  (sklearn AUC / sonotag AUC+AP): {sk_auc_s / both:6.1f}x  (1 thread: {sk_auc_s / both_1t:.1f}x)")
    print(f"ratio avg prec (sklearn AP / sonotag AUC+AP):  {sk_ap_s / both:6.1f}x  (1 thread: {sk_ap_s / both_1t:.1f}x)")
    print(f"ratio both     (sklearn AUC+AP / sonotag):     {(sk_auc_s + sk_ap_s) / both:6.1f}x")
    print(f"CPU time (not counting waits for a core): sklearn AUC {sk_auc_cpu:.3f} s, AP {sk_ap_cpu:.3f} s; "
          f"sonotag AUC+AP {both_cpu:.3f} s -> ratios {sk_auc_cpu / both_cpu:.1f}x / {sk_ap_cpu / both_cpu:.1f}x")
    print(f"max |difference| per label: AUC {auc_diff:.2e}, AP {ap_diff:.2e}")
    print(json.dumps({
        "n_samples": n, "n_labels": l, "seed": args.seed, "rounds": args.rounds,
        "sklearn_roc_auc_s": sk_auc_s, "sklearn_average_precision_s": sk_ap_s,
        "sonotag_auc_and_ap_s": both, "sonotag_auc_and_ap_1thread_s": both_1t,
        "sonotag_threads": ours["threads"],
        "sonotag_all_averages_including_micro_s": ours["all_averages_including_micro_seconds"],
        "ratio_roc_auc": sk_auc_s / both, "ratio_average_precision": sk_ap_s / both,
        "ratio_roc_auc_1thread": sk_auc_s / both_1t, "ratio_average_precision_1thread": sk_ap_s / both_1t,
        "sklearn_roc_auc_cpu_s": sk_auc_cpu, "sklearn_average_precision_cpu_s": sk_ap_cpu,
        "sonotag_auc_and_ap_cpu_s": both_cpu,
        "cpu_ratio_roc_auc": sk_auc_cpu / both_cpu, "cpu_ratio_average_precision": sk_ap_cpu / both_cpu,
        "max_abs_diff_auc": auc_diff, "max_abs_diff_ap": ap_diff,
    }))
    if auc_diff > 1e-9 or ap_diff > 1e-9:
        print("values disagree with scikit-learn", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
