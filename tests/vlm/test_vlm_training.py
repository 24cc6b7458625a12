"""Training a vision-language model on irpilot's environment, on a tiny random Qwen2-VL built in
code (no download): the export, SFT on exported decisions, GRPO with the real pool and reward."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("transformers")
pytest.importorskip("peft")
torch = pytest.importorskip("torch")

from irpilot.pool import Pool  # noqa: E402

from .conftest import TOY_TOOLS, toy_clean, toy_degrade, toy_expert  # noqa: E402


@pytest.fixture(scope="module")
def pool():
    p = Pool(workers=1)
    yield p
    p.close()


@pytest.fixture(scope="module")
def exported(tmp_path_factory, toy_tools, pool):
    from irpilot.train.vlm_export import ExportConfig, export

    root = tmp_path_factory.mktemp("vlm")
    toy_expert(root / "expert", 60, pool)
    summary = export(root / "export", expert=[root / "expert"], cfg=ExportConfig(max_side=0, perception=False, tools=TOY_TOOLS),
                     perceiver=None)
    return root / "export", summary


def test_export_writes_chat_records_with_images_and_tool_calls(exported):
    from irpilot.train.vlm_export import load_steps, read_images
    from irpilot.train.vlm_model import render_chat

    out, summary = exported
    assert summary["episodes"]["expert"] == 60 and summary["steps"] == 120
    steps = load_steps(out)
    first, second = steps[0], steps[1]
    assert first.target.name in ("vlmfake_gain2", "vlmfake_unwash") and second.target.is_stop
    # Qwen2.5-VL-style messages: image placeholders matching the images list, dict arguments
    n_parts = sum(1 for m in second.prompt for p in m["content"] if p.get("type") == "image")
    assert n_parts == len(second.images) == 2 and all(p.is_file() for p in second.images)
    call = next(m for m in second.prompt if m["role"] == "assistant")["tool_calls"][0]["function"]
    assert call == {"name": first.target.name, "arguments": {}}
    assert read_images(second)[0].shape == (3, 32, 32)
    text = render_chat(second.prompt)
    assert text.count("<|image_pad|>") == 2 and f'"name": "{first.target.name}"' in text and "<tool_response>" in text
    episodes = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert episodes[0]["messages"][-1]["tool_calls"][0]["function"]["name"] == "stop"
    tools = json.loads((out / "tools.json").read_text())
    assert sorted(t["function"]["name"] for t in tools) == sorted([*TOY_TOOLS["low_light"], *TOY_TOOLS["dehaze"], "stop"])


def test_sft_lowers_the_loss_and_raises_held_out_choice_accuracy(exported, tmp_path):
    from irpilot.train.vlm_export import load_steps
    from irpilot.train.vlm_model import load_vlm, tiny_vlm
    from irpilot.train.vlm_sft import VLMSFTConfig, train_vlm_sft

    out, _ = exported
    vlm = tiny_vlm([json.dumps(d.prompt) for d in load_steps(out)[:20]], seed=0)
    # every weight trains: a random model's frozen output head bounds its logits, so LoRA alone
    # learns slowly here (LoRA runs in the GRPO test)
    res = train_vlm_sft(vlm, out, tmp_path / "sft", VLMSFTConfig(epochs=4, batch_size=4, lr=3e-3, lora_r=0, val_fraction=0.25))
    h = res["history"]
    assert h[-1]["loss"] < 0.5 * h[0]["first_loss"]
    assert h[-1]["val_loss"] < h[0]["first_loss"]
    # the expert's call is the model's first choice on held-out crops far more often than before,
    # and more often than always answering the most frequent call (stop, half the decisions)
    assert res["accuracy_after"] >= res["accuracy_before"] + 0.25
    assert res["accuracy_after"] > 0.6
    # the saved folder loads as a transformers model, and `policy serve --model` of it drives the
    # vlm policy through HTTP with the real openai client
    from irpilot.agent import Agent
    from irpilot.policies.serve import start_server
    from irpilot.train.vlm_model import ModelResponder

    again = load_vlm(str(tmp_path / "sft"), dtype="float32", device="cpu")
    assert again.name == "tiny-qwen2-vl"
    server, url = start_server(ModelResponder(again), model_name="tiny")
    try:
        dark = toy_degrade(toy_clean(np.random.default_rng(5)), "dark")
        toolbox = ";".join(f"{task}={','.join(names)}" for task, names in TOY_TOOLS.items())
        with Pool(workers=1) as pool:
            traj = Agent(pool=pool, perceiver=None).run(dark, f"vlm:endpoint={url}:model=tiny:max_side=0:max_steps=2:tools={toolbox}")
    finally:
        server.shutdown()
    assert traj.steps and all(s.reply.get("text", "").startswith("choices:") for s in traj.steps)
    assert traj.steps[-1].action.is_stop


def test_grpo_runs_with_the_real_pool_and_reward_and_its_reward_rises(toy_tools, pool, tmp_path):
    """Darkened crops: the right play is vlmfake_gain2 then stop; the other calls lose fidelity."""
    from irpilot.policies.chat import tool_schemas
    from irpilot.train.vlm_grpo import VLMGRPOConfig, train_vlm_grpo
    from irpilot.train.vlm_model import tiny_vlm

    def cases(rng, i):
        clean = toy_clean(rng)
        return toy_degrade(clean, "dark"), clean

    vlm = tiny_vlm(["Accepted so far: nothing. Call the first tool, or stop."], seed=1, tools=tool_schemas(TOY_TOOLS))
    cfg = VLMGRPOConfig(group_size=4, groups_per_update=2, updates=8, lr=1e-2, max_steps=2, strategy="static",
                        metrics=("psnr", "ssim"), lora_r=0, kl_coef=0.02, max_side=0)
    res = train_vlm_grpo(vlm, cases, pool, tmp_path / "grpo", cfg, toolbox=TOY_TOOLS)
    h = res["history"]
    assert len(h) == 8 and all(np.isfinite(r["reward"]) and "c_d_psnr" in r for r in h)
    first, last = np.mean([r["reward"] for r in h[:3]]), np.mean([r["reward"] for r in h[-3:]])
    assert last > first, [round(r["reward"], 2) for r in h]
    log = [json.loads(line) for line in (tmp_path / "grpo" / "grpo_log.jsonl").read_text().splitlines()]
    assert [r["update"] for r in log] == list(range(1, 9))


def test_export_replays_policy_traces(toy_tools, pool, tmp_path):
    from irpilot.agent import Agent
    from irpilot.io import write_image
    from irpilot.train.vlm_export import ExportConfig, export, load_steps, read_images

    src = tmp_path / "dark.png"
    write_image(src, toy_degrade(toy_clean(np.random.default_rng(3)), "dark"))
    from irpilot.io import read_image

    traj = Agent(pool=pool, perceiver=None).run(read_image(src), "fixed:tasks=dark:tools=low_light=vlmfake_gain2", source=str(src))
    traj.save(tmp_path / "dark.trace.json")
    summary = export(tmp_path / "export", traces=[tmp_path / "dark.trace.json"], pool=pool, perceiver=None,
                     cfg=ExportConfig(max_side=0, perception=False, tools=TOY_TOOLS))
    assert summary["episodes"] == {"policy:fixed": 1}
    steps = load_steps(tmp_path / "export")
    assert [s.target.name for s in steps] == ["vlmfake_gain2", "stop"]
    # the second decision shows the image the replayed call produced
    after = read_images(steps[1])[1]
    assert np.abs(after - np.clip(read_image(src) * 2, 0, 1)).max() < 1 / 255 + 1e-6


def test_grpo_with_lora_keeps_the_base_model_as_reference_and_saves_a_merged_model(toy_tools, pool, tmp_path):
    from irpilot.policies.chat import tool_schemas
    from irpilot.train.vlm_grpo import VLMGRPOConfig, train_vlm_grpo
    from irpilot.train.vlm_model import load_vlm, tiny_vlm

    def cases(rng, i):
        clean = toy_clean(rng)
        return toy_degrade(clean, "haze"), clean

    vlm = tiny_vlm([], seed=2, tools=tool_schemas(TOY_TOOLS))
    base = {k: v.clone() for k, v in vlm.model.state_dict().items()}
    cfg = VLMGRPOConfig(group_size=3, groups_per_update=1, updates=2, lr=5e-2, max_steps=1, strategy="gdpo",
                        metrics=("psnr",), lora_r=4, kl_coef=0.1, max_side=0)
    res = train_vlm_grpo(vlm, cases, pool, tmp_path / "lora", cfg, toolbox=TOY_TOOLS)
    h = res["history"]
    assert h[0]["kl"] == pytest.approx(0.0, abs=1e-6)  # LoRA starts as the identity: policy == reference
    assert h[1]["kl"] >= 0.0 and np.isfinite(h[1]["kl"])
    assert (tmp_path / "lora" / "adapter").is_dir()
    merged = load_vlm(str(tmp_path / "lora"), dtype="float32", device="cpu").model.state_dict()
    changed = [k for k in base if "language_model" in k and "proj" in k and not torch.equal(base[k], merged[k])]
    assert changed, "the merged model carries the adapters' update"
