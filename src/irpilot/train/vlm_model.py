"""A causal vision-language model as irpilot's policy: loading (a transformers checkpoint such as
Qwen2.5-VL, or a tiny random Qwen2-VL built in code for tests), rendering irpilot's chat turns
with one hermes-style template, and scoring tool calls.

Decisions are made over the *offered* calls: every candidate completion
(``<tool_call>{"name": tool, "arguments": {}}</tool_call>``, ``stop`` included) is scored by the
sum of its tokens' log-probabilities, and the policy is the softmax of those sums over the
candidates.  A trained model puts almost all its mass on one well-formed call anyway; the
restriction makes every sample a valid call, which GRPO on a small or young model needs (free
generation from a random model is never a tool call).  Training still uses the model's own
token log-probabilities, so what is learned carries over to free generation by a server such as
vLLM.

transformers, peft and tokenizers are imported on first use (``pip install irpilot[vlm]``).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..policies.chat import SYSTEM_PROMPT, _arguments, hermes_call, openai_tool_call
from ..toolcall import ToolCall
from ..vocab import STOP

__all__ = [
    "render_chat",
    "VLM",
    "tiny_vlm",
    "load_vlm",
    "completion_text",
    "ModelResponder",
]

_TOOLS_INTRO = (
    "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with "
    "function signatures within <tools></tools> XML tags:\n<tools>\n{tools}\n</tools>\n\nFor each function call, "
    "return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n"
    "<tool_call>\n{{\"name\": <function-name>, \"arguments\": <args-json-object>}}\n</tool_call>"
)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content or [] if p.get("type") == "text")


def render_chat(messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]] | None = None,
                add_generation_prompt: bool = True) -> str:
    """Qwen2.5's hermes chat format with Qwen-VL's image tokens: function tools in the system
    turn, calls as ``<tool_call>{json}</tool_call>``, tool results in a user turn inside
    ``<tool_response>``; each image part is ``<|vision_start|><|image_pad|><|vision_end|>`` (the
    processor expands the pad to the image's tokens).  Qwen2.5-VL's shipped template has no tool
    section, so irpilot renders the turns itself, the same way for every model."""
    out = []
    system = _text(messages[0].get("content")) if messages and messages[0].get("role") == "system" else ""
    if tools:
        system += _TOOLS_INTRO.format(tools="\n".join(json.dumps(t) for t in tools))
    if system:
        out.append(f"<|im_start|>system\n{system}<|im_end|>\n")
    for m in messages:
        role = m.get("role")
        if role == "system":
            continue
        if role == "tool":
            out.append(f"<|im_start|>user\n<tool_response>\n{_text(m.get('content'))}\n</tool_response><|im_end|>\n")
            continue
        body = []
        content = m.get("content")
        for p in [{"type": "text", "text": content}] if isinstance(content, str) else (content or []):
            if p.get("type") in ("image", "image_url"):
                body.append("<|vision_start|><|image_pad|><|vision_end|>")
            elif p.get("type") == "text":
                body.append(p.get("text", ""))
        calls = [hermes_call({"name": tc["function"]["name"], "arguments": _arguments(tc["function"].get("arguments"))})
                 for tc in m.get("tool_calls") or []]
        text = "".join(body)
        if calls:
            text = (text + "\n" if text else "") + "\n".join(calls)
        out.append(f"<|im_start|>{role}\n{text}<|im_end|>\n")
    if add_generation_prompt:
        out.append("<|im_start|>assistant\n")
    return "".join(out)


_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>",
            "<|video_pad|>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "[UNK]"]
_WORD = re.compile(r"\w+|[^\w\s]")


def completion_text(call: ToolCall | Mapping[str, Any], eos: str = "<|im_end|>") -> str:
    """What the model writes for ``call``: the hermes tool call, then the end of its turn."""
    return hermes_call(call) + eos


def _import_hf() -> Any:
    try:
        import transformers
    except ImportError as exc:
        raise ConfigError("VLM training and serving need transformers, peft and tokenizers: pip install 'irpilot[vlm]'") from exc
    return transformers


@dataclasses.dataclass
class VLM:
    """A model, its processor, and the knobs of how irpilot talks to it."""

    model: Any
    processor: Any
    tools_in_prompt: bool = True  #: render the function tools in the system turn
    name: str = "vlm"

    def __post_init__(self) -> None:
        self.processor.tokenizer.padding_side = "right"  # completion_mask counts from the right end

    @property
    def device(self) -> Any:
        return next(self.model.parameters()).device

    # -- rendering --------------------------------------------------------------------------
    def prompt_text(self, prompt: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]] | None) -> str:
        return render_chat(prompt, tools if self.tools_in_prompt else None)

    def encode(self, texts: Sequence[str], images: Sequence[Sequence[np.ndarray]]) -> dict[str, Any]:
        """Tokenised texts with their images (float32 (3, H, W) each, in the order of the image
        tokens), right-padded, on the model's device."""
        flat = [np.ascontiguousarray((im.transpose(1, 2, 0) * 255.0 + 0.5).clip(0, 255).astype(np.uint8))
                for ims in images for im in ims]
        batch = self.processor(text=list(texts), images=flat or None, return_tensors="pt", padding=True)
        return {k: v.to(self.device) if hasattr(v, "to") else v for k, v in batch.items()}

    # -- scoring ---------------------------------------------------------------------------
    def sequence_logprobs(self, prompt_text: str, images: Sequence[np.ndarray], completions: Sequence[str]) -> Any:
        """Sum of the completion tokens' log-probabilities after ``prompt_text``, one per
        completion (a tensor with gradient when grad is enabled)."""
        import torch

        batch = self.encode([prompt_text + c for c in completions], [images] * len(completions))
        logits = self.model(**batch).logits[:, :-1].float()
        targets = batch["input_ids"][:, 1:]
        logp = torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        return (logp * self.completion_mask(batch, completions)).sum(-1)

    def completion_mask(self, batch: Mapping[str, Any], completions: Sequence[str]) -> Any:
        """(B, L-1) mask of the completion tokens among the shifted targets of a right-padded
        batch: the last ``len(tokens(completion))`` real tokens of each row.  A completion starts
        with a special token (``<tool_call>``), so it tokenises the same alone as after the prompt."""
        import torch

        tok = self.processor.tokenizer
        lengths = batch["attention_mask"].sum(-1).tolist()
        mask = torch.zeros(batch["input_ids"].shape[0], batch["input_ids"].shape[1] - 1, device=batch["input_ids"].device)
        for i, (length, c) in enumerate(zip(lengths, completions)):
            n = len(tok(c, add_special_tokens=False)["input_ids"])
            mask[i, int(length) - 1 - n : int(length) - 1] = 1.0
        return mask

    def action_logprobs(self, prompt: Sequence[Mapping[str, Any]], images: Sequence[np.ndarray],
                        candidates: Sequence[ToolCall], tools: Sequence[Mapping[str, Any]] | None = None) -> Any:
        """Log-probabilities of ``candidates`` under the policy restricted to them (a tensor (K,))."""
        import torch

        seq = self.sequence_logprobs(self.prompt_text(prompt, tools), images, [completion_text(c) for c in candidates])
        return torch.log_softmax(seq, dim=-1)

    def save(self, out: str | Path) -> Path:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        model = self.model
        if hasattr(model, "merge_and_unload"):  # LoRA: save the adapter, and the merged model for serving
            model.save_pretrained(out / "adapter")
            model = model.merge_and_unload()
            self.model = model
        model.save_pretrained(out)
        self.processor.save_pretrained(out)
        (out / "irpilot_vlm.json").write_text(json.dumps({"tools_in_prompt": self.tools_in_prompt, "name": self.name}))
        return out


def tiny_tokenizer(texts: Iterable[str], extra: Iterable[str] = ()) -> Any:
    """A word-level tokenizer (``tokenizers``) over the words and punctuation of ``texts``,
    with Qwen's special tokens; built in code, no download."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words: dict[str, None] = {}
    for t in [*texts, *extra]:
        for tok in _SPECIAL:
            t = t.replace(tok, " ")
        for w in _WORD.findall(t):
            words.setdefault(w, None)
    for i in range(100):
        words.setdefault(str(i), None)
    vocab = {tok: i for i, tok in enumerate(_SPECIAL)}
    for w in words:
        vocab.setdefault(w, len(vocab))
    tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.Split(Regex(r"\w+|[^\w\s]"), behavior="isolated")
    fast = PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", pad_token="<|endoftext|>",
                                   eos_token="<|im_end|>", additional_special_tokens=_SPECIAL[1:11])
    fast.add_special_tokens({"additional_special_tokens": _SPECIAL[1:11]})
    return fast


def tiny_vlm(texts: Iterable[str] = (), *, hidden: int = 64, layers: int = 2, image_side: int = 56, seed: int = 0,
             tools: Sequence[Mapping[str, Any]] = ()) -> VLM:
    """A Qwen2-VL-architecture model with random weights (a few layers, a small hidden size)
    and a word-level tokenizer over ``texts``, the system prompt and the tool names; images are
    resized to ``image_side`` pixels.  For tests and CPU experiments: no download."""
    import torch

    transformers = _import_hf()
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLImageProcessor, Qwen2VLProcessor
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    tool_words = [json.dumps(t) for t in tools]
    base = [SYSTEM_PROMPT, render_chat([], [{"x": 1}]), completion_text(ToolCall(STOP)), *tool_words,
            "user assistant system tool ok accepted error true false null nothing likely calls left"]
    tok = tiny_tokenizer([*base, *texts])
    ids = {t: tok.convert_tokens_to_ids(t) for t in _SPECIAL}
    heads = max(2, hidden // 32)
    head_dim = hidden // heads
    half = head_dim // 2
    section = [half - 2 * (half // 3), half // 3, half // 3]
    cfg = Qwen2VLConfig(
        text_config=dict(vocab_size=len(tok), hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                         num_attention_heads=heads, num_key_value_heads=heads, max_position_embeddings=4096,
                         rope_scaling={"type": "mrope", "mrope_section": section},
                         bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"]),
        vision_config=dict(depth=1, embed_dim=32, hidden_size=hidden, num_heads=2, mlp_ratio=2, patch_size=14,
                           spatial_merge_size=2, temporal_patch_size=2, in_channels=3),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
    )
    torch.manual_seed(seed)
    model = Qwen2VLForConditionalGeneration(cfg)
    px = image_side * image_side
    improc = Qwen2VLImageProcessor(size={"shortest_edge": px, "longest_edge": px})
    processor = Qwen2VLProcessor(image_processor=improc, tokenizer=tok, video_processor=Qwen2VLVideoProcessor())
    del transformers
    return VLM(model, processor, tools_in_prompt=False, name="tiny-qwen2-vl")


def load_vlm(path: str, *, max_pixels: int | None = None, dtype: str = "auto", device: str | None = None,
             tools_in_prompt: bool | None = None) -> VLM:
    """A transformers image-text-to-text model (a hub name such as ``Qwen/Qwen2.5-VL-3B-Instruct``
    or a folder saved by :meth:`VLM.save`) with irpilot's chat template."""
    _import_hf()
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    meta_path = Path(path) / "irpilot_vlm.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    kwargs: dict[str, Any] = {}
    if max_pixels:
        kwargs["max_pixels"] = int(max_pixels)
    processor = AutoProcessor.from_pretrained(path, **kwargs)
    torch_dtype = {"auto": "auto", "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
    model = AutoModelForImageTextToText.from_pretrained(path, dtype=torch_dtype)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device)
    tip = meta.get("tools_in_prompt", True) if tools_in_prompt is None else tools_in_prompt
    return VLM(model, processor, tools_in_prompt=tip, name=meta.get("name") or Path(path).name)


def add_lora(vlm: VLM, r: int = 16, alpha: int | None = None, dropout: float = 0.05,
             targets: Sequence[str] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")) -> VLM:
    """Wrap the language model's projections in LoRA adapters (peft); the vision tower stays
    frozen.  ``r=0`` leaves the model as it is (full fine-tuning)."""
    if r <= 0:
        return vlm
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError as exc:
        raise ConfigError("LoRA needs peft: pip install 'irpilot[vlm]'") from exc
    # the language model's layers only (Qwen-VL's vision blocks use other module names, except
    # the MLP projections, which the regex keeps out)
    pattern = r".*language_model.*\.(" + "|".join(targets) + r")$"
    cfg = LoraConfig(r=r, lora_alpha=alpha or 2 * r, lora_dropout=dropout, target_modules=pattern, bias="none")
    vlm.model = get_peft_model(vlm.model, cfg)
    return vlm


class ModelResponder:
    """A causal VLM answering ``irpilot policy serve`` requests: the most probable of the
    offered calls (see the module docstring), its probabilities in the reply's text."""

    def __init__(self, model: str | VLM, **load: Any) -> None:
        self.vlm = model if isinstance(model, VLM) else load_vlm(model, **load)
        self.vlm.model.eval()

    def __call__(self, req: Any, raw: Mapping[str, Any]) -> dict[str, Any]:
        import torch

        from ..policies.serve import request_prompt

        prompt, images = request_prompt(raw)
        offered = [n for n in req.offered if n not in req.failed] or [STOP]
        cands = [ToolCall(n) for n in offered]
        tools = [t for t in raw.get("tools") or [] if (t.get("function") or {}).get("name") in offered]
        with torch.inference_mode():
            lp = self.vlm.action_logprobs(prompt, images, cands, tools)
        p = lp.exp().cpu().numpy()
        best = cands[int(np.argmax(p))]
        top = sorted(zip(offered, p), key=lambda kv: -kv[1])[:3]
        return {"role": "assistant", "content": "choices: " + ", ".join(f"{n} {v:.2f}" for n, v in top),
                "tool_calls": [openai_tool_call(best, "call_0")]}
