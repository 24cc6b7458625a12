"""Tools that run irpilot's own compact networks (:mod:`.compact`), one per task.

:class:`CompactNetTool` loads the packaged weights of its card's task
(``assets/compact_<task>.safetensors``, written by ``irpilot train tool TASK``; weights a user
trained are read first from ``irpilot/`` in a weights folder: :func:`._common.own_weights`) and runs the
network on tiles of at most 512 px; a task's tool is a card and nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..base import ToolCard
from . import compact
from ._common import NetworkTool, register

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["CompactNetTool", "DehazeAODNet", "DehazeNet", "DerainNet", "DesnowNet", "JpegDeblurDefocus", "LowLightNet", "SRNetX4"]


def compact_card(tool_id: str, task: str, description: str, reference: str, **fields: object) -> ToolCard:
    """The card of one of irpilot's own networks: its weights are irpilot's (Apache-2.0), it runs
    with torch on the CPU or CUDA, tiled (512 px tiles of the U-Net, sides a multiple of 8, unless
    ``fields`` say otherwise); the tiles of a large photo share one context bias, read over the
    whole photo (:meth:`CompactNetTool._photo_context`)."""
    base: dict[str, object] = {"weights_license": "Apache-2.0 (irpilot)", "python_packages": ("torch", "safetensors"),
                               "multiple_of": 8, "tiling": True, "tile_size": 512, "tile_overlap": 32,
                               "devices": ("cpu", "cuda"), "kind": "network"}
    return ToolCard(id=tool_id, task=task, description=description, reference=reference, **{**base, **fields})


class CompactNetTool(NetworkTool):
    """Base of the compact-network tools: ``asset`` (default: the card's task) names the
    weights, ``assets/compact_<asset>.safetensors``."""

    meta: dict[str, str] = {}
    asset: str = ""
    #: the training options beyond the task (e.g. ``--arch aod``)
    train_options: str = ""
    #: the ``irpilot train tool`` task that trains the weights (default: the card's task)
    train_task: str = ""

    @classmethod
    def asset_name(cls) -> str:
        return cls.asset or cls.card.task

    @classmethod
    def unavailable_reason(cls) -> str | None:
        reason = super().unavailable_reason()
        if reason:
            return reason
        if not compact.asset_exists(cls.asset_name()):
            from ...config import settings
            from ._common import OWN_WEIGHTS_SUBDIR

            name = Path(compact.asset_path(cls.asset_name())).name
            target = Path(settings.fetch_dir) / OWN_WEIGHTS_SUBDIR / name
            command = " ".join(["irpilot train tool", cls.train_task or cls.card.task, cls.train_options]).strip()
            return (f"its weights ({name}) are neither packaged nor in a weights folder's {OWN_WEIGHTS_SUBDIR}/; "
                    f"train them with `{command} --export {target}`")
        return None

    def build(self) -> torch.nn.Module:
        model, self.meta = compact.load_compact_net(self.asset_name())
        return model

    def __call__(self, img: np.ndarray, **args: object) -> np.ndarray:
        from ...imaging.convert import as_image

        img = as_image(img)
        self.ensure_setup()
        tile = self.tile_size(args)
        if tile and max(img.shape[1:]) > tile:  # what holds for the whole photo, read once for every tile
            if "context" not in args and getattr(self.model, "context", None) is not None:
                args["context"] = self._photo_context(img, tile, args.get("airlight"))  # type: ignore[arg-type]
            if "terms" not in args and getattr(self.model, "head", "residual") != "residual":
                terms = self._photo_terms(img, args.get("airlight"), args.get("context"))  # type: ignore[arg-type]
                if terms is not None:
                    args["terms"] = terms
        return super().__call__(img, **args)

    def _net_input(self, img: np.ndarray) -> np.ndarray:
        """What the network reads of a (padded) tile."""
        return img

    def _run(self, img: np.ndarray, **args: object) -> np.ndarray:
        return self.forward(self._net_input(img), *self._extras(args))

    def _extras(self, args: dict[str, object]) -> tuple[torch.Tensor | None, ...]:
        """The U-Net's ``airlight``, ``context`` and ``terms`` arguments, when the tool has them."""
        import torch

        values = [args.get("airlight"), args.get("context"), args.get("terms")]
        if all(v is None for v in values):
            return ()
        return tuple(None if v is None else torch.tensor(np.asarray(v, dtype=np.float32)[None], device=self.device)
                     for v in values)

    def _small(self, img: np.ndarray, side: int = 512) -> np.ndarray:
        """``img`` shrunk to at most ``side`` px (area interpolation) and edge-padded to the card's
        size multiple: one pass of the network reads what holds for the whole photo from it."""
        from ...imaging.resize import shrink

        small = shrink(img, side)
        m = max(1, self.card.multiple_of)
        ph, pw = -small.shape[1] % m, -small.shape[2] % m
        return np.pad(small, ((0, 0), (0, ph), (0, pw)), mode="edge") if ph or pw else small

    def _photo_terms(self, img: np.ndarray, airlight: tuple[float, ...] | None,
                     context: np.ndarray | None) -> np.ndarray | None:
        """The head's whole-image outputs (the network's ``photo_terms``) read on a copy of the
        photo shrunk to one tile, with the photo's airlight and context: the tiles then share
        them (None for a head without any)."""
        import torch

        def tensor(v: object) -> torch.Tensor | None:
            return None if v is None else torch.tensor(np.asarray(v, dtype=np.float32)[None], device=self.device)

        small = self._net_input(self._small(img))
        with torch.inference_mode(), self.autocast():
            terms = self.model.photo_terms(torch.from_numpy(small[None]).to(self.device), tensor(airlight), tensor(context))
        return None if terms is None else terms[0].float().cpu().numpy()

    def _photo_context(self, img: np.ndarray, tile: int, airlight: tuple[float, ...] | None) -> np.ndarray:
        """The U-Net's context (the mean and the maximum of its coarsest features) over the whole
        of a photo too large for one tile, read from the cores of the same tiles the tool then runs on,
        so that every tile gets the bias the untiled photo would: read per tile, it changed from tile
        to tile and drew seams."""
        import torch

        from ..tiling import tile_starts

        card, model = self.card, self.model
        _, h, w = img.shape
        ov, s = card.tile_overlap, card.scale
        a = None if airlight is None else torch.tensor([airlight], dtype=torch.float32, device=self.device)
        ys, xs = tile_starts(h, tile, ov), tile_starts(w, tile, ov)
        total, count, peak = None, 0, None
        for iy, y in enumerate(ys):
            th = h - y if iy == len(ys) - 1 else min(tile, h - y)
            r0, r1 = _core(th, ov, iy == 0, iy == len(ys) - 1, s, model.stride)
            for ix, x in enumerate(xs):
                tw = w - x if ix == len(xs) - 1 else min(tile, w - x)
                c0, c1 = _core(tw, ov, ix == 0, ix == len(xs) - 1, s, model.stride)
                inp = self._net_input(self._pad(np.ascontiguousarray(img[:, y : y + th, x : x + tw])))
                with torch.inference_mode(), self.autocast():
                    f = model.coarse(torch.from_numpy(np.ascontiguousarray(inp[None])).to(self.device), a)
                core = f[0, :, min(r0, f.shape[2] - 1) : r1, min(c0, f.shape[3] - 1) : c1].float()
                total = core.sum(dim=(1, 2)) if total is None else total + core.sum(dim=(1, 2))
                peak = core.amax(dim=(1, 2)) if peak is None else torch.maximum(peak, core.amax(dim=(1, 2)))
                count += core.shape[1] * core.shape[2]
        assert total is not None and peak is not None
        return torch.cat([total / max(1, count), peak]).cpu().numpy()


def _core(n: int, overlap: int, first: bool, last: bool, scale: int, stride: int) -> tuple[int, int]:
    """The rows (or columns) of a tile's coarsest features that its neighbours do not also count:
    half of each overlap goes to either side."""
    lo = 0 if first else min(overlap // 2, n // 2)
    hi = n if last else max(lo + 1, n - overlap // 2)
    return lo * scale // stride, max(lo * scale // stride + 1, -(-hi * scale // stride))


@register
class DesnowNet(CompactNetTool):
    """irpilot's compact snow-removal network."""

    card = compact_card(
        tool_id="desnow_net",
        task="desnow",
        description="snow removal (flakes, streaks, out-of-focus near flakes and the veil) by irpilot's "
        "own compact residual U-Net (0.28 M parameters), trained 40 min on one CPU thread on "
        "irpilot's training photos (T91, CSet14, LIVE1 without Kodak, classic5, scikit-image; 5,487 "
        "steps of 8 crops of 128 px) with irpilot's two snow models (realistic real_snow and "
        "protocol-style snow, half each): 32 min with 10 % clean crops kept as they are, then 8 min "
        "with 25 %. Test crops (24, 256 px, Kodak24/CBSD68/McMaster): +7.6 dB on real_snow and +9.3 "
        "on snow (desnow_median +5.2 / +4.0), worst crop +2.7 / +2.7; a clean crop comes back at "
        "37.2 dB on average (worst 25.0; desnow_median 27.2, worst 18.6). The toolbox's first desnow "
        "tool. Fitted to those synthetic snow models: real snow photographs are not measured.",
        cpu_seconds_512=0.08,  # benchmarks/tool_speed.py --threads 2 --repeats 3, otherwise idle machine, 2026-12-04
        reference="irpilot (irpilot train tool desnow); U-Net: Ronneberger et al. 2015",
    )


@register
class DerainNet(CompactNetTool):
    """irpilot's compact rain-removal network."""

    card = compact_card(
        tool_id="derain_net",
        task="derain",
        description="rain removal (streaks, drops, the splash veil) by irpilot's own compact residual U-Net "
        "(0.28 M parameters; desnow_net's recipe), trained on one CPU thread on irpilot's training photos "
        "(T91, CSet14, LIVE1 without Kodak, classic5, scikit-image; crops of 128 px) with irpilot's two rain "
        "models (realistic real_rain and the protocol's rain; 10 % clean crops kept as they are): 40 min "
        "(5,249 steps of 8 crops), then 8 min with 30 % of the crops made small (x1/4) after the rain and "
        "brought back by sr_net_x4, as the agent's x4 step leaves them. Held-out training photos (24 crops, "
        "256 px): +5.6 dB on real_rain and +8.0 on the protocol's rain (prenet_rain100l +3.3 / +9.9, "
        "prenet_rain100h +1.1 / +8.7), a clean crop back at 45.1 dB. After another step (12 crops each, "
        "benchmarks/derain_after_steps.py): after the x4 step +2.7 dB on real_rain and +2.5 on rain "
        "(prenet_rain100h +0.7 / +1.7), ahead of both PReNets after brightening and dehazing on real_rain and "
        "after brightening on the protocol's rain, 0.4 dB behind prenet_rain100l after dehazing there. Behind PReNet on sharp "
        "synthetic streaks alone: on AgenticIR's deraining sample (Rain100L-like, 1024 x 640) faint streaks "
        "remain where PReNet removes them. Fitted to those synthetic rain models: real rain photographs are "
        "not measured. BENCHMARKS.md, \"derain_net\".",
        cpu_seconds_512=0.14,  # benchmarks/tool_speed.py --threads 2 --repeats 3, 2026-12-06 (same run: desnow_net 0.137, prenet_rain100h 6.16)
        version="2",  # 2: trained on also after the x4 step
        reference="irpilot (irpilot train tool derain); U-Net: Ronneberger et al. 2015",
    )


@register
class DehazeNet(CompactNetTool):
    """irpilot's compact dehazing network (the U-Net with the scattering-model head).  Its airlight
    is read once from the whole photo (downscaled to at most 512 px) so that the tiles of a large
    photo share it.  Each run sees a mirrored margin of ``margin`` px around its image: at a
    photo's border the U-Net's zero padding, the dark channel and the guided filters saw nothing
    beyond it, and the outermost ~30 px came out 25-37 / 255 off what the same pixels got inside
    a larger photo (2-3 with the margin; BENCHMARKS.md, "The photo's border")."""

    card = compact_card(
        tool_id="dehaze_net",
        task="dehaze",
        description="dehazing by irpilot's own compact U-Net (0.28 M parameters) with a scattering-model head: "
        "it reads the photo relative to the dark-channel airlight, that image's dark channel and the value "
        "minus saturation, and predicts a per-pixel transmission, made to follow the photo's edges by a "
        "guided filter (radius 16 px, in training as at run time), and the mix of the inversion in sRGB and "
        "in linear light. Trained 32 min on one CPU thread (20 at 128 px, 12 at 256) on irpilot's training "
        "photos (T91, CSet14, LIVE1 without Kodak, classic5, scikit-image) with its two haze models "
        "(realistic real_haze and the protocol's haze, half each, 10 % clean crops). At run time (version 2) "
        "it sees a mirrored margin of 32 px around each image (at the photo's border the outermost ~30 px "
        "were 25-37 / 255 off), and "
        "a flat sky as bright as the haze is not inverted as hard: the transmission is raised within 0.06 of "
        "the airlight (tolerance) and variation of a local variance under (3/255)^2 is added back unamplified "
        "(flat_variance), which turns the blotches a real photo's JPEG banding became into smoother bands; "
        "sky=true keeps such a sky, when it reaches the top border, as it is (cleaner still on real city "
        "photos, but a synthetic haze over a cloudy sky then keeps its haze: off by default). Test crops (12, "
        "256 px, Kodak24/CBSD68/McMaster): +7.6 dB on real_haze and +6.3 on haze, none worse "
        "(dark_channel_prior +6.3 / +6.4, color_attenuation_prior +6.5 / +6.6, dehaze_aod_net +4.1 / +4.6; "
        "version 1 +6.9 / +6.3); a clean crop comes back at 28.3 dB (worst 20.7); the toolbox's 4 protocol "
        "crops +7.6 (dark_channel_prior +8.2). Fitted to those two synthetic haze models; on AOD-Net's 22 "
        "real hazy photos NIQE 4.28 -> 3.99 and BRISQUE 27.6 -> 25.8 (dark_channel_prior 4.21 / 26.4), but "
        "skies can still come out darker in bands or patches and take a tint (docs/dehaze_net_real.jpg; "
        "BENCHMARKS.md, 'dehaze_net' and 'A flat sky as bright as the haze'). Not trained on noise, which "
        "the inversion amplifies: denoise first (on three test images with realistic haze + noise, this tool "
        "then dncnn_color_blind ended 4.7-5.4 dB below dncnn_color_blind then dark_channel_prior)",
        # tiles overlap by 96 px: the guided filter's two box passes (radius 16 each), the dark channel and
        # the U-Net reach past 32 px; on a 1500 x 1049 real photo 512 px tiles then differ from the untiled
        # run by 0.7 / 255 at the 99.9th percentile away from the photo's edges, at most 2.0, since each
        # tile sees a mirrored margin (version 1: 4.1 and 9.9; 32 px of overlap: 12.1 and 29.5 over the
        # whole photo; benchmarks/tile_seams.py)
        tile_overlap=96,
        version="2",  # 2: the tolerance and flat variance in a sky as bright as the haze; the sky argument; the mirrored margin
        arguments={"sky": {"type": "boolean", "default": False,
                           "description": "keep a flat sky near the airlight's colour that reaches the top border "
                                          "as it is (a real photo's hazy sky: inverted, its banding and brightness "
                                          "gradient turn into dark bands; a synthetic haze over a cloudy sky loses "
                                          "its clouds)"}},
        cpu_seconds_512=0.25,  # benchmarks/tool_speed.py --threads 2 --repeats 3, otherwise idle machine, 2026-12-05 (version 1: 0.21)
        reference="irpilot (irpilot train tool dehaze); U-Net: Ronneberger et al. 2015; dark channel: He et al. 2009",
    )

    #: the haze head's run-time settings for a flat sky (:func:`irpilot.tools.networks.compact.build_compact_net`);
    #: 0 turns either off.  Chosen by looking at real hazy photos (AOD-Net's test6 and test10), their
    #: cost measured on crops of training photos (BENCHMARKS.md, "A flat sky as bright as the haze")
    tolerance = 0.06
    flat_variance = (3.0 / 255.0) ** 2

    def build(self) -> torch.nn.Module:
        model = super().build()
        model.tolerance, model.flat_variance = self.tolerance, self.flat_variance
        return model

    margin = 32

    def __call__(self, img: np.ndarray, **args: object) -> np.ndarray:
        from ...imaging.convert import as_image
        from ..classical.dehaze import sky_mask

        img = as_image(img)  # the airlight is read from the array before the tiles are cut
        self.ensure_setup()
        if "airlight" not in args:
            args["airlight"] = self._airlight(img)
        out = super().__call__(img, **args)  # checks the arguments; the network ignores ``sky``
        if not args.get("sky", False):
            return out
        m = sky_mask(img, args["airlight"])[None]
        return (out + m * (img - out)).astype(np.float32)

    def _run(self, img: np.ndarray, **args: object) -> np.ndarray:
        m = self.margin
        if not m:
            return super()._run(img, **args)
        out = super()._run(np.pad(img, ((0, 0), (m, m), (m, m)), mode="reflect"), **args)
        return out[:, m:-m, m:-m]

    def _airlight(self, img: np.ndarray) -> tuple[float, float, float]:
        import torch

        with torch.inference_mode():
            a = self.model.estimate_airlight(torch.from_numpy(self._small(img)[None]).to(self.device))
        return tuple(float(v) for v in a[0].float().cpu())


@register
class DehazeNetLite(DehazeNet):
    """``dehaze_net``'s recipe at a quarter of its width: the same head, run-time sky settings and
    tiling, a quarter of the parameters."""

    asset = "dehaze_lite"
    train_options = "--widths 8,16,24,32 --refine 16 --select all"
    card = compact_card(
        tool_id="dehaze_net_lite",
        task="dehaze",
        description="dehazing by dehaze_net's recipe at a quarter of its width (U-Net widths 8-32, 71,597 "
        "parameters, 0.29 MB): the same scattering-model head, guided transmission, run-time sky settings "
        "and sky argument, mirrored margin; trained the same 32 min on one CPU thread (20 at 128 px, 12 at 256) on irpilot's "
        "training photos with realistic real_haze and the protocol's haze (validation at 256 px, best at "
        "minute 32: real_haze 18.57 -> 22.91 dB, haze 16.28 -> 21.15; dehaze_net 23.18 / 21.95). Test crops "
        "(12, 256 px, Kodak24/CBSD68/McMaster): +7.3 dB on real_haze (none worse) and +6.5 on haze (one crop "
        "-1.5), dehaze_net +7.6 / +6.3 in the same run; a clean crop comes back at 29.1 dB (dehaze_net 28.3); "
        "the toolbox's 4 protocol crops +7.6 (dehaze_net +7.6). 1.3x faster than dehaze_net in the same "
        "run (0.19 against 0.25 s per 512 px). On AOD-Net's 22 real hazy photos NIQE 4.28 -> 3.99, BRISQUE "
        "27.6 -> 24.0 (dehaze_net 3.99 / 25.8), but its skies come out darker in patches and greener than "
        "dehaze_net's (docs/dehaze_net_real.jpg). Fitted "
        "to those two synthetic haze models; denoise first. The toolbox's second dehazing network of "
        "dehaze_net's cost (BENCHMARKS.md, 'dehaze_net_lite')",
        tile_overlap=96,
        arguments=DehazeNet.card.arguments,
        cpu_seconds_512=0.19,  # benchmarks/tool_speed.py --threads 2 --repeats 3, otherwise idle machine, 2026-12-05 (dehaze_net 0.25)
        reference="irpilot (irpilot train tool dehaze --widths 8,16,24,32); U-Net: Ronneberger et al. 2015; "
        "dark channel: He et al. 2009",
    )


@register
class DehazeAODNet(CompactNetTool):
    """AOD-Net's architecture trained by irpilot on its training photos and haze models."""

    asset = "dehaze_aod"
    train_options = "--arch aod"
    card = compact_card(
        tool_id="dehaze_aod_net",
        task="dehaze",
        description="AOD-Net's architecture (1,761 parameters, J = K I - K + 1) trained from scratch by "
        "irpilot on its training photos with its two haze models (realistic real_haze and the protocol's "
        "haze): the weights of minute 8 on one CPU thread (1,916 steps of 16 crops of 128 px; the best "
        "validation score, clean crops counted, of a run stopped at minute 16). Test crops (12, 256 px, "
        "Kodak24/CBSD68/McMaster): +4.1 dB on real_haze and +4.6 on haze, none worse, a clean crop kept at "
        "24.0 dB (the pretrained aod_net, trained on indoor NYU haze: +2.6 / +0.8, 3-4 of 12 worse, 15.6); "
        "the toolbox's 4 protocol crops +4.0 dB. Below the classical priors (dark_channel_prior +6.3 / "
        "+6.4, color_attenuation_prior +6.5 / +6.6 on the same crops): a second, cheap dehazing network, "
        "fitted to those two synthetic haze models",
        multiple_of=1,
        tile_size=1024,
        tile_overlap=16,
        cpu_seconds_512=0.017,  # benchmarks/tool_speed.py --threads 2 --repeats 9, idle: as aod_net (0.015-0.018)
        reference="irpilot (irpilot train tool dehaze --arch aod); B. Li et al., AOD-Net: All-in-One Dehazing "
        "Network, ICCV 2017",
    )


@register
class LowLightNet(CompactNetTool):
    """irpilot's compact low-light network (the U-Net with the exposure head)."""

    weights_provided = False  # not shipped: BENCHMARKS.md, "Compact networks with physical heads"
    card = compact_card(
        tool_id="low_light_net",
        task="low_light",
        description="low-light enhancement by irpilot's own compact U-Net (0.28 M parameters) with an exposure "
        "head: a per-pixel gain, a per-image colour-cast correction and a small residual; trained on "
        "irpilot's training photos with its two darkening models (realistic real_dark and the protocol's "
        "dark). Its weights are not shipped: 2.1 dB ahead of hsv_value_inverse on realistic dark test crops "
        "but it brightens real low-light photos too little (BENCHMARKS.md, 'Compact networks with physical "
        "heads'); train your own and put them in a weights folder (irpilot train tool low_light --export "
        "~/.cache/irpilot/weights/irpilot/compact_low_light.safetensors)",
        cpu_seconds_512=0.1,  # not measured with shipped weights: desnow_net's U-Net takes 0.079 s
        version="2",  # 2: the colour correction of a photo larger than a tile read once for all its tiles
        reference="irpilot (irpilot train tool low_light); U-Net: Ronneberger et al. 2015",
    )


@register
class SRNetX4(CompactNetTool):
    """irpilot's compact x4 super-resolution network: bicubic x4, then the U-Net's residual."""

    asset = "super_resolution"
    train_options = ("--widths 32,48,64,96 --models real_motion_blur+real_low_resolution:0.25,"
                     "real_defocus_blur+real_low_resolution:0.25,motion_blur+low_resolution:0.1,"
                     "defocus_blur+low_resolution:0.1,real_low_resolution:0.2,low_resolution:0.1")
    card = compact_card(
        tool_id="sr_net_x4",
        task="super_resolution",
        description="x4 super-resolution: bicubic x4 upscaling, then irpilot's own compact residual U-Net "
        "(0.6 M parameters, widths 32-96) restores the detail. Version 2: version 1 (80 min on irpilot's "
        "training photos with the protocol's MATLAB bicubic x1/4 and the realistic real_low_resolution: bicubic, "
        "lanczos, area, Gaussian pre-blur or bilinear, a third sharpened) fine-tuned 45 min on one CPU thread "
        "with small photos of blurred scenes as well: camera shake or lens defocus (realistic), line or disk "
        "blur (protocol) before the x1/4, 70 %, and the two x1/4 models alone, 30 %. 24 held-out crops of the "
        "training photos (256 px), gain over bicubic x4 (version 1): shake then x1/4 +0.45 (+0.15), lens "
        "defocus then x1/4 +1.15 (+0.49), the protocol's disk blur then x1/4 +1.45 (+0.98), its line blur "
        "-0.10 (-0.03), real_low_resolution alone +1.02 (+1.07), the protocol's x1/4 alone +1.21 (+1.40). "
        "Half of sr_ensemble_x4's average (the default policy's x4 tool), where the two together gain "
        "+0.39 / +1.03 / +1.38 / +0.05 / +1.44 / +2.06 on the same crops; at the 120 held-out x4 steps of "
        "benchmarks/sr_choice.py the ensemble gains +0.79 dB with version 2, +0.67 with version 1: "
        "BENCHMARKS.md, \"sr_net_x4 version 2\". Not trained on noise or JPEG left in the small image, nor "
        "on other factors than 4",
        version="2",  # 2: fine-tuned with blur before the x1/4 (BENCHMARKS.md, "sr_net_x4 version 2")
        scale=4,
        multiple_of=2,  # the U-Net's 8 at the x4 output
        tile_size=128,
        tile_overlap=8,
        # benchmarks/tool_speed.py --threads 2 --repeats 3 --tools sr_net_x4 dncnn3_sr_x4 span_x4, otherwise
        # idle machine, 2026-12-05: 0.254 s (dncnn3_sr_x4 1.42, span_x4 0.041 in the same run)
        cpu_seconds_512=0.25,
        reference="irpilot (irpilot train tool super_resolution); U-Net: Ronneberger et al. 2015",
    )

    def _net_input(self, img: np.ndarray) -> np.ndarray:
        from .dncnn import bicubic_upscale

        return bicubic_upscale(img, 4)


@register
class JpegDeblurDefocus(CompactNetTool):
    """irpilot's compact network that sharpens a photo after its JPEG step.  Its training pairs are
    made first with the same options and ``--make N`` (the trainer says so when ``DIR`` has none;
    BENCHMARKS.md, "Deblurring after the JPEG step")."""

    asset = "jpeg_deblur"
    train_task = "defocus_deblur"
    train_options = ("--models real_motion_blur+real_jpeg>dejpeg:0.3,motion_blur+jpeg>dejpeg:0.15,"
                     "real_defocus_blur+real_jpeg>dejpeg:0.25,defocus_blur+jpeg>dejpeg:0.15,real_jpeg>dejpeg:0.15 "
                     "--clean-share 0 --data DIR")
    card = compact_card(
        tool_id="jpeg_deblur_defocus",
        task="defocus_deblur",
        description="defocus deblurring of a photo whose JPEG artefacts the agent's JPEG step (jpeg_ycc_net) has removed: "
        "irpilot's own compact residual U-Net (0.28 M parameters; desnow_net's recipe) trained on that step's "
        "output of blurred, compressed crops of irpilot's training photos (T91, CSet14, LIVE1 without Kodak, "
        "classic5, scikit-image): the realistic lens defocus and camera shake and the protocol's disk and line "
        "blur, each with its family's JPEG, and JPEG alone (1,740 stored pairs of 192 px; the weights of minute 24 of "
        "32 on two CPU threads). After that step the deconvolutions gain next to nothing: on 12 held-out "
        "crops (256 px), gain over the JPEG step's output, this "
        "network +0.68 dB on realistic defocus and +0.63 on the protocol's (defocus_deblur_hqs +0.06 / -0.07), "
        "+0.51 on realistic camera shake (shake_deblur_pnp +1.09), -0.32 on the protocol's line blur "
        "(motion_deblur_hqs +1.74) and -0.46 on JPEG without blur: it sharpens whatever it is given, so it runs "
        "where perception read defocus blur. The default policy calls it in place of its defocus tools once "
        "a JPEG step is done (swap_after); made for that place, not for a photo as taken. BENCHMARKS.md, "
        "\"Deblurring after the JPEG step\".",
        # benchmarks/tool_speed.py --threads 2 --repeats 3 --tools jpeg_deblur_defocus desnow_net defocus_deblur_hqs,
        # 2026-12-07, beside two other jobs: 0.80 s, 1.07x desnow_net's 0.74 (the same U-Net; 0.137 on an idle machine)
        cpu_seconds_512=0.15,
        reference="irpilot (irpilot train tool defocus_deblur --models ...>dejpeg --data DIR); U-Net: Ronneberger et al. 2015",
    )
