"""What training a DnCNN-3-sized network would cost on this machine.

Colour JPEG is held back by its luma network (DnCNN-3; BENCHMARKS.md, "Colour JPEG: the remaining
error is mostly luma's").  A stronger luma network of irpilot's own would have to be trained at least
at DnCNN-3's scale: Zhang et al. (TIP 2017) trained it on 128 x 8,000 patch pairs of 50 x 50 px, in
mini-batches of 128, for 50 epochs.  This times training steps of that shape (20 layers of 64
channels, batch normalisation, Adam, float32) and projects the epochs.

    OMP_NUM_THREADS=2 python benchmarks/dncnn_train_cost.py --threads 2
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3, help="timed steps, after one warm-up step")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--patch", type=int, default=50)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    layers: list[torch.nn.Module] = [torch.nn.Conv2d(1, 64, 3, padding=1), torch.nn.ReLU()]
    for _ in range(18):
        layers += [torch.nn.Conv2d(64, 64, 3, padding=1), torch.nn.BatchNorm2d(64), torch.nn.ReLU()]
    layers.append(torch.nn.Conv2d(64, 1, 3, padding=1))
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(net.parameters(), 1e-4)
    x = torch.rand(args.batch, 1, args.patch, args.patch)
    y = torch.rand_like(x)
    seconds = []
    for i in range(args.steps + 1):
        t0 = time.perf_counter()
        loss = torch.mean((net(x) - y) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i:
            seconds.append(time.perf_counter() - t0)
    step = sorted(seconds)[len(seconds) // 2]
    params = sum(p.numel() for p in net.parameters())
    print(f"{params:,} parameters, {args.threads} threads: {step:.2f} s per step of {args.batch} patches of "
          f"{args.patch} px (median of {args.steps}); one epoch of 8,000 steps {8000 * step / 3600:.1f} h, "
          f"50 epochs {50 * 8000 * step / 86400:.0f} days")


if __name__ == "__main__":
    main()
