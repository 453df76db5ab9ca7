import os
import pickle
import subprocess
import sys

import mujoco
import numpy as np
import pytest

from wmplan.envs.render import FastRenderer, gl_backend, make_renderer

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
    ctx = renderer._renderer
    for _ in range(5):
        env.step(np.zeros(2, np.float32))
    assert renderer._renderer is ctx


def test_gl_context_is_made_on_first_frame_and_dropped_by_pickle(make_env):
    env = make_env("wmplan/Reacher-v0")
    renderer = env.unwrapped._renderer
    assert not renderer.has_context  # building an env opens no GL context
    env.reset(seed=0)
    assert renderer.has_context
    copy = pickle.loads(pickle.dumps(renderer))
    assert not copy.has_context
    data = env.unwrapped.data
    np.testing.assert_array_equal(copy.render(data, "fixed"), renderer.render(data, "fixed"))
    copy.close()


def test_same_pixels_as_mujoco_renderer_with_the_same_flags(make_env):
    env = make_env("wmplan/Push-v0")
    env.reset(seed=2)
    u = env.unwrapped
    plain = make_renderer(u.model, u.image_size)  # mujoco.Renderer, flags off
    plain.update_scene(u.data, "top")
    np.testing.assert_array_equal(plain.render(), env.render())
    plain.close()


def test_closing_one_renderer_leaves_the_others_intact(make_env):
    # mujoco.Renderer.close frees GL objects on whatever context is current.
    env = make_env("wmplan/TwoRoom-v0")
    env.reset(seed=0)
    before = env.render()
    other = FastRenderer(env.unwrapped.model, 64)
    other.render(env.unwrapped.data, "top")
    env.render()  # ours is current again
    other.close()
    np.testing.assert_array_equal(env.render(), before)


VECTOR_SCRIPT = """
import sys
import gymnasium as gym
import numpy as np
import wmplan.envs

def main():
    env = gym.make("wmplan/TwoRoom-v0")
    env.reset(seed=0)
    env.render()  # the parent holds a GL context before the workers start
    vec = gym.make_vec("wmplan/TwoRoom-v0", num_envs=2, vectorization_mode="async",
                       vector_kwargs={"context": sys.argv[1]})
    obs, _ = vec.reset(seed=[5, 6])
    obs, *_ = vec.step(np.zeros((2, 2), np.float32))
    env.reset(seed=5)
    ref = env.step(np.zeros(2, np.float32))[0]["pixels"]
    assert np.array_equal(obs["pixels"][0], ref), "worker pixels differ from the parent's"
    assert not np.array_equal(obs["pixels"][0], obs["pixels"][1])
    vec.close()
    env.close()
    print("ok")

if __name__ == "__main__":
    main()
"""


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_async_vector_env_works_after_the_parent_rendered(tmp_path, start_method):
    # A forked worker used to inherit the parent's GL state and hang in reset.
    script = tmp_path / "vector_after_render.py"
    script.write_text(VECTOR_SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script), start_method], capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


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


FORK_EXIT_SCRIPT = """
import os, sys
import numpy as np
import wmplan.envs

env = wmplan.envs.make("wmplan/TwoRoom-v0")
env.reset(seed=0)
frame = env.render()
pid = os.fork()
if pid == 0:  # a plain forked child renders, then exits through normal interpreter exit
    sys.exit(0 if np.array_equal(env.render(), frame) else 3)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
"""


def test_forked_child_renders_and_exits_normally():
    # The parent's atexit eglTerminate used to hang a child that exited normally.
    proc = subprocess.run(
        [sys.executable, "-c", FORK_EXIT_SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "0", proc.stderr[-2000:]
