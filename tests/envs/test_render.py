import os
import subprocess
import sys

import mujoco
import numpy as np
import pytest

from wmplan.envs.render import FastRenderer, gl_backend

SCRIPT = """
import wmplan.envs, numpy as np
env = wmplan.envs.make("wmplan/Push-v0")
obs, _ = env.reset(seed=0)
print(env.unwrapped.model.nq, int(obs["pixels"].sum()))
"""


def test_backend_is_headless():
    assert gl_backend() in ("egl", "osmesa")


def test_invalid_backend_is_rejected(monkeypatch):
    monkeypatch.setenv("MUJOCO_GL", "glfw")
    with pytest.raises(ValueError, match="MUJOCO_GL"):
        gl_backend()


def test_same_state_same_image(make_env):
    env = make_env("wmplan/Reacher-v0")
    u = env.unwrapped
    env.reset(seed=0)
    state = u.get_state()
    first = env.render()
    for _ in range(10):
        env.step(np.ones(2, np.float32))
    assert not np.array_equal(env.render(), first)
    u.set_state(state)
    np.testing.assert_array_equal(env.render(), first)


def test_one_renderer_serves_many_frames_without_reallocating(make_env):
    env = make_env("wmplan/TwoRoom-v0")
    env.reset(seed=0)
    renderer = env.unwrapped._renderer
    ctx = renderer._ctx
    for _ in range(5):
        env.step(np.zeros(2, np.float32))
    assert renderer._ctx is ctx


def test_renderer_rejects_unknown_camera():
    model = mujoco.MjModel.from_xml_string("<mujoco><worldbody/></mujoco>")
    renderer = FastRenderer(model, 32)
    with pytest.raises(ValueError, match="camera"):
        renderer.render(mujoco.MjData(model), "missing")
    renderer.close()
    with pytest.raises(ValueError, match="image size"):
        FastRenderer(model, 4)


def _run(backend: str | None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("MUJOCO_GL", None)
    env.pop("PYOPENGL_PLATFORM", None)
    if backend:
        env["MUJOCO_GL"] = backend
    return subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True)


def test_no_gl_noise_at_exit():
    proc = _run(None)
    assert proc.returncode == 0, proc.stderr
    assert "EGL" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_egl_and_osmesa_render_the_same_scene():
    results = {}
    for backend in ("egl", "osmesa"):
        proc = _run(backend)
        if proc.returncode != 0:
            pytest.skip(f"{backend} not available here: {proc.stderr[-200:]}")
        results[backend] = proc.stdout.split()
    assert results["egl"][0] == results["osmesa"][0]
    # Both rasterise in software here; allow small differences in shading.
    a, b = (int(results[k][1]) for k in ("egl", "osmesa"))
    assert abs(a - b) / a < 0.05
