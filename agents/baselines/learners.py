"""The offline learners by name, and building one from a checkpoint's model config
(shared by training, ``offline.py``, and loading, ``agent.py``)."""

from __future__ import annotations

from typing import Any

import torch

from wmplan.agents.baselines.gcbc import GCBC, GCBCConfig
from wmplan.agents.baselines.gciql import GCIQL, GCIQLConfig
from wmplan.agents.baselines.nets import GoalEncoder

ALGOS: dict[str, tuple[type, type]] = {"gcbc": (GCBC, GCBCConfig), "gciql": (GCIQL, GCIQLConfig)}


def build_learner(model_config: dict[str, Any]) -> torch.nn.Module:
    """The learner (``GCBC``/``GCIQL``) described by a checkpoint's model config."""
    algo = model_config["algo"]
    learner_cls, config_cls = ALGOS[algo]

    def make_encoder() -> GoalEncoder:
        return GoalEncoder(
            model_config["obs"],
            state_dim=model_config["state_dim"],
            image_size=model_config["image_size"],
            channels=tuple(model_config["cnn_channels"]),
            feat_dim=model_config["feat_dim"],
            fusion=model_config.get("fusion", "late"),  # checkpoints before fusion: late
        )

    cfg = config_cls(**model_config["options"])
    hidden = tuple(model_config["hidden"])
    if learner_cls is GCBC:
        return GCBC(cfg, make_encoder(), model_config["action_dim"], hidden)
    return GCIQL(cfg, make_encoder, model_config["action_dim"], hidden)
