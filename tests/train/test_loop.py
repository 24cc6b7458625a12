"""The trainers' shared pieces (``irpilot.train.loop``): schedule, log, checkpoint and resume."""

from __future__ import annotations

import json
import math

import pytest

torch = pytest.importorskip("torch")

from irpilot.train.loop import JsonLog, checkpoint, cosine_lr, export_best, resume, train_for_budget  # noqa: E402


def test_cosine_lr_runs_from_peak_to_two_percent():
    assert cosine_lr(1e-3, 0.0) == pytest.approx(1e-3)
    assert cosine_lr(1e-3, 0.5) == pytest.approx(1e-3 * 0.51)
    assert cosine_lr(1e-3, 1.0) == pytest.approx(2e-5)


def test_checkpoint_resumes_model_optimiser_and_counters(tmp_path):
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    checkpoint(tmp_path, model, opt, step=7, spent=12.5, best=30.25)

    fresh = torch.nn.Linear(3, 2)
    fresh_opt = torch.optim.Adam(fresh.parameters(), lr=0.1)
    assert resume(tmp_path, fresh, fresh_opt) == (7, 12.5, 30.25)
    assert torch.equal(fresh.weight, model.weight)
    assert fresh_opt.state_dict()["state"][0]["step"] == opt.state_dict()["state"][0]["step"]


def test_resume_without_a_checkpoint_starts_afresh(tmp_path):
    model = torch.nn.Linear(2, 2)
    before = model.weight.detach().clone()
    assert resume(tmp_path, model, torch.optim.Adam(model.parameters())) == (0, 0.0, -math.inf)
    assert torch.equal(model.weight, before)


def test_log_appends_json_lines_and_export_copies_best(tmp_path, capsys):
    log = JsonLog(tmp_path / "log.jsonl")
    log(event="start", step=0)
    (tmp_path / "best.safetensors").write_bytes(b"weights")
    export_best(tmp_path, tmp_path / "shipped.safetensors", log)
    log.close()
    lines = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert lines == [{"event": "start", "step": 0}, {"event": "export", "path": str(tmp_path / "shipped.safetensors")}]
    assert (tmp_path / "shipped.safetensors").read_bytes() == b"weights"
    assert '"event": "start"' in capsys.readouterr().out


def test_train_for_budget_steps_validates_keeps_the_best_and_checkpoints(tmp_path):
    """Five steps of a one-weight fit: the schedule sets the rate, the final validation runs, a
    better score saves the best weights, a worse one does not, and last.pt resumes the run."""
    model = torch.nn.Linear(1, 1, bias=False)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    rates, saved = [], []

    def train_step():
        rates.append(opt.param_groups[0]["lr"])
        loss = (model(torch.ones(1, 1)) - 2.0).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss)

    def evaluate():
        err = abs(float(model.weight) - 2.0)
        return -err, {"err": err}

    log = JsonLog(tmp_path / "log.jsonl")
    step, spent, best = train_for_budget(tmp_path, model, opt, log, step=0, spent=0.0, best=-math.inf, budget=3600.0,
                                         peak_lr=0.1, train_step=train_step, evaluate=evaluate,
                                         save_best=lambda s, t, f: saved.append((s, f["err"])), max_steps=5)
    assert step == 5 and rates[0] == pytest.approx(0.1, rel=1e-3) and saved and saved[-1][0] == 5
    assert best == pytest.approx(-saved[-1][1])
    # a worse score later does not replace the best
    step2, _, best2 = train_for_budget(tmp_path, model, opt, log, step=step, spent=spent, best=1.0, budget=3600.0,
                                       peak_lr=0.1, train_step=train_step, evaluate=evaluate,
                                       save_best=lambda s, t, f: saved.append((s, f["err"])), max_steps=1)
    log.close()
    assert step2 == 6 and best2 == 1.0 and len(saved) == 1
    assert resume(tmp_path, model, opt)[0] == 6
    events = [json.loads(x)["event"] for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert events.count("eval") == 2
