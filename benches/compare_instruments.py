#!/usr/bin/env python3
"""Real audio: instrument tagging with sonotag and with the same recipe in PyTorch.

1. Renders the instrument-mixture dataset with `crates/sonotag/examples/instruments.rs` (needs
   `apt-get install fluid-soundfont-gm`): a training pool of --n-train clips (seed 1001) and a
   test set of --n-test clips (seed 2002). A clip depends only on the seed and its index, so a
   smaller run uses a prefix of a bigger one and existing renders are reused.
2. Splits the pool by index: every fifth clip (index % 5 == 4) validates, the rest train
   (sonotag's default validation share, 20%). Both sides get exactly these manifests.
3. For each training seed (--seeds), one after the other, never at the same time:
   (a) `sonotag train --manifest fit.csv --val val.csv --out MODEL --seed S --json` with the
       CLI's defaults otherwise (--epochs only if given), then
       `sonotag eval --model MODEL --manifest test.csv --report DIR --json`;
   (b) benches/instruments_torch.py with the same features, network, initialisation,
       optimiser, schedule, batch size, epochs, early stopping, calibration and seed.
   Each command runs as its own process; its wall time, CPU time (user + system) and peak
   resident memory come from os.wait4 (the child's own rusage), with the load average before
   and after it (other work on the machine inflates wall times).
4. Prints the two sides (mean +- std over seeds), checks the targets of issue #7 (the time
   target on the fastest epoch of each side, the figure least distorted by other work on the
   machine), and writes everything to OUT/results.json (also after each seed).

"training time" is the time from audio in memory to a calibrated model (sonotag's
summary.train_seconds; the PyTorch script measures the same span); the wall time of the whole
training process (start-up, WAV decoding, saving) is printed next to it.

Usage (from the workspace root):
    .venv/bin/python benches/compare_instruments.py [--n-train 2000] [--n-test 500]
        [--epochs 20] [--seeds 0,1,2] [--out bench-out/instruments] [--threads 2]
    # plumbing check: --n-train 300 --n-test 100 --epochs 3 --seeds 0
    .venv/bin/python benches/compare_instruments.py --summarise bench-out/instruments/results.json
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN_SEED, TEST_SEED = 1001, 2002


def run(cmd, log_path):
    """Runs `cmd`, stderr to `log_path`; returns its stdout and a dict with wall seconds, CPU
    seconds (user + system), peak RSS in MiB and the 1-minute load average before and after."""
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    with open(log_path, "w") as log:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT)
        out = p.stdout.read()
        _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(cmd)} failed with status {code}; see {log_path}")
    return out, {
        "wall_seconds": wall,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mib": usage.ru_maxrss / 1024.0,  # Linux reports KiB
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


def manifest_rows(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        lines = f.read().splitlines()
    return lines[1:]


def render(folder, n, seed, soundfont):
    """Renders `n` clips into `folder` unless at least `n` of this seed are there already."""
    manifest = os.path.join(folder, "manifest.csv")
    stamp = os.path.join(folder, "seed")
    have = manifest_rows(manifest)
    if len(have) >= n and os.path.exists(stamp) and open(stamp).read().strip() == str(seed):
        return have[:n]
    cmd = ["cargo", "run", "--release", "-q", "-p", "sonotag", "--example", "instruments", "--",
           folder, "--n-clips", str(n), "--seed", str(seed)]
    if soundfont:
        cmd += ["--soundfont", soundfont]
    print("rendering:", " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)
    with open(stamp, "w") as f:
        f.write(f"{seed}\n")
    return manifest_rows(manifest)[:n]


def write_manifest(path, rows):
    with open(path, "w") as f:
        f.write("path,labels\n")
        f.writelines(r + "\n" for r in rows)


def sonotag_side(args, data, seed, out):
    model = os.path.join(out, f"sonotag-model-seed{seed}")
    report = os.path.join(out, f"sonotag-report-seed{seed}")
    cmd = [args.sonotag_bin, "train", "--manifest", data["fit"], "--val", data["val"], "--out",
           model, "--seed", str(seed), "--json"]
    if args.epochs is not None:
        cmd += ["--epochs", str(args.epochs)]
    stdout, proc = run(cmd, os.path.join(out, f"sonotag-train-seed{seed}.log"))
    train = json.loads(stdout.strip().splitlines()[-1])
    cmd = [args.sonotag_bin, "eval", "--model", model, "--manifest", data["test"], "--report",
           report, "--json"]
    stdout, eval_proc = run(cmd, os.path.join(out, f"sonotag-eval-seed{seed}.log"))
    calibrated = json.loads(stdout.strip().splitlines()[-1])
    with open(os.path.join(report, "metrics.json")) as f:
        both = json.load(f)
    summary = train["summary"]
    return {
        "macro_roc_auc": calibrated["roc_auc"]["macro"],
        "micro_roc_auc": calibrated["roc_auc"]["micro"],
        "map": calibrated["average_precision"]["macro"],
        "ece_raw": both["raw"]["ece"],
        "ece_calibrated": both["calibrated"]["ece"],
        "train_seconds": summary["train_seconds"],
        "train_process_seconds": proc["wall_seconds"],
        "train_process_cpu_seconds": proc["cpu_seconds"],
        "peak_rss_mib": proc["peak_rss_mib"],
        "load": [proc["load_before"], proc["load_after"]],
        "epochs_run": len(summary["history"]),
        "best_epoch": summary["best_epoch"],
        "epoch_seconds": [e["seconds"] for e in summary["history"]],
        "eval_seconds": eval_proc["wall_seconds"],
        "report": report,
    }


def torch_side(args, data, seed, out):
    cmd = [sys.executable, os.path.join(ROOT, "benches", "instruments_torch.py"), "--train",
           data["fit"], "--val", data["val"], "--test", data["test"], "--seed", str(seed),
           "--threads", str(args.threads)]
    if args.epochs is not None:
        cmd += ["--epochs", str(args.epochs)]
    stdout, proc = run(cmd, os.path.join(out, f"torch-seed{seed}.log"))
    r = json.loads(stdout.strip().splitlines()[-1])
    r.update({"train_process_seconds": proc["wall_seconds"],
              "train_process_cpu_seconds": proc["cpu_seconds"],
              "peak_rss_mib": proc["peak_rss_mib"],
              "load": [proc["load_before"], proc["load_after"]],
              "epoch_seconds": [e["seconds"] for e in r["history"]]})
    return r


ROWS = [
    ("macro ROC-AUC", "macro_roc_auc", "{:.4f}"),
    ("micro ROC-AUC", "micro_roc_auc", "{:.4f}"),
    ("mAP", "map", "{:.4f}"),
    ("ECE raw", "ece_raw", "{:.4f}"),
    ("ECE calibrated", "ece_calibrated", "{:.4f}"),
    ("training time (s)", "train_seconds", "{:.1f}"),
    ("train process wall (s)", "train_process_seconds", "{:.1f}"),
    ("train process CPU (s)", "train_process_cpu_seconds", "{:.1f}"),
    ("fastest epoch (s)", "fastest_epoch_seconds", "{:.1f}"),
    ("median epoch (s)", "median_epoch_seconds", "{:.1f}"),
    ("load avg (1 min)", "mean_load", "{:.1f}"),
    ("peak RSS (MiB)", "peak_rss_mib", "{:.0f}"),
    ("epochs run / best", None, None),
]


def mean_std(values):
    m = statistics.fmean(values)
    return m, (statistics.stdev(values) if len(values) > 1 else 0.0)


def cell(runs, key, fmt):
    if key is None:
        return ", ".join(f"{r['epochs_run']}/{r['best_epoch']}" for r in runs)
    m, s = mean_std([r[key] for r in runs])
    return fmt.format(m) + (" +- " + fmt.format(s) if len(runs) > 1 else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n-train", type=int, default=2000, help="training pool (80%% fit, 20%% val)")
    ap.add_argument("--n-test", type=int, default=500)
    ap.add_argument("--epochs", type=int, default=None, help="default: the CLI's (20)")
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated training seeds")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="PyTorch threads")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench-out", "instruments"))
    ap.add_argument("--soundfont", default=None, help="passed to the example")
    ap.add_argument("--sonotag-bin", default=None,
                    help="a built `sonotag` binary; default: cargo build --release -p sonotag-cli")
    ap.add_argument("--summarise", metavar="RESULTS_JSON",
                    help="only print the table of an earlier run's results.json")
    args = ap.parse_args()
    if args.summarise:
        with open(args.summarise) as f:
            summarise(json.load(f))
        return
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)

    if args.sonotag_bin is None:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "sonotag-cli"], check=True,
                       cwd=ROOT)
        args.sonotag_bin = os.path.join(ROOT, "target", "release", "sonotag")
    pool_dir, test_dir = os.path.join(out, "data-train"), os.path.join(out, "data-test")
    pool = render(pool_dir, args.n_train, TRAIN_SEED, args.soundfont)
    test = render(test_dir, args.n_test, TEST_SEED, args.soundfont)
    if len(pool) < args.n_train or len(test) < args.n_test:
        sys.exit("rendering gave fewer clips than asked")
    data = {
        "fit": os.path.join(pool_dir, f"fit-{args.n_train}.csv"),
        "val": os.path.join(pool_dir, f"val-{args.n_train}.csv"),
        "test": os.path.join(test_dir, f"test-{args.n_test}.csv"),
    }
    write_manifest(data["fit"], [r for i, r in enumerate(pool) if i % 5 != 4])
    write_manifest(data["val"], [r for i, r in enumerate(pool) if i % 5 == 4])
    write_manifest(data["test"], test)

    load = os.getloadavg()
    results = {"n_train_pool": args.n_train, "n_fit": len(manifest_rows(data["fit"])),
               "n_val": len(manifest_rows(data["val"])), "n_test": args.n_test,
               "epochs": args.epochs, "seeds": seeds, "threads": args.threads,
               "load_before": load, "sonotag": [], "torch": []}
    print(f"fit {results['n_fit']} / val {results['n_val']} / test {args.n_test} clips, "
          f"epochs {args.epochs or 'CLI default'}, seeds {seeds}, load {load[0]:.1f}",
          file=sys.stderr, flush=True)
    for seed in seeds:
        s = sonotag_side(args, data, seed, out)
        print(f"seed {seed} sonotag: macro AUC {s['macro_roc_auc']:.4f}, "
              f"{s['train_seconds']:.0f} s", file=sys.stderr, flush=True)
        t = torch_side(args, data, seed, out)
        print(f"seed {seed} PyTorch: macro AUC {t['macro_roc_auc']:.4f}, "
              f"{t['train_seconds']:.0f} s", file=sys.stderr, flush=True)
        for r in (s, t):
            r["mean_load"] = statistics.fmean(r["load"])
        results["sonotag"].append(s)
        results["torch"].append(t)
        with open(os.path.join(out, "results.json"), "w") as f:  # partial, per seed
            json.dump(results, f, indent=1)
    results["load_after"] = os.getloadavg()

    summarise(results)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(json.dumps({k: v for k, v in results.items() if k not in ("sonotag", "torch")}))


def summarise(results):
    """Prints the side-by-side table and the checks; adds them to `results`."""
    so, to = results["sonotag"], results["torch"]
    for r in so + to:
        r["fastest_epoch_seconds"] = min(r["epoch_seconds"])
        r["median_epoch_seconds"] = statistics.median(r["epoch_seconds"])
    print(f"\n{'':24} {'sonotag':>22} {'PyTorch ' + torch_version(to):>22}")
    for name, key, fmt in ROWS:
        if key is None or all(key in r for r in so + to):
            print(f"{name:24} {cell(so, key, fmt):>22} {cell(to, key, fmt):>22}")
    auc_s, sd_s = mean_std([r["macro_roc_auc"] for r in so])
    auc_t, sd_t = mean_std([r["macro_roc_auc"] for r in to])
    noise = max(sd_s, sd_t, 0.002)

    def ratio(key, pick=lambda v: mean_std(v)[0]):
        return pick([r[key] for r in so]) / pick([r[key] for r in to])

    # Wall times depend on what else runs on the machine, and PyTorch's OpenMP threads slow
    # down far more than burn's rayon pool when a core is busy: the fastest epoch of all runs
    # (training + validation, closest to an idle machine) is the time that is checked.
    epoch_ratio = ratio("epoch_seconds", lambda v: min(min(e) for e in v))
    time_ratio = ratio("train_seconds")
    checks = {
        "macro AUC >= PyTorch within noise": auc_s >= auc_t - 2 * noise,
        "macro AUC >= 0.97": auc_s >= 0.97,
        "calibrated ECE <= 0.02": mean_std([r["ece_calibrated"] for r in so])[0] <= 0.02,
        "fastest epoch <= 1.5x PyTorch's": epoch_ratio <= 1.5,
    }
    print(f"\nmacro AUC difference {auc_s - auc_t:+.4f} (noise {noise:.4f}); sonotag / PyTorch: "
          f"fastest epoch {epoch_ratio:.2f}, mean training time {time_ratio:.2f}")
    for name, ok in checks.items():
        print(f"  {'PASS' if ok else 'MISS'}  {name}")
    results["checks"] = checks
    results["fastest_epoch_ratio"] = epoch_ratio
    results["time_ratio"] = time_ratio


def torch_version(runs):
    return runs[0].get("torch_version", "") if runs else ""


if __name__ == "__main__":
    main()
