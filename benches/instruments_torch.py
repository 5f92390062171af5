#!/usr/bin/env python3
"""sonotag's default training recipe, re-implemented in PyTorch + librosa, for
benches/compare_instruments.py.

Everything follows what `sonotag train` does with its defaults (crates/sonotag/src/config.rs,
tagger.rs, train.rs, prep.rs; crates/sonotag-audio/src/mel/config.rs; crates/sonotag-nn):

* audio: WAV decoded to float32 (int16 / 32768), cut into 1 s windows (hop 1 s); a residual
  of at least 0.25 s is kept and zero-padded, a shorter one dropped;
* features: librosa log-mel with sonotag's default `MelConfig` (16 kHz, n_fft 512, Hann window
  400, hop 160, 64 Slaney mel bands 50 Hz - 8 kHz with Slaney norm, power 2, centred frames
  with zero padding, 10 log10(max(S, 1e-10)), no top_db): 64 x 101 per window;
* per-band z-score normaliser fitted on the training windows only (population std, floor 1e-3);
* network: the `SeedNet` preset: 4 x [conv 3x3 (bias, "same") + batch norm + ReLU + max pool
  2x2], widths 32-64-128-256, mean over frequency and time, dropout 0.2, Linear; Kaiming-normal
  convolutions (fan-in, gain sqrt 2) with zero bias, Xavier-uniform Linear with gain
  sqrt(1 - 0.2), output bias at the log-odds of each label's training prior;
* training: BCE with logits (mean), AdamW (lr 1e-3, betas 0.9/0.999, eps 1e-5 as burn,
  weight decay 1e-4), gradient norm clipped to 5 per parameter tensor (burn clips each tensor),
  cosine schedule with 5% linear warm-up over all steps, batch 32 windows drawn from a fresh
  shuffle each epoch, every window labelled with its clip's labels;
* each epoch: clip logits on the validation clips (max over the clip's windows), validation
  mAP; the weights of the best mAP are kept; stop after 5 epochs without improvement;
* calibration: one temperature fitted on the validation clip logits (mean NLL, T in
  [0.05, 50]);
* test metrics on clip level: ROC-AUC (macro over labels with both classes, and micro), mAP,
  ECE (15 equal-width bins over all clip x label pairs, torchmetrics' binning) of the raw and
  the calibrated probabilities.

Prints one JSON object on the last line of stdout.

Usage:
    .venv/bin/python benches/instruments_torch.py --train fit.csv --val val.csv --test test.csv \
        [--epochs 20] [--seed 0] [--threads 2]
"""
import argparse
import copy
import csv
import json
import math
import os
import sys
import time

import librosa
import numpy as np
import soundfile as sf
import torch
import torch.nn as nn
from scipy.optimize import minimize_scalar
from sklearn.metrics import average_precision_score, roc_auc_score

SR = 16_000
WINDOW = SR  # 1 s
MIN_RESIDUAL = SR // 4  # 0.25 s
MEL = dict(sr=SR, n_fft=512, win_length=400, hop_length=160, window="hann", center=True,
           pad_mode="constant", power=2.0, n_mels=64, fmin=50.0, fmax=SR / 2, htk=False,
           norm="slaney")


def read_manifest(path):
    base = os.path.dirname(os.path.abspath(path))
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [(os.path.join(base, r["path"]), [l for l in r["labels"].split(";") if l]) for r in rows]


def decode(rows):
    clips = []
    for path, _ in rows:
        y, sr = sf.read(path, dtype="float32", always_2d=True)
        if sr != SR:
            raise SystemExit(f"{path}: {sr} Hz, expected {SR} (the dataset is rendered at 16 kHz)")
        clips.append(y.mean(axis=1))
    return clips


def windows(y):
    """sonotag_audio::segment with the default SegmentConfig."""
    out, start = [], 0
    while start + WINDOW <= len(y):
        out.append(y[start:start + WINDOW])
        start += WINDOW
    residual = len(y) - start
    if residual > 0 and (residual >= MIN_RESIDUAL or not out):
        out.append(np.pad(y[start:], (0, WINDOW - residual)))
    return out


def log_mel(clips):
    """[n_windows, 64, 101] float32 and the clip index of every window."""
    segs, clip_of = [], []
    for i, y in enumerate(clips):
        w = windows(y)
        segs.extend(w)
        clip_of.extend([i] * len(w))
    x = np.stack(segs).astype(np.float32)
    feats = []
    for start in range(0, len(x), 256):
        s = librosa.feature.melspectrogram(y=x[start:start + 256], **MEL)
        feats.append(10.0 * np.log10(np.maximum(s, 1e-10)))
    return np.concatenate(feats).astype(np.float32), np.asarray(clip_of)


class SeedNet(nn.Module):
    def __init__(self, n_labels):
        super().__init__()
        layers, c_in = [], 1
        for c_out in (32, 64, 128, 256):
            conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=True)
            nn.init.kaiming_normal_(conv.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(conv.bias)
            layers += [conv, nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(256, n_labels)
        nn.init.xavier_uniform_(self.fc.weight, gain=math.sqrt(1.0 - 0.2))
        nn.init.zeros_(self.fc.bias)

    def forward(self, x):
        return self.fc(self.dropout(self.features(x).mean(dim=(2, 3))))


def cosine_rate(base, step, total, warmup=0.05):
    """sonotag::Schedule::Cosine { warmup_fraction: 0.05 }."""
    total = max(total, 1)
    t = step / total
    if t < warmup:
        return base * (step + 1) / max(warmup * total, 1.0)
    return base * 0.5 * (1.0 + math.cos(math.pi * (t - warmup) / max(1.0 - warmup, 1e-12)))


@torch.no_grad()
def clip_logits(model, x, clip_of, n_clips, batch=64):
    model.eval()
    out = torch.cat([model(torch.from_numpy(x[i:i + batch]).unsqueeze(1))
                     for i in range(0, len(x), batch)]).numpy()
    pooled = np.full((n_clips, out.shape[1]), -np.inf, dtype=np.float32)
    np.maximum.at(pooled, clip_of, out)
    return pooled


def macro_ap(y, s):
    keep = y.sum(axis=0) > 0
    return float(np.mean([average_precision_score(y[:, j], s[:, j]) for j in np.flatnonzero(keep)]))


def macro_auc(y, s):
    keep = (y.sum(axis=0) > 0) & (y.sum(axis=0) < len(y))
    return float(np.mean([roc_auc_score(y[:, j], s[:, j]) for j in np.flatnonzero(keep)]))


def ece(probs, targets, n_bins=15):
    """torchmetrics BinaryCalibrationError(n_bins, norm='l1') on flattened pairs."""
    p = probs.ravel().astype(np.float32)
    t = targets.ravel().astype(np.float64)
    edges = np.linspace(0, 1, n_bins + 1, dtype=np.float32)
    idx = np.searchsorted(edges[1:-1], p, side="right")
    idx[p >= 1.0] = n_bins  # torchmetrics: p == 1 is a bin of its own
    total = 0.0
    for b in range(n_bins + 1):
        m = idx == b
        if m.any():
            total += m.sum() / len(p) * abs(t[m].mean() - p[m].astype(np.float64).mean())
    return float(total)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -80, 80)))


def fit_temperature(logits, targets):
    z, y = logits.ravel().astype(np.float64), targets.ravel().astype(np.float64)

    def nll(log_t):
        s = z / math.exp(log_t)
        return float(np.mean(np.logaddexp(0.0, s) - y * s))

    r = minimize_scalar(nll, bounds=(math.log(0.05), math.log(50.0)), method="bounded",
                        options={"xatol": 1e-6})
    return math.exp(r.x)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--train", required=True, help="training manifest")
    ap.add_argument("--val", required=True, help="validation manifest")
    ap.add_argument("--test", required=True, help="test manifest")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--patience", type=int, default=5, help="0 = never stop early")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    train_rows, val_rows, test_rows = (read_manifest(p) for p in (args.train, args.val, args.test))
    labels = sorted({l for _, ls in train_rows for l in ls})
    index = {l: j for j, l in enumerate(labels)}

    def targets(rows):
        y = np.zeros((len(rows), len(labels)), dtype=np.float32)
        for i, (_, ls) in enumerate(rows):
            for l in ls:
                y[i, index[l]] = 1.0
        return y

    y_train, y_val, y_test = targets(train_rows), targets(val_rows), targets(test_rows)
    train_audio, val_audio = decode(train_rows), decode(val_rows)

    # The clock starts with the audio in memory, as sonotag's summary.train_seconds does.
    started, cpu_started = time.perf_counter(), time.process_time()
    x_train, clip_train = log_mel(train_audio)
    x_val, clip_val = log_mel(val_audio)
    frames = x_train.transpose(1, 0, 2).reshape(x_train.shape[1], -1).astype(np.float64)
    mean = frames.mean(axis=1).astype(np.float32)[None, :, None]
    std = np.maximum(frames.std(axis=1), 1e-3).astype(np.float32)[None, :, None]
    x_train = (x_train - mean) / std
    x_val = (x_val - mean) / std
    features_s = time.perf_counter() - started

    model = SeedNet(len(labels))
    priors = np.clip(y_train.mean(axis=0), 1e-4, 1 - 1e-4)
    with torch.no_grad():
        model.fc.bias.copy_(torch.from_numpy(np.log(priors / (1 - priors)).astype(np.float32)))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-5,
                            weight_decay=args.weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    xt = torch.from_numpy(x_train).unsqueeze(1)
    yt = torch.from_numpy(y_train[clip_train])
    n = len(xt)
    batches = math.ceil(n / args.batch_size)
    total_steps = batches * args.epochs
    step, best, history = 0, None, []
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=torch.Generator().manual_seed(args.seed * 1000 + epoch))
        loss_sum = 0.0
        for b in range(batches):
            idx = order[b * args.batch_size:(b + 1) * args.batch_size]
            loss = loss_fn(model(xt[idx]), yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            for p in model.parameters():  # burn clips each parameter tensor's gradient
                torch.nn.utils.clip_grad_norm_([p], 5.0)
            lr = cosine_rate(args.lr, step, total_steps)
            for g in opt.param_groups:
                g["lr"] = lr
            opt.step()
            step += 1
            loss_sum += loss.item()
        logits = clip_logits(model, x_val, clip_val, len(val_rows))
        val_map = macro_ap(y_val, logits)
        history.append({"epoch": epoch, "train_loss": loss_sum / batches, "val_map": val_map,
                        "val_macro_roc_auc": macro_auc(y_val, logits), "lr": lr,
                        "seconds": time.perf_counter() - t0})
        print(f"epoch {epoch}: train loss {loss_sum / batches:.4f}, val mAP {val_map:.4f}, "
              f"{time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
        if best is None or val_map > best[0]:
            best = (val_map, epoch, copy.deepcopy(model.state_dict()))
        if args.patience and epoch - best[1] >= args.patience:
            print(f"early stop after epoch {epoch}: keeping epoch {best[1]}", file=sys.stderr)
            break
    model.load_state_dict(best[2])
    temperature = fit_temperature(clip_logits(model, x_val, clip_val, len(val_rows)), y_val)
    train_seconds = time.perf_counter() - started
    train_cpu_seconds = time.process_time() - cpu_started

    test_audio = decode(test_rows)
    x_test, clip_test = log_mel(test_audio)
    z = clip_logits(model, (x_test - mean) / std, clip_test, len(test_rows))
    raw, cal = sigmoid(z), sigmoid(z / temperature)
    result = {
        "labels": labels,
        "train_clips": len(train_rows), "val_clips": len(val_rows), "test_clips": len(test_rows),
        "train_windows": n, "epochs_run": len(history), "best_epoch": best[1],
        "temperature": temperature,
        "macro_roc_auc": macro_auc(y_test, cal),
        "micro_roc_auc": float(roc_auc_score(y_test.ravel(), cal.ravel())),
        "map": macro_ap(y_test, cal),
        "ece_raw": ece(raw, y_test), "ece_calibrated": ece(cal, y_test),
        "train_seconds": train_seconds, "train_cpu_seconds": train_cpu_seconds,
        "features_seconds": features_s,
        "threads": args.threads, "torch_version": torch.__version__,
        "librosa_version": librosa.__version__, "history": history,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
