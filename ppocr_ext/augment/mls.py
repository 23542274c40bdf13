"""Moving-least-squares image warping (Schaefer, McPhail & Warren, SIGGRAPH 2006).

TIA (Luo et al., "Learn to Augment", CVPR 2020) deforms a text image by moving a few
fiducial points on its top and bottom edges and letting MLS carry every other pixel
along smoothly. We need the *backward* map (for every output pixel, where to sample
the source) because that is what `cv2.remap` consumes. MLS gives it directly: deform
with the moved points as the handles `p` and the original points as the targets `q`.

Speed: MLS costs O(pixels x points), so we evaluate it only on a coarse grid (one node
every `grid_step` pixels) and let `cv2.resize` interpolate the displacement up to full
size. The grid nodes sit exactly where `cv2.resize(INTER_LINEAR)` samples its input,
so the upsampled map is exact at the nodes and bilinear in between — the deformation
is smooth at the scale of a few pixels, so nothing visible is lost.
"""
from __future__ import annotations

import cv2
import numpy as np

MLS_MODES = ("similarity", "rigid")
_EPS = 1e-8


def _grid_axis(size: int, nodes: int) -> np.ndarray:
    """Pixel coordinates that `cv2.resize(nodes -> size, INTER_LINEAR)` samples at node k."""
    return (np.arange(nodes) + 0.5) * size / nodes - 0.5


def mls_deform(points: np.ndarray, handles: np.ndarray, targets: np.ndarray,
               mode: str = "similarity", alpha: float = 1.0) -> np.ndarray:
    """Evaluate the MLS deformation f(v) that sends `handles` to `targets`, at `points`.

    points: (G, 2) positions v; handles, targets: (N, 2) control points p_i -> q_i.
    mode "similarity" keeps local angles (uniform scale allowed); "rigid" also keeps
    local lengths, which resists the squashing similarity MLS shows between sparse
    handles. Returns (G, 2) deformed positions.
    """
    if mode not in MLS_MODES:
        raise ValueError(f"unknown MLS mode {mode!r}; choose one of {MLS_MODES}")
    p = np.asarray(handles, dtype=np.float64)
    q = np.asarray(targets, dtype=np.float64)
    v = np.asarray(points, dtype=np.float64)
    if p.shape != q.shape or p.ndim != 2 or p.shape[1] != 2 or len(p) < 2:
        raise ValueError("handles and targets must both be (N>=2, 2) arrays")

    # Everything is (G, N) or (G,): x and y kept apart, which is several times faster
    # than (G, N, 2) arrays for the few-dozen handles TIA uses.
    sq_dist = (v[:, 0, None] - p[:, 0]) ** 2 + (v[:, 1, None] - p[:, 1]) ** 2
    w = 1.0 / ((sq_dist if alpha == 1.0 else sq_dist ** alpha) + _EPS)
    w_sum = w.sum(1)
    p_star = (w @ p) / w_sum[:, None]                                 # (G, 2)
    q_star = (w @ q) / w_sum[:, None]
    phx = p[:, 0] - p_star[:, 0, None]                                # p_hat, (G, N)
    phy = p[:, 1] - p_star[:, 1, None]
    dx = v[:, 0] - p_star[:, 0]                                       # d = v - p*, (G,)
    dy = v[:, 1] - p_star[:, 1]

    # Closed form of sum_i q_hat_i A_i with A_i = w_i [p_hat; -p_hat^perp][d; -d^perp]^T,
    # (x, y)^perp = (-y, x): with a = p_hat . d and b = p_hat . d^perp,
    # f = sum_i w_i (qx a + qy b, qy a - qx b). q_hat may be replaced by q because
    # sum_i w_i p_hat_i = 0 makes the q* terms vanish.
    wa = w * (phx * dx[:, None] + phy * dy[:, None])
    wb = w * (phy * dx[:, None] - phx * dy[:, None])
    f = np.stack([wa @ q[:, 0] + wb @ q[:, 1], wa @ q[:, 1] - wb @ q[:, 0]], axis=1)

    if mode == "similarity":
        mu_s = (w * (phx * phx + phy * phy)).sum(1)
        f /= np.maximum(mu_s, _EPS)[:, None]
    else:
        f_norm = np.sqrt((f * f).sum(1))
        f *= (np.sqrt(dx * dx + dy * dy) / np.maximum(f_norm, _EPS))[:, None]
    return f + q_star


def mls_backward_map(src_pts, dst_pts, width: int, height: int, grid_step: int = 4,
                     mode: str = "similarity") -> tuple[np.ndarray, np.ndarray]:
    """Remap tables (map_x, map_y), float32 (height, width), for the warp that moves
    `src_pts` (points of the input image) to `dst_pts` (their place in the output)."""
    grid_w = max(2, -(-width // grid_step))
    grid_h = max(2, -(-height // grid_step))
    xs, ys = np.meshgrid(_grid_axis(width, grid_w), _grid_axis(height, grid_h))
    nodes = np.stack([xs.ravel(), ys.ravel()], axis=1)
    sources = mls_deform(nodes, dst_pts, src_pts, mode=mode)
    shift = (sources - nodes).astype(np.float32).reshape(grid_h, grid_w, 2)
    shift = cv2.resize(shift, (width, height), interpolation=cv2.INTER_LINEAR)
    map_x = shift[..., 0] + np.arange(width, dtype=np.float32)[None, :]
    map_y = shift[..., 1] + np.arange(height, dtype=np.float32)[:, None]
    return map_x, map_y


def warp_mls(image: np.ndarray, src_pts, dst_pts, grid_step: int = 4,
             mode: str = "similarity") -> np.ndarray:
    """Warp `image` so that `src_pts` land on `dst_pts`; same size, border replicated
    (a replicated edge looks like background, a black one would be a fake stroke)."""
    height, width = image.shape[:2]
    map_x, map_y = mls_backward_map(src_pts, dst_pts, width, height, grid_step, mode)
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)
