"""Headless MuJoCo rendering on ``mujoco.Renderer``, with what it lacks.

``mujoco.Renderer`` draws the frames. This module adds only three things:

* **backend choice**: EGL when it works, else OSMesa, probed once and written to
  ``MUJOCO_GL`` so workers inherit it; a display is never needed.
* **flags**: shadows, reflections, skybox, fog and haze off. They carry no task
  information and cost most of the time of a 64x64 frame on a CPU (Mesa
  llvmpipe): several times faster than dm_control's default ``physics.render``.
* **lazy, fork-safe, picklable contexts**: the GL context is made on the first
  ``render`` call in the process that renders; it is dropped on pickle/deepcopy
  (the copy makes its own), and a forked child that inherited one makes a fresh
  one instead of using the parent's (which hangs: Gymnasium's async vector envs
  fork by default). Checked on EGL with multiprocessing workers and with a plain
  ``os.fork`` child that exits normally; on OSMesa, multiprocessing workers work
  but a plain forked child that rendered can hang in Mesa's C exit handlers.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import weakref
from dataclasses import dataclass

import mujoco
import numpy as np

_BACKENDS = ("egl", "osmesa")
_PROBE = "from mujoco.{b} import GLContext\nc = GLContext(16, 16); c.make_current(); c.free()\n"
_LIVE: weakref.WeakSet[FastRenderer] = weakref.WeakSet()
# MjrContexts a forked child inherited from its parent. Their GL objects belong to
# the parent's context: freeing them from the child could hang or free the child's
# own objects, so the child keeps them, unused, until it exits.
_ORPHANS: list[object] = []


def _probe_backend(backend: str) -> bool:
    """True if ``backend`` can create a GL context (tried in a child process, because
    PyOpenGL binds its platform once per process)."""
    env = dict(os.environ, MUJOCO_GL=backend, PYOPENGL_PLATFORM=backend)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE.format(b=backend)],
            env=env,
            capture_output=True,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def gl_backend() -> str:
    """Pick the headless GL backend: ``$MUJOCO_GL`` if set, else EGL, else OSMesa.

    The choice is written to ``MUJOCO_GL``/``PYOPENGL_PLATFORM`` so that worker
    processes inherit it without probing again.
    """
    # Mesa's llvmpipe (the CPU driver behind both backends) shares one pool of
    # rasterizer threads per process; a forked child inherits the pool's state but
    # not its threads, and its first frame then waits forever, even on a fresh
    # context. With 0 threads llvmpipe draws in the calling thread: fork-safe, and as
    # fast at 64 px (workers get their parallelism from processes). Set before any
    # GL library initialises; a user's own LP_NUM_THREADS is kept.
    os.environ.setdefault("LP_NUM_THREADS", "0")
    chosen = os.environ.get("MUJOCO_GL", "").strip().lower()
    if chosen:
        if chosen not in _BACKENDS:
            raise ValueError(
                f"MUJOCO_GL={chosen!r} is not a headless backend; use one of {_BACKENDS}"
            )
        os.environ.setdefault("PYOPENGL_PLATFORM", chosen)
        return chosen
    for backend in _BACKENDS:
        if _probe_backend(backend):
            os.environ["MUJOCO_GL"] = backend
            os.environ["PYOPENGL_PLATFORM"] = backend
            return backend
    raise RuntimeError(
        "no headless OpenGL backend works: install EGL (Debian: libegl1 libgl1-mesa-dri) "
        "or OSMesa (Debian: libosmesa6), e.g. `make system-deps`, then retry"
    )


@dataclass(frozen=True)
class FreeCamera:
    """A camera not defined in the model: looks at ``lookat`` from ``distance``."""

    lookat: tuple[float, float, float] = (0.0, 0.0, 0.0)
    distance: float = 1.0
    azimuth: float = 90.0
    elevation: float = -90.0

    def to_mjv(self) -> mujoco.MjvCamera:
        cam = mujoco.MjvCamera()
        cam.type = mujoco.mjtCamera.mjCAMERA_FREE
        cam.lookat[:] = self.lookat
        cam.distance = self.distance
        cam.azimuth = self.azimuth
        cam.elevation = self.elevation
        return cam


# Visual effects that cost time and carry no task information.
OFF_FLAGS = (
    mujoco.mjtRndFlag.mjRND_SHADOW,
    mujoco.mjtRndFlag.mjRND_REFLECTION,
    mujoco.mjtRndFlag.mjRND_SKYBOX,
    mujoco.mjtRndFlag.mjRND_FOG,
    mujoco.mjtRndFlag.mjRND_HAZE,
)


def _use_backend() -> None:
    """Make ``mujoco.Renderer`` open its contexts on ``gl_backend()``'s backend.

    mujoco fixes its GL backend from ``MUJOCO_GL`` when first imported (GLFW, which
    needs a display, when unset); this process may have imported mujoco before the
    backend was chosen, so the choice is applied to the module the Renderer reads.
    """
    backend = gl_backend()
    if backend == "egl":
        from mujoco.egl import GLContext
    else:
        from mujoco.osmesa import GLContext
    gl_module = sys.modules[mujoco.Renderer.__module__].gl_context
    if getattr(gl_module, "GLContext", None) is not GLContext:
        gl_module.GLContext = GLContext


def make_renderer(model: mujoco.MjModel, size: int, max_geom: int = 2000) -> mujoco.Renderer:
    """A ``mujoco.Renderer`` of ``size`` x ``size`` with the costly flags off (makes a
    GL context now, on the backend ``gl_backend`` picks)."""
    _use_backend()
    model.vis.global_.offwidth = max(model.vis.global_.offwidth, size)
    model.vis.global_.offheight = max(model.vis.global_.offheight, size)
    renderer = mujoco.Renderer(
        model, size, size, max_geom=max_geom, font_scale=mujoco.mjtFontScale.mjFONTSCALE_50
    )
    for flag in OFF_FLAGS:
        renderer.scene.flags[flag] = 0
    return renderer


class FastRenderer:
    """Offscreen renderer of one MuJoCo model at a fixed square size.

    ``render(data, camera) -> uint8 [H, W, 3]``. The ``mujoco.Renderer`` (and its GL
    context) is made on the first call in the calling process: an env can be built
    in one process and rendered in a worker it is sent to or forked into.
    """

    def __init__(self, model: mujoco.MjModel, size: int, max_geom: int = 2000):
        if size < 8 or size > 1024:
            raise ValueError(f"image size must be in [8, 1024], got {size}")
        self.model = model
        self.size = size
        self._max_geom = max_geom
        self._renderer: mujoco.Renderer | None = None
        self._pid = 0  # process that made self._renderer

    @property
    def has_context(self) -> bool:
        """True once this process has made a GL context for this renderer."""
        return self._renderer is not None and self._pid == os.getpid()

    def _camera(self, camera: int | str | FreeCamera) -> int | mujoco.MjvCamera:
        if isinstance(camera, FreeCamera):
            return camera.to_mjv()
        if isinstance(camera, str):
            cam_id = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_CAMERA, camera)
            if cam_id < 0:
                raise ValueError(f"camera {camera!r} is not in the model")
            return cam_id
        return camera

    def render(self, data: mujoco.MjData, camera: int | str | FreeCamera = 0) -> np.ndarray:
        """Render ``data`` from a camera (model id or name, or a ``FreeCamera``)
        -> new uint8 [H, W, 3]."""
        cam = self._camera(camera)
        if self._renderer is not None and self._pid != os.getpid():
            _forget_inherited(self)
        if self._renderer is None:
            self._renderer = make_renderer(self.model, self.size, self._max_geom)
            self._pid = os.getpid()
            _register_exit_hook()
            _LIVE.add(self)
        self._renderer.update_scene(data, cam)
        return self._renderer.render()

    def close(self) -> None:
        """Free the GL context (idempotent)."""
        if self._renderer is not None and self._pid == os.getpid():
            # mujoco.Renderer.close frees its MjrContext on whatever GL context is
            # current, which with several renderers is another one's: it would delete
            # that renderer's textures and buffers (same ids). Make its own current.
            gl = self._renderer._gl_context
            if gl is not None:
                gl.make_current()
            self._renderer.close()
        elif self._renderer is not None:
            _forget_inherited(self)
        self._renderer = None
        _LIVE.discard(self)

    # A GL context cannot be pickled or copied: the copy makes its own when it renders.
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_renderer"], state["_pid"] = None, 0
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown: GL may already be gone
            self._renderer = None


def _forget_inherited(renderer: FastRenderer) -> None:
    """Drop a renderer inherited through fork without touching the parent's GL objects."""
    stale = renderer._renderer
    if stale is not None:
        # Never destroy the parent's context from here (mujoco.egl/osmesa GLContext
        # frees on deletion; with no handle it does nothing) and keep its MjrContext
        # alive (freeing it would issue GL calls for objects the child does not own).
        if stale._gl_context is not None:
            stale._gl_context._context = None
        _ORPHANS.append(stale._mjr_context)
        stale._gl_context, stale._mjr_context = None, None
    renderer._renderer, renderer._pid = None, 0
    _LIVE.discard(renderer)


def _register_exit_hook() -> None:
    # atexit runs handlers last-in first-out. GL backends (mujoco.egl, dm_control)
    # register eglTerminate when they first open a display; moving our hook to the
    # end on every new context frees our contexts before EGL shuts down, so nothing
    # prints EGL errors at interpreter exit.
    atexit.unregister(_close_all)
    atexit.register(_close_all)


def _close_all() -> None:
    for renderer in list(_LIVE):
        try:
            renderer.close()
        except Exception:  # noqa: BLE001
            # The display was terminated first by a handler registered after ours;
            # the driver has already released the context with it.
            renderer._renderer = None


def _after_fork_in_child() -> None:
    # A forked child must not use (or free) its parent's contexts: forget them now,
    # before anything renders; each renderer makes a fresh context on its next frame.
    for renderer in list(_LIVE):
        if renderer._renderer is not None:
            _forget_inherited(renderer)
    # The parent registered eglTerminate (mujoco.egl, dm_control) to run at exit; in a
    # child that exits normally it waits forever on the parent's display. The kernel
    # releases the child's GL resources when it exits.
    egl = sys.modules.get("OpenGL.EGL")
    if egl is not None:
        atexit.unregister(egl.eglTerminate)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
