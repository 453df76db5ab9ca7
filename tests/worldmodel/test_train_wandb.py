"""Training logs to wandb offline when asked (wandb comes with the dev extra: this
test fails without it instead of skipping), and the API key reaches no file."""

from __future__ import annotations

import pytest
from optional_deps import require
from test_train import tiny_config
from wm_fixtures import write_synthetic

from wmplan.worldmodel.train import train

pytestmark = pytest.mark.usefixtures("one_thread")
SECRET = "wmplan-train-secret-0c61f0d9a2b7"


def test_training_with_wandb_writes_an_offline_run(tmp_path, monkeypatch):
    wandb = require("wandb")
    # wandb set up earlier in this process (as a bench with --wandb does) must not
    # send the run elsewhere (it once went to the cwd).
    wandb.setup()
    monkeypatch.setenv("WANDB_API_KEY", SECRET)
    monkeypatch.setenv("WANDB_SILENT", "true")
    for name in ("WANDB_MODE", "WANDB_DIR"):  # train sets these: restore them after
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    data = write_synthetic(tmp_path / "syn.h5", episodes=4)
    result = train(tiny_config(tmp_path, data, steps=10, wandb=True))
    assert result.step == 10
    runs = list((tmp_path / "run" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, "no offline wandb run under the run directory"
    files = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert any(p.suffix == ".wandb" for p in files)
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), f"API key written to {path}"
