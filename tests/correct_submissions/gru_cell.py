"""Two correct gru_cell submissions written differently from the solution."""

from . import CorrectSubmission

SPLIT_AND_INTERPOLATE = CorrectSubmission(
    "split_and_interpolate",
    cells={
        "gru_step_forward": '''
def gru_step_forward(x, h_prev, W_ih, W_hh, b_ih, b_hh):
    gx = x @ W_ih.T + b_ih
    gh = h_prev @ W_hh.T + b_hh
    xr, xz, xn = np.split(gx, 3, axis=1)
    hr, hz, hn = np.split(gh, 3, axis=1)
    r = 1 / (1 + np.exp(-(xr + hr)))
    z = 1 / (1 + np.exp(-(xz + hz)))
    n = np.tanh(xn + r * hn)
    h_next = n + z * (h_prev - n)
    return h_next, (x, h_prev, W_ih, W_hh, r, z, n, hn)
''',
        "gru_step_backward": '''
def gru_step_backward(dh_next, cache):
    x, h_prev, W_ih, W_hh, r, z, n, hn = cache
    dn = dh_next * (1 - z)
    dz = dh_next * (h_prev - n)
    dpre_n = dn * (1 - n * n)
    dpre_r = dpre_n * hn * r * (1 - r)
    dpre_z = dz * z * (1 - z)
    dgx = np.hstack([dpre_r, dpre_z, dpre_n])
    dgh = np.hstack([dpre_r, dpre_z, dpre_n * r])
    return {"x": dgx @ W_ih, "h_prev": dgh @ W_hh + z * dh_next, "W_ih": dgx.T @ x,
            "W_hh": dgh.T @ h_prev, "b_ih": dgx.sum(0), "b_hh": dgh.sum(0)}
''',
        "gru_forward": '''
def gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    states, caches = [], []
    h = h0
    for x_t in np.moveaxis(x, 1, 0):
        h, c = gru_step_forward(x_t, h, W_ih, W_hh, b_ih, b_hh)
        states.append(h)
        caches.append(c)
    return np.stack(states, axis=1), (caches, h0.shape[1])
''',
        "gru_backward": '''
def gru_backward(dhs, cache):
    caches, _ = cache
    dh = np.zeros_like(dhs[:, 0])
    per_step = []
    for t in reversed(range(len(caches))):
        g = gru_step_backward(dhs[:, t] + dh, caches[t])
        dh = g["h_prev"]
        per_step.append(g)
    per_step.reverse()
    out = {k: sum(g[k] for g in per_step) for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    out["x"] = np.stack([g["x"] for g in per_step], axis=1)
    out["h0"] = dh
    return out
''',
        "parameter_counts": '''
def parameter_counts(input_size, hidden_size, num_layers=1):
    result = {}
    for kind, gates in {"rnn": 1, "gru": 3, "lstm": 4}.items():
        total = 0
        d = input_size
        for _ in range(num_layers):
            total += gates * hidden_size * (d + hidden_size) + 2 * gates * hidden_size
            d = hidden_size
        result[kind] = total
    return result
''',
    },
)

PER_GATE_BLOCKS = CorrectSubmission(
    "per_gate_blocks",
    cells={
        "gru_step_forward": '''
def gru_step_forward(x, h_prev, W_ih, W_hh, b_ih, b_hh):
    H = h_prev.shape[1]
    W_ir, W_iz, W_in = W_ih[:H], W_ih[H:2 * H], W_ih[2 * H:]
    W_hr, W_hz, W_hn = W_hh[:H], W_hh[H:2 * H], W_hh[2 * H:]
    b_ir, b_iz, b_in = b_ih[:H], b_ih[H:2 * H], b_ih[2 * H:]
    b_hr, b_hz, b_hn = b_hh[:H], b_hh[H:2 * H], b_hh[2 * H:]
    r = sigmoid(x @ W_ir.T + b_ir + h_prev @ W_hr.T + b_hr)
    z = sigmoid(x @ W_iz.T + b_iz + h_prev @ W_hz.T + b_hz)
    hn = h_prev @ W_hn.T + b_hn
    n = np.tanh(x @ W_in.T + b_in + r * hn)
    h_next = (1 - z) * n + z * h_prev
    cache = {"x": x, "h": h_prev, "W_ih": W_ih, "W_hh": W_hh, "r": r, "z": z, "n": n, "hn": hn}
    return h_next, cache
''',
        "gru_step_backward": '''
def gru_step_backward(dh_next, cache):
    x, h, r, z, n, hn = (cache[k] for k in ("x", "h", "r", "z", "n", "hn"))
    H = h.shape[1]
    W_ih, W_hh = cache["W_ih"], cache["W_hh"]
    dz_pre = dh_next * (h - n) * z * (1 - z)
    dn_pre = dh_next * (1 - z) * (1 - n ** 2)
    dr_pre = dn_pre * hn * r * (1 - r)
    dhn = dn_pre * r
    dx = dr_pre @ W_ih[:H] + dz_pre @ W_ih[H:2 * H] + dn_pre @ W_ih[2 * H:]
    dh = dr_pre @ W_hh[:H] + dz_pre @ W_hh[H:2 * H] + dhn @ W_hh[2 * H:] + dh_next * z
    dW_ih = np.vstack([dr_pre.T @ x, dz_pre.T @ x, dn_pre.T @ x])
    dW_hh = np.vstack([dr_pre.T @ h, dz_pre.T @ h, dhn.T @ h])
    db_ih = np.concatenate([dr_pre.sum(0), dz_pre.sum(0), dn_pre.sum(0)])
    db_hh = np.concatenate([dr_pre.sum(0), dz_pre.sum(0), dhn.sum(0)])
    return {"x": dx, "h_prev": dh, "W_ih": dW_ih, "W_hh": dW_hh, "b_ih": db_ih, "b_hh": db_hh}
''',
        "gru_forward": '''
def gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    N, T, D = x.shape
    hs = np.empty((N, T, h0.shape[1]))
    steps = []
    for t in range(T):
        prev = h0 if t == 0 else hs[:, t - 1]
        hs[:, t], step_cache = gru_step_forward(x[:, t, :], prev, W_ih, W_hh, b_ih, b_hh)
        steps.append(step_cache)
    return hs, {"steps": steps, "D": D}
''',
        "gru_backward": '''
def gru_backward(dhs, cache):
    steps = cache["steps"]
    N, T, H = dhs.shape
    dx = np.empty((N, T, cache["D"]))
    total = None
    carry = np.zeros((N, H))
    t = T - 1
    while t >= 0:
        grads = gru_step_backward(dhs[:, t, :] + carry, steps[t])
        dx[:, t, :] = grads["x"]
        carry = grads["h_prev"]
        weights = [grads[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")]
        total = weights if total is None else [a + b for a, b in zip(total, weights)]
        t -= 1
    result = dict(zip(("W_ih", "W_hh", "b_ih", "b_hh"), total))
    result.update(x=dx, h0=carry)
    return result
''',
        "parameter_counts": '''
def parameter_counts(input_size, hidden_size, num_layers=1):
    H = hidden_size

    def stack(g):
        first = g * H * (input_size + H) + 2 * g * H
        rest = g * H * (H + H) + 2 * g * H
        return first + (num_layers - 1) * rest

    return {"lstm": stack(4), "gru": stack(3), "rnn": stack(1)}
''',
    },
)

CORRECT_SUBMISSIONS = [SPLIT_AND_INTERPOLATE, PER_GATE_BLOCKS]
