#!/usr/bin/env python3
"""Regenerates sklearn_cases.json: scikit-learn's roc_curve, precision_recall_curve,
precision_recall_fscore_support (per label, micro, macro, samples; zero_division 0 and 1),
accuracy_score (subset accuracy) and hamming_loss on small random multilabel matrices with
many ties (scores rounded to one decimal, thresholded at 0.5).

    python3 make_sklearn_cases.py > sklearn_cases.json
"""
import json
import sys
import warnings

import numpy as np
import sklearn
from sklearn.metrics import (accuracy_score, hamming_loss, precision_recall_curve,
                             precision_recall_fscore_support, roc_curve)

warnings.filterwarnings("ignore")
rng = np.random.default_rng(20240611)
cases = []
for _ in range(16):
    n, l = int(rng.integers(5, 40)), int(rng.integers(2, 5))
    s = np.round(rng.random((n, l)), 1).astype(np.float32)
    y = (rng.random((n, l)) < rng.random()).astype(int)
    case = {"n": n, "l": l, "scores": s.flatten().tolist(), "targets": y.flatten().tolist()}
    col, yc = s[:, 0].astype(np.float64), y[:, 0]
    if 0 < yc.sum() < n:
        for drop in (True, False):
            fpr, tpr, th = roc_curve(yc, col, drop_intermediate=drop)
            case[f"roc_label0_drop_{str(drop).lower()}"] = {
                "fpr": fpr.tolist(), "tpr": tpr.tolist(),
                "thresholds": [float(x) if np.isfinite(x) else None for x in th]}
    p, r, th = precision_recall_curve(yc, col)
    case["pr_label0"] = {"precision": p.tolist(), "recall": r.tolist(), "thresholds": th.tolist()}
    pred = (s >= 0.5).astype(int)
    for zd in (0, 1):
        out = {}
        for avg in ("micro", "macro", "samples"):
            out[avg] = list(precision_recall_fscore_support(y, pred, average=avg, zero_division=zd)[:3])
        out["per_label"] = [v.tolist() for v in precision_recall_fscore_support(
            y, pred, average=None, zero_division=zd)[:3]]
        case[f"prf_zero_division_{zd}"] = out
    case["subset_accuracy"] = accuracy_score(y, pred)
    case["hamming_loss"] = hamming_loss(y, pred)
    cases.append(case)
json.dump({"produced_by": {"scikit_learn": sklearn.__version__, "numpy": np.__version__},
           "threshold": 0.5, "cases": cases}, sys.stdout, separators=(",", ":"))
