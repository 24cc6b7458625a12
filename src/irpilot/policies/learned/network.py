"""The policy network and what it sees.

A state is encoded from the current image at *native resolution* (blur radii, noise grain
and JPEG blocks change character when an image is resized):

* ``crops``: K crops of P x P pixels (random in training, a fixed spread grid at inference);
* ``stats``: cheap global statistics (size, brightness, saturation, dark channel, noise
  estimate, sharpness at two scales, 8x8 blockiness, gradient coherence, bright-streak share);
* ``hist``: one-hot of the tools already called, of the tasks already done, and the step index;
* ``perc``: the perception model's probabilities and severities when the policy was trained
  with them; with ``input_perception`` also those of the *input* image (what was wrong before
  any tool ran) and which of those degradations are still undone (plus a flag saying whether
  perception was available).

The network embeds every crop with a small CNN (mean and std pooling), averages the crop
embeddings and feeds them with the other vectors to an MLP that outputs one logit per action
(tools, then ``stop``).  Inference on 8 crops of 48 px takes a few milliseconds on one CPU core.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ...imaging.blocks import grid_peak_to_median
from ...imaging.color import luma
from ...imaging.filters import min_filter
from ...vocab import DEGRADATION_TO_TASK
from .actions import ActionSpace

__all__ = ["StateEncoder", "EncodedState", "N_STATS", "image_stats", "PolicyNet", "stack_states"]

if TYPE_CHECKING:  # pragma: no cover - built by __getattr__ on first use (torch loads then)
    from torch import nn

    PolicyNet: type[nn.Module]

N_STATS = 20


def _center_crop(img: np.ndarray, size: int) -> np.ndarray:
    _, h, w = img.shape
    y0, x0 = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return img[:, y0 : y0 + size, x0 : x0 + size]


def image_stats(img: np.ndarray, native: int = 256, thumb: int = 96) -> np.ndarray:
    """:data:`N_STATS` global statistics of ``img`` (float32 (3, H, W) in [0, 1])."""
    import cv2

    _, h, w = img.shape
    f = np.zeros(N_STATS, dtype=np.float32)
    # size, saturating at 128 px so that photos larger than the training crops look alike
    f[0] = min(max(h, w), 128) / 128.0
    f[1] = min(min(h, w), 128) / 128.0
    f[2] = min(h * w, 128 * 128) / (128.0 * 128.0)
    # colour statistics on an area-averaged thumbnail
    s = min(1.0, thumb / max(h, w))
    hwc = np.ascontiguousarray(img.transpose(1, 2, 0))
    t = cv2.resize(hwc, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA) if s < 1 else hwc
    ty = 0.299 * t[..., 0] + 0.587 * t[..., 1] + 0.114 * t[..., 2]
    f[3], f[4] = ty.mean(), ty.std()
    f[5], f[6] = np.percentile(ty, 2), np.percentile(ty, 98)
    mx, mn = t.max(axis=2), t.min(axis=2)
    f[7] = float(((mx - mn) / (mx + 1e-3)).mean())
    f[8] = float(min_filter(mn, 5).mean())
    # texture statistics on a native-resolution centre crop
    n = _center_crop(img, native)
    y = luma(n)
    if min(y.shape) >= 3:
        k = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
        hh, ww = y.shape
        norm = np.sqrt(np.pi / 2) / (6.0 * max(1, (hh - 2) * (ww - 2)))
        f[9] = float(np.abs(cv2.filter2D(y, -1, k)[1:-1, 1:-1]).sum() * norm) * 10
        c1 = (n[0] - n[1]).astype(np.float32)
        c2 = (n[2] - n[1]).astype(np.float32)
        f[10] = float(
            (np.abs(cv2.filter2D(c1, -1, k)[1:-1, 1:-1]).sum() + np.abs(cv2.filter2D(c2, -1, k)[1:-1, 1:-1]).sum())
            * norm
        ) * 5
        dx = np.diff(y, axis=1)
        dy = np.diff(y, axis=0)
        g = float(np.abs(dx).mean() + np.abs(dy).mean()) + 1e-4
        f[11] = np.log(g)
        hp1 = y - cv2.GaussianBlur(y, (0, 0), 1.0)
        hp2 = cv2.GaussianBlur(y, (0, 0), 1.0) - cv2.GaussianBlur(y, (0, 0), 3.0)
        e1, e2 = float(np.abs(hp1).mean()) + 1e-4, float(np.abs(hp2).mean()) + 1e-4
        f[12] = np.log(e1)
        f[13] = np.log(e1 / e2)
        # blockiness: gradient on the 8-pixel grid against elsewhere
        adx, ady = np.abs(dx), np.abs(dy)
        grid = grid_peak_to_median(adx, ady)
        if grid is not None:
            f[14], f[15] = grid
        jxx, jyy, jxy = float((dx[:-1, :] ** 2).mean()), float((dy[:, :-1] ** 2).mean()), float(
            (dx[:-1, :] * dy[:, :-1]).mean()
        )
        tr = jxx + jyy + 1e-8
        f[16] = np.sqrt((jxx - jyy) ** 2 + 4 * jxy**2) / tr
        f[17] = jxx / tr
        f[18] = float((hp1 > 0.06).mean()) * 10
        f[19] = float(np.log(e2))
    return f


@dataclasses.dataclass
class EncodedState:
    """One state as arrays: crops (K, 3, P, P) float32, stats (S,), hist (H,), perc (C,)."""

    crops: np.ndarray
    stats: np.ndarray
    hist: np.ndarray
    perc: np.ndarray


class StateEncoder:
    """Turns (image, history, perception) into an :class:`EncodedState` for a given action space."""

    def __init__(
        self,
        space: ActionSpace,
        *,
        crop: int = 48,
        n_crops: int = 8,
        perception_labels: Sequence[str] | None = None,
        max_steps: int = 6,
        input_perception: bool = False,
    ) -> None:
        self.space = space
        self.input_perception = bool(input_perception) and bool(perception_labels)
        self.crop = int(crop)
        self.n_crops = int(n_crops)
        self.perception_labels = list(perception_labels or [])
        self.max_steps = max_steps
        self.task_list = space.task_list

    @property
    def hist_dim(self) -> int:
        return len(self.space.tools) + len(self.task_list) + 1

    @property
    def perc_dim(self) -> int:
        n = len(self.perception_labels)
        if not n:
            return 0
        return (5 * n if self.input_perception else 2 * n) + 1

    def _undone(self, called: Sequence[str]) -> np.ndarray:
        """1 for each perception label whose task has not been called yet."""
        done = {self.space.task_of(c) for c in called if c in self.space.tools}
        return np.array([float(DEGRADATION_TO_TASK.get(d) not in done) for d in self.perception_labels], np.float32)

    def crops(self, img: np.ndarray, rng: np.random.Generator | None = None, n: int | None = None) -> np.ndarray:
        """``n`` native-resolution crops (random with ``rng``, else an even spread)."""
        n = self.n_crops if n is None else n
        p = self.crop
        _, h, w = img.shape
        if h < p or w < p:
            img = np.pad(img, ((0, 0), (0, max(0, p - h)), (0, max(0, p - w))), mode="reflect" if (h > p // 2 and w > p // 2) else "edge")
            _, h, w = img.shape
        if rng is not None:
            ys = rng.integers(0, h - p + 1, size=n)
            xs = rng.integers(0, w - p + 1, size=n)
        else:
            g = int(np.ceil(np.sqrt(n)))
            yy = np.linspace(0, h - p, g).round().astype(int)
            xx = np.linspace(0, w - p, g).round().astype(int)
            pos = [(a, b) for a in yy for b in xx]
            idx = np.linspace(0, len(pos) - 1, n).round().astype(int)
            ys = np.array([pos[i][0] for i in idx])
            xs = np.array([pos[i][1] for i in idx])
        return np.stack([img[:, y : y + p, x : x + p] for y, x in zip(ys, xs)]).astype(np.float32)

    def history(self, called: Sequence[str]) -> np.ndarray:
        sp = self.space
        v = np.zeros(self.hist_dim, dtype=np.float32)
        for name in called:
            if name in sp.tools:
                v[sp.tools.index(name)] = 1.0
                task = sp.task_of(name)
                if task in self.task_list:
                    v[len(sp.tools) + self.task_list.index(task)] = 1.0
        v[-1] = len(called) / self.max_steps
        return v

    def perception(self, perception: Any, input_perception: Any = None, called: Sequence[str] = ()) -> np.ndarray:
        """Layout: current probs (n), severities (n); with ``input_perception`` the input's probs
        (n), severities (n) and the undone flags (n); last the availability flag."""
        if not self.perception_labels:
            return np.zeros(0, dtype=np.float32)
        v = np.zeros(self.perc_dim, dtype=np.float32)
        n = len(self.perception_labels)
        probs = getattr(perception, "probs", perception) if perception is not None else None
        if not probs:
            return v
        sev = getattr(perception, "severity", None) or {}
        for i, name in enumerate(self.perception_labels):
            v[i] = float(probs.get(name, 0.0))
            v[n + i] = float(sev.get(name, 0.0)) * v[i]
        if self.input_perception:
            src = input_perception if input_perception is not None else perception
            iprobs = getattr(src, "probs", src) or {}
            isev = getattr(src, "severity", None) or {}
            for i, name in enumerate(self.perception_labels):
                v[2 * n + i] = float(iprobs.get(name, 0.0))
                v[3 * n + i] = float(isev.get(name, 0.0)) * v[2 * n + i]
            v[4 * n : 5 * n] = self._undone(called)
        v[-1] = 1.0
        return v

    def encode(
        self,
        img: np.ndarray,
        called: Sequence[str],
        perception: Any = None,
        rng: np.random.Generator | None = None,
        n_crops: int | None = None,
        input_perception: Any = None,
    ) -> EncodedState:
        return EncodedState(
            crops=self.crops(img, rng, n_crops),
            stats=image_stats(img),
            hist=self.history(called),
            perc=self.perception(perception, input_perception, called),
        )

    def config(self) -> dict[str, Any]:
        return {
            "crop": self.crop,
            "n_crops": self.n_crops,
            "perception_labels": self.perception_labels,
            "max_steps": self.max_steps,
            "input_perception": self.input_perception,
        }


def stack_states(states: Sequence[EncodedState], n_crops: int | None = None, rng: np.random.Generator | None = None):
    """Batch states into torch tensors (crops subsampled to ``n_crops`` with ``rng``)."""
    import torch

    crops = []
    for s in states:
        c = s.crops
        if n_crops is not None and c.shape[0] > n_crops:
            idx = rng.choice(c.shape[0], n_crops, replace=False) if rng is not None else np.arange(n_crops)
            c = c[idx]
        crops.append(c)
    return (
        torch.from_numpy(np.stack(crops)),
        torch.from_numpy(np.stack([s.stats for s in states])),
        torch.from_numpy(np.stack([s.hist for s in states])),
        torch.from_numpy(np.stack([s.perc for s in states])) if states[0].perc.size else None,
    )


def _torch_net():
    import torch
    from torch import nn

    class PolicyNet(nn.Module):
        """Crop CNN + global statistics + history (+ perception) -> action logits."""

        # registered buffers (some only with evidence)
        stats_mean: torch.Tensor
        stats_std: torch.Tensor
        ev_idx: torch.Tensor
        ev_on: torch.Tensor
        stop_onehot: torch.Tensor

        def __init__(
            self,
            n_actions: int,
            hist_dim: int,
            perc_dim: int = 0,
            n_stats: int = N_STATS,
            width: int = 16,
            evidence_index: Sequence[int] | None = None,
            n_labels: int = 0,
            input_evidence: bool = False,
            dropout: float = 0.0,
            stop_evidence: bool = False,
        ) -> None:
            super().__init__()
            w = width
            self.conv = nn.Sequential(
                nn.Conv2d(3, w, 3, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(w, w, 3, stride=2, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(w, 2 * w, 3, stride=2, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(2 * w, 2 * w, 3, stride=2, padding=1),
                nn.ReLU(inplace=True),
            )
            self.crop_fc = nn.Sequential(nn.Linear(4 * w, 64), nn.ReLU(inplace=True))
            self.register_buffer("stats_mean", torch.zeros(n_stats))
            self.register_buffer("stats_std", torch.ones(n_stats))
            d = 64 + n_stats + hist_dim + perc_dim
            drop = [nn.Dropout(dropout)] if dropout > 0 else []  # no layer when off: older weights load
            self.head = nn.Sequential(
                nn.Linear(d, 128),
                nn.ReLU(inplace=True),
                *drop,
                nn.Linear(128, 128),
                nn.ReLU(inplace=True),
                *drop,
                nn.Linear(128, n_actions),
            )
            self.dropout_p = float(dropout)
            self.perc_dim = perc_dim
            # perception evidence: each tool's logit gets w_a * logit(p(its degradation)) when
            # perception is available (a strong prior that a small expert set can calibrate)
            self.evidence_index = list(evidence_index) if (evidence_index is not None and perc_dim) else None
            if self.evidence_index is not None:
                self.register_buffer("ev_idx", torch.tensor([max(i, 0) for i in self.evidence_index], dtype=torch.long))
                self.register_buffer("ev_on", torch.tensor([float(i >= 0) for i in self.evidence_index]))
                self.ev_w = nn.Parameter(torch.ones(n_actions))
            # input evidence: w2_a * logit(p_input(degradation of a)) while that task is undone,
            # so what was wrong with the input keeps asking to be restored until it is
            self.n_labels = int(n_labels)
            self.input_evidence = bool(input_evidence) and self.evidence_index is not None and self.n_labels > 0
            self.stop_evidence = bool(stop_evidence) and self.input_evidence
            if self.input_evidence:
                # both evidence terms start at half strength: together they already make a
                # confident prior, and the expert data calibrates them
                self.ev_w2 = nn.Parameter(torch.full((n_actions,), 0.5))
                with torch.no_grad():
                    self.ev_w.fill_(0.5)
                # stop evidence: stop is pushed down by the degradations the input shows and that
                # are still undone (sum of their positive logits, learned strength)
                if self.stop_evidence:
                    self.stop_w = nn.Parameter(torch.tensor(0.5))
                    stop = torch.zeros(n_actions)
                    stop[-1] = 1.0  # stop is the last action
                    self.register_buffer("stop_onehot", stop, persistent=False)

        def forward(self, crops, stats, hist, perc=None):
            b, k = crops.shape[:2]
            x = self.conv(crops.reshape(b * k, *crops.shape[2:]) - 0.5)
            x = torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3))], dim=1)
            e = self.crop_fc(x).reshape(b, k, -1).mean(dim=1)
            s = ((stats - self.stats_mean) / self.stats_std).clamp(-6.0, 6.0)
            parts = [e, s, hist]
            if self.perc_dim:
                perc = perc if perc is not None else torch.zeros(b, self.perc_dim)
                parts.append(perc)
            out = self.head(torch.cat(parts, dim=1))
            if self.evidence_index is not None and perc is not None:  # evidence implies perc_dim
                p = perc[:, self.ev_idx].clamp(1e-3, 1 - 1e-3)
                ev = torch.log(p) - torch.log1p(-p)
                on = self.ev_on * perc[:, -1:]  # last perc entry: perception available
                if self.input_evidence:
                    n = self.n_labels
                    pin = perc[:, 2 * n : 3 * n][:, self.ev_idx].clamp(1e-2, 1 - 1e-2)
                    undone = perc[:, 4 * n : 5 * n][:, self.ev_idx]
                    ev_in = (torch.log(pin) - torch.log1p(-pin)) * undone
                    out = out + ev * self.ev_w * on + ev_in * self.ev_w2 * on
                    if self.stop_evidence:
                        pall = perc[:, 2 * n : 3 * n].clamp(1e-2, 1 - 1e-2)
                        pending = (torch.relu(torch.log(pall) - torch.log1p(-pall)) * perc[:, 4 * n : 5 * n]).sum(dim=1)
                        out = out - self.stop_w * (pending * perc[:, -1])[:, None] * self.stop_onehot
                else:
                    out = out + ev * self.ev_w * on
            return out

    return PolicyNet


def __getattr__(name: str) -> Any:  # PolicyNet is built on first use so importing stays cheap
    if name == "PolicyNet":
        cls = _torch_net()
        globals()["PolicyNet"] = cls
        return cls
    raise AttributeError(name)
