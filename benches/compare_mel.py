#!/usr/bin/env python3
"""Side-by-side log-mel timing: sonotag vs librosa vs torchaudio, on the same audio, one run.

    python3 benches/compare_mel.py [--input F.wav] [--seconds 600] [--runs 7] [--no-check]

Without --input, writes a deterministic 600 s 16 kHz 16-bit WAV (tones + noise) to
bench-out/compare_600s_16k.wav. Every extractor runs single-threaded with the default sonotag
config (16 kHz, n_fft 512, win 400, hop 160, 64 Slaney mels 50-8000 Hz, power 2, centred with
zero padding, power_to_db ref 1 amin 1e-10, no top_db); times are the median of --runs runs
after one warm-up. Decoding is timed too (soundfile vs sonotag). sonotag is timed by
`cargo run --release -p sonotag-audio --example mel_bench -- --input F.wav --json`, which also
writes its features so that their agreement with librosa is checked (max |dB diff| within
60 dB of the clip maximum). Prints a table and one JSON line with every figure.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

# Single-threaded numerics everywhere: set before numpy/torch are imported.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CONFIG = dict(sr=16000, n_fft=512, win_length=400, hop_length=160, n_mels=64, fmin=50.0, fmax=8000.0)


def make_wav(path: Path, seconds: float) -> None:
    """Deterministic tones + chirp + noise, 16-bit PCM mono at 16 kHz."""
    sr = CONFIG["sr"]
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(7)
    tc = t % 2.0
    y = (
        0.25 * np.sin(2 * np.pi * 440 * t)
        + 0.15 * np.sin(2 * np.pi * 1500 * t)
        + 0.2 * np.sin(2 * np.pi * (200 * tc + 5800 * tc * tc / 4))
        + rng.normal(0, 0.05, t.size)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.clip(y, -0.99, 0.99), sr, subtype="PCM_16")


def timed(fn, runs: int):
    """Median wall and thread-CPU seconds of `runs` calls after one warm-up.

    Returns (wall, cpu, last result). CPU time is reported too because on a shared machine
    wall time also counts the time other processes held the core."""
    out = fn()
    wall, cpu = [], []
    for _ in range(runs):
        c0, t0 = time.thread_time(), time.perf_counter()
        out = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    return statistics.median(wall), statistics.median(cpu), out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", type=Path, help="16 kHz WAV to use (default: generate one)")
    ap.add_argument("--seconds", type=float, default=600.0, help="length of the generated clip")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--no-check", action="store_true", help="skip the numerical agreement check")
    args = ap.parse_args()

    load = os.getloadavg()
    wav = args.input
    if wav is None:
        wav = REPO / "bench-out" / f"compare_{int(args.seconds)}s_16k.wav"
        if not wav.exists():
            make_wav(wav, args.seconds)
    info = sf.info(str(wav))
    if info.samplerate != CONFIG["sr"]:
        sys.exit(f"{wav}: expected {CONFIG['sr']} Hz audio, got {info.samplerate} Hz")

    # Decoding: soundfile (libsndfile) to float32, median of 5 after a warm-up (as mel_bench).
    sf_decode, sf_decode_cpu, (y, _) = timed(lambda: sf.read(str(wav), dtype="float32"), 5)
    if y.ndim > 1:
        y = y.mean(axis=1).astype(np.float32)
    audio_seconds = y.size / CONFIG["sr"]

    import librosa

    def run_librosa():
        s = librosa.feature.melspectrogram(
            y=y, sr=CONFIG["sr"], n_fft=CONFIG["n_fft"], hop_length=CONFIG["hop_length"],
            win_length=CONFIG["win_length"], window="hann", center=True, pad_mode="constant",
            power=2.0, n_mels=CONFIG["n_mels"], fmin=CONFIG["fmin"], fmax=CONFIG["fmax"],
            htk=False, norm="slaney")
        return librosa.power_to_db(s, ref=1.0, amin=1e-10, top_db=None)

    librosa_s, librosa_cpu, librosa_db = timed(run_librosa, args.runs)

    import torch
    import torchaudio

    torch.set_num_threads(1)
    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=CONFIG["sr"], n_fft=CONFIG["n_fft"], win_length=CONFIG["win_length"],
        hop_length=CONFIG["hop_length"], f_min=CONFIG["fmin"], f_max=CONFIG["fmax"],
        n_mels=CONFIG["n_mels"], power=2.0, center=True, pad_mode="constant",
        norm="slaney", mel_scale="slaney")
    to_db = torchaudio.transforms.AmplitudeToDB(stype="power", top_db=None)
    yt = torch.from_numpy(y)

    def run_torch():
        with torch.inference_mode():
            return to_db(mel(yt))

    torch_s, torch_cpu, _ = timed(run_torch, args.runs)

    features = REPO / "bench-out" / "compare_sonotag_features.json"
    cmd = ["cargo", "run", "--quiet", "--release", "-p", "sonotag-audio", "--example", "mel_bench",
           "--", "--input", str(wav), "--json", "--runs", str(args.runs)]
    if not args.no_check:
        cmd += ["--output", str(features)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"mel_bench failed ({proc.returncode}):\n{proc.stderr}")
    ours = json.loads(proc.stdout.strip().splitlines()[-1])

    agreement = None
    if not args.no_check:
        got = json.loads(features.read_text())
        got = np.asarray(got["data"], dtype=np.float32)
        if got.shape != librosa_db.shape:
            sys.exit(f"shape mismatch: sonotag {got.shape} vs librosa {librosa_db.shape}")
        window = librosa_db >= librosa_db.max() - 60.0
        agreement = float(np.abs(got - librosa_db)[window].max())

    def row(name, wall, cpu, ref_wall, ref_cpu):
        cpu_txt = "n/a" if cpu is None else f"{cpu:.4f}"
        ratio = f"{wall / ref_wall:.1f}x"
        if cpu is not None and ref_cpu:
            ratio += f" / {cpu / ref_cpu:.1f}x"
        print(f"{name:<12} {wall:>10.4f} {cpu_txt:>10} {ratio:>18}")

    ours_cpu, ours_dcpu = ours.get("cpu_seconds"), ours.get("decode_cpu_seconds")
    print(f"{audio_seconds:.0f} s of 16 kHz audio ({wav.name}), one thread, median of {args.runs} runs")
    print(f"{'log-mel':<12} {'wall s':>10} {'CPU s':>10} {'vs sonotag (w/CPU)':>18}")
    row("sonotag", ours["seconds"], ours_cpu, ours["seconds"], ours_cpu)
    row("librosa", librosa_s, librosa_cpu, ours["seconds"], ours_cpu)
    row("torchaudio", torch_s, torch_cpu, ours["seconds"], ours_cpu)
    print(f"{'decode':<12} {'wall s':>10} {'CPU s':>10} {'vs sonotag (w/CPU)':>18}")
    row("sonotag", ours["decode_seconds"], ours_dcpu, ours["decode_seconds"], ours_dcpu)
    row("soundfile", sf_decode, sf_decode_cpu, ours["decode_seconds"], ours_dcpu)
    if agreement is not None:
        print(f"max |sonotag - librosa| within 60 dB of the max: {agreement:.2e} dB")
    print(f"load average before the run: {load[0]:.2f} (on {os.cpu_count()} CPUs)")
    print(json.dumps({
        "audio_seconds": audio_seconds,
        "n_frames": ours["n_frames"],
        "sonotag_s": ours["seconds"],
        "sonotag_cpu_s": ours_cpu,
        "librosa_cpu_s": librosa_cpu,
        "torchaudio_cpu_s": torch_cpu,
        "sonotag_decode_cpu_s": ours_dcpu,
        "soundfile_decode_cpu_s": sf_decode_cpu,
        "load_average": load[0],
        "librosa_s": librosa_s,
        "torchaudio_s": torch_s,
        "librosa_over_sonotag": librosa_s / ours["seconds"],
        "torchaudio_over_sonotag": torch_s / ours["seconds"],
        "sonotag_decode_s": ours["decode_seconds"],
        "soundfile_decode_s": sf_decode,
        "soundfile_over_sonotag_decode": sf_decode / ours["decode_seconds"],
        "max_abs_db_diff_vs_librosa": agreement,
        "versions": {"librosa": librosa.__version__, "torch": torch.__version__,
                     "torchaudio": torchaudio.__version__, "soundfile": sf.__version__,
                     "numpy": np.__version__},
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
