"""Speed of the recurrent forecaster: training epochs and Monte-Carlo-dropout passes.

The talk's dipole-moment network (4 LSTM layers x 50 units, dropout 0.2, window 60,
batch 32, Adam) on PADM2M (2000 values at 1 kyr; 65 % training part, 10 % of its windows
for validation, 700 test windows), timed for

* one training epoch (1116 windows in 35 batches, plus the validation pass), and
* 100 MC-dropout passes over the 700 test windows,

with bayescore's Flax NNX forecaster and, in the same run, the same architecture in
PyTorch on the CPU (``nn.LSTM(1, 50, num_layers=4, dropout=0.2)`` followed by dropout
and a linear layer: the same four dropout layers as the Keras model). Achieved rates
are compared with a plain float32 matrix product on the same machine.

FLOP count (multiply-add = 2 FLOP; gate non-linearities and the cell update, O(H) per
step, are left out): an LSTM layer with I inputs and H units does, per time step and
window, the 4 gate pre-activations, i.e. 4H(I + H) multiply-adds = 8H(I + H) FLOP. For
this network (I = 1 for the first layer, 50 after) that is
60 x [8*50*51 + 3 * 8*50*100] + 2*50 = 8.42 MFLOP per window forward. A training step
counts 3x forward (forward, plus the two products of the backward pass); an MC pass is
one forward.

Usage::

    BAYESCORE_DATA=/work/shared/data python benchmarks/bench_forecast.py [--epochs 4]
        [--no-torch] [--nnx-rnn]

Timings on a shared machine vary: run it when the machine is quiet (``uptime``).
Measured on the 2-core development machine (AMD EPYC, load average about 1.5,
float32 2048^2 matmul about 210 GFLOP/s in both JAX and PyTorch): Flax 0.55 s per epoch
(53 GFLOP/s), 100 MC passes 9.3-9.5 s (62 GFLOP/s); PyTorch 2.13 0.45-0.75 s per epoch
(between runs), 100 MC passes 12.9-13.3 s. With another job on one of the cores both
slow down (PyTorch's training most, up to several seconds per epoch).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import bayescore  # noqa: F401  (64-bit JAX, as users get it; the network casts to float32)
from bayescore.datasets import fetch
from bayescore.forecast.rnn import RNNForecaster

WINDOW, HIDDEN, LAYERS, BATCH, DROPOUT = 60, 50, 4, 32, 0.2
TRAIN_FRACTION, VALIDATION, N_PASSES = 0.65, 0.1, 100


def forward_flops_per_window(n_inputs: int = 1) -> float:
    """FLOP of one forward pass of the 4 x 50 LSTM over one window (see module doc)."""
    per_step = 8 * HIDDEN * (n_inputs + HIDDEN) + (LAYERS - 1) * 8 * HIDDEN * (2 * HIDDEN)
    return WINDOW * per_step + 2 * HIDDEN


def load_dipole() -> np.ndarray:
    path = fetch("dipole/padm2m_signed_dipole.csv")
    table = np.loadtxt(path, delimiter=",", skiprows=1)
    return table[:, 1]  # axial dipole moment, 1e22 A m^2, oldest first


def matmul_rate_jax(n: int = 2048, repeats: int = 10) -> float:
    import jax
    import jax.numpy as jnp

    a = jnp.ones((n, n), jnp.float32)
    f = jax.jit(lambda x: x @ x)
    f(a).block_until_ready()
    start = time.perf_counter()
    for _ in range(repeats):
        f(a).block_until_ready()
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def bench_flax(series: np.ndarray, epochs: int, fused: bool, repeats: int) -> dict:
    model = RNNForecaster(
        hidden_size=HIDDEN, num_layers=LAYERS, dropout=DROPOUT, window=WINDOW, fused=fused
    )
    stamps = [time.perf_counter()]
    model.fit(
        series,
        train_fraction=TRAIN_FRACTION,
        epochs=epochs,
        batch_size=BATCH,
        validation=VALIDATION,
        patience=None,
        progress=lambda *_: stamps.append(time.perf_counter()),
    )
    epoch_times = np.diff(stamps)
    start = model.split_.test_range[0]
    t0 = time.perf_counter()
    model.predict_mc(series, n_samples=N_PASSES, seed=0, start=start)
    first_mc = time.perf_counter() - t0
    warm = []
    for seed in range(1, 1 + repeats):
        t0 = time.perf_counter()
        result = model.predict_mc(series, n_samples=N_PASSES, seed=seed, start=start)
        warm.append(time.perf_counter() - t0)
    return {
        "first_epoch_s": epoch_times[0],
        "epoch_s": float(np.min(epoch_times[1:])),
        "mc_first_s": first_mc,
        "mc_s": min(warm),
        "n_fit": model.split_.n_fit,
        "n_val": model.split_.n_validation,
        "n_test": result.sizes["time"],
    }


def bench_torch(
    series: np.ndarray, epochs: int, n_fit: int, n_test: int, repeats: int, threads: int
) -> dict:
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    n_train = int(round(TRAIN_FRACTION * len(series)))
    mean, std = series[:n_train].mean(), series[:n_train].std()
    scaled = ((series - mean) / std).astype(np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(scaled, WINDOW + 1)
    x_all = torch.from_numpy(windows[:, :WINDOW, None].copy())
    y_all = torch.from_numpy(windows[:, WINDOW:].copy())
    x_fit, y_fit = x_all[:n_fit], y_all[:n_fit]
    x_test = x_all[-n_test:]

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(
                1, HIDDEN, num_layers=LAYERS, dropout=DROPOUT, batch_first=True
            )
            self.dropout = torch.nn.Dropout(DROPOUT)
            self.head = torch.nn.Linear(HIDDEN, 1)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(self.dropout(out[:, -1]))

    net = Net()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    epoch_times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        net.train()
        order = torch.randperm(n_fit)
        for i in range(0, n_fit, BATCH):
            index = order[i : i + BATCH]
            optimizer.zero_grad()
            loss = torch.mean((net(x_fit[index]) - y_fit[index]) ** 2)
            loss.backward()
            optimizer.step()
        epoch_times.append(time.perf_counter() - t0)
    net.train()  # MC dropout: dropout stays on
    mc = []
    with torch.no_grad():
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(N_PASSES):
                net(x_test)
            mc.append(time.perf_counter() - t0)
    a = torch.ones(2048, 2048)
    a @ a
    t0 = time.perf_counter()
    for _ in range(10):
        a @ a
    torch_matmul = 2 * 2048**3 * 10 / (time.perf_counter() - t0) / 1e9
    return {
        "epoch_s": float(np.min(epoch_times[1:] if epochs > 1 else epoch_times)),
        "mc_s": min(mc),
        "matmul_gflops": torch_matmul,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4, help="epochs timed (first = compile)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    parser.add_argument("--nnx-rnn", action="store_true", help="also time fused=False")
    parser.add_argument("--repeats", type=int, default=2, help="MC timings (minimum kept)")
    parser.add_argument(
        "--torch-threads", type=int, default=os.cpu_count() or 1, help="torch.set_num_threads"
    )
    args = parser.parse_args()

    series = load_dipole()
    flops = forward_flops_per_window()
    print(f"machine: {os.cpu_count()} CPU(s); load average {os.getloadavg()[0]:.2f}")
    print(f"forward FLOP per window: {flops / 1e6:.2f} M")
    peak = matmul_rate_jax()
    print(f"float32 2048^2 matmul (JAX): {peak:.0f} GFLOP/s")

    variants = [("flax fused", True)] + ([("flax nnx.RNN", False)] if args.nnx_rnn else [])
    flax_result = None
    for label, fused in variants:
        r = bench_flax(series, args.epochs, fused, args.repeats)
        flax_result = flax_result or r
        train_flop = 3 * flops * r["n_fit"] + flops * r["n_val"]
        mc_flop = flops * r["n_test"] * N_PASSES
        print(
            f"{label:14s} epoch {r['epoch_s']:.3f} s ({train_flop / r['epoch_s'] / 1e9:.0f} "
            f"GFLOP/s; first epoch incl. compile {r['first_epoch_s']:.1f} s) | "
            f"{N_PASSES} MC passes x {r['n_test']} windows {r['mc_s']:.2f} s "
            f"({mc_flop / r['mc_s'] / 1e9:.0f} GFLOP/s; first call {r['mc_first_s']:.1f} s)"
        )
    if not args.no_torch:
        import torch

        t = bench_torch(
            series,
            args.epochs,
            flax_result["n_fit"],
            flax_result["n_test"],
            args.repeats,
            args.torch_threads,
        )
        train_flop = 3 * flops * flax_result["n_fit"]
        mc_flop = flops * flax_result["n_test"] * N_PASSES
        print(
            f"{'torch ' + torch.__version__:14s} epoch {t['epoch_s']:.3f} s "
            f"({train_flop / t['epoch_s'] / 1e9:.0f} GFLOP/s, no validation pass) | "
            f"{N_PASSES} MC passes x {flax_result['n_test']} windows {t['mc_s']:.2f} s "
            f"({mc_flop / t['mc_s'] / 1e9:.0f} GFLOP/s); torch matmul "
            f"{t['matmul_gflops']:.0f} GFLOP/s"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
