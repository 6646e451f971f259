"""Two correct vanishing_gradients submissions written differently from the solution.

Their clipping uses the two epsilon variants the notebook accepts: ``1e-12`` inside the square
root (the first) and torch's ``threshold / (norm + 1e-6)`` (the second).
"""

from . import CorrectSubmission

SVD_AND_CLOSED_FORM_SLOPE = CorrectSubmission(
    "svd_and_closed_form_slope",
    cells={
        "scale_to_spectral_norm": '''
def scale_to_spectral_norm(W, target):
    s = np.linalg.svd(W, compute_uv=False)
    return (target / s[0]) * np.array(W, dtype=float)
''',
        "jacobians": '''
def step_jacobian(h_next, W_hh):
    return np.diag(1 - h_next ** 2) @ W_hh


def jacobian_products(hs, W_hh):
    T, H = hs.shape
    products = [np.eye(H)]
    for k in range(T - 1, -1, -1):
        products.append(products[-1] @ step_jacobian(hs[k], W_hh))
    return np.array(products[::-1])
''',
        "norms": '''
def gradient_norms(x, h0, W_ih, W_hh, b_ih, b_hh):
    P = jacobian_products(rnn_states(x, h0, W_ih, W_hh, b_ih, b_hh), W_hh)
    return np.array([np.linalg.svd(m, compute_uv=False).max() for m in P])


def log_slope(norms):
    y = np.log(np.asarray(norms, dtype=float))
    d = np.arange(len(y))[::-1].astype(float)
    dc = d - d.mean()
    return float(np.sum(dc * (y - y.mean())) / np.sum(dc * dc))
''',
        "experiment": '''
for s in SIGMAS:
    curves[s] = gradient_norms(x_exp, h0_exp, W_ih_exp, scale_to_spectral_norm(W_hh0, s),
                               b_exp, b_exp)
for s in SIGMAS:
    slopes[s] = log_slope(curves[s])
''',
        "clip_by_global_norm": '''
def clip_by_global_norm(grads, threshold):
    total = 0.0
    for g in grads.values():
        total += float(np.sum(np.asarray(g, dtype=float) ** 2))
    norm = (total + 1e-12) ** 0.5  # an epsilon inside the square root: never zero
    factor = min(1.0, threshold / norm)
    return {k: np.asarray(v, dtype=float) * factor for k, v in grads.items()}, norm
''',
    },
)

NORM_AND_LSTSQ = CorrectSubmission(
    "norm_and_lstsq",
    cells={
        "scale_to_spectral_norm": '''
def scale_to_spectral_norm(W, target):
    return W / np.linalg.norm(W, 2) * target
''',
        "jacobians": '''
def step_jacobian(h_next, W_hh):
    return np.einsum("i,ij->ij", 1.0 - np.square(h_next), W_hh)


def jacobian_products(hs, W_hh):
    T, H = hs.shape
    P = np.zeros((T + 1, H, H))
    P[T] = np.identity(H)
    t = T
    while t > 0:
        P[t - 1] = np.matmul(P[t], step_jacobian(hs[t - 1], W_hh))
        t -= 1
    return P
''',
        "norms": '''
def gradient_norms(x, h0, W_ih, W_hh, b_ih, b_hh):
    hs = rnn_states(x, h0, W_ih, W_hh, b_ih, b_hh)
    P = jacobian_products(hs, W_hh)
    return np.array([np.linalg.norm(P[t], 2) for t in range(P.shape[0])])


def log_slope(norms):
    logs = np.log(norms)
    n = len(logs)
    A = np.stack([n - 1 - np.arange(n), np.ones(n)], axis=1)
    coef = np.linalg.lstsq(A, logs, rcond=None)[0]
    return float(coef[0])
''',
        "experiment": '''
curves.update({sigma: gradient_norms(x_exp, h0_exp, W_ih_exp,
                                     scale_to_spectral_norm(W_hh0, sigma), b_exp, b_exp)
               for sigma in SIGMAS})
slopes.update({sigma: log_slope(curve) for sigma, curve in curves.items()})
''',
        "clip_by_global_norm": '''
def clip_by_global_norm(grads, threshold):
    flat = np.concatenate([np.ravel(g) for g in grads.values()])
    norm = float(np.linalg.norm(flat))
    coef = min(threshold / (norm + 1e-6), 1.0)  # torch.nn.utils.clip_grad_norm_'s formula
    return {k: g * coef for k, g in grads.items()}, norm
''',
    },
)

CORRECT_SUBMISSIONS = [SVD_AND_CLOSED_FORM_SLOPE, NORM_AND_LSTSQ]
