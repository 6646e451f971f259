"""Two correct char_lm submissions written from the released notebook, differently from the
solution: one pastes an LSTM written per gate block and builds the embedding from one-hot
vectors with einsum; the other pastes a GRU (``CELL = "gru"``), accumulates the embedding
gradient with ``np.bincount`` and clips with torch's ``threshold / (norm + 1e-6)``. Both must
reach the outcome with margin (``benchmarks/char_lm_margins.py``)."""

from . import CorrectSubmission

LSTM_ONE_HOT_EINSUM = CorrectSubmission(
    "lstm_one_hot_einsum",
    cells={
        "reused": '''
CELL = "lstm"


def lstm_step_forward(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    H = h_prev.shape[1]
    gates = []
    for k in range(4):
        rows = slice(k * H, (k + 1) * H)
        gates.append(x @ W_ih[rows].T + h_prev @ W_hh[rows].T + b_ih[rows] + b_hh[rows])
    i, f, o = (1.0 / (1.0 + np.exp(-gates[k])) for k in (0, 1, 3))
    g = np.tanh(gates[2])
    c_next = f * c_prev + i * g
    h_next = o * np.tanh(c_next)
    return h_next, c_next, (x, h_prev, c_prev, W_ih, W_hh, i, f, g, o, c_next)


def lstm_step_backward(dh_next, dc_next, cache):
    x, h_prev, c_prev, W_ih, W_hh, i, f, g, o, c_next = cache
    t = np.tanh(c_next)
    dc = dc_next + dh_next * o * (1 - t * t)
    blocks = [dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g * g),
              dh_next * t * o * (1 - o)]
    da = np.hstack(blocks)
    db = da.sum(0)
    return {"x": da @ W_ih, "h_prev": da @ W_hh, "c_prev": dc * f, "W_ih": da.T @ x,
            "W_hh": da.T @ h_prev, "b_ih": db, "b_hh": db.copy()}


def clip_by_global_norm(grads, threshold):
    total = float(np.sqrt(sum(float((g ** 2).sum()) for g in grads.values())))
    factor = threshold / (total + 1e-6) if total > threshold else 1.0
    return {name: factor * g for name, g in grads.items()}, total
''',
        "embedding": '''
def embedding_forward(x, W):
    one_hot = np.eye(W.shape[0])[x]
    return np.einsum("ntv,vd->ntd", one_hot, W), one_hot


def embedding_backward(dout, cache):
    return np.einsum("ntv,ntd->vd", cache, dout)
''',
        "temporal_affine": '''
def temporal_affine_forward(h, W, b):
    return np.einsum("nth,vh->ntv", h, W) + b[None, None, :], (h, W)


def temporal_affine_backward(dout, cache):
    h, W = cache
    return {"h": np.einsum("ntv,vh->nth", dout, W), "W": np.einsum("ntv,nth->vh", dout, h),
            "b": np.einsum("ntv->v", dout)}
''',
        "temporal_softmax_loss": '''
def temporal_softmax_loss(scores, y, mask):
    m = scores.max(axis=2, keepdims=True)
    log_z = m + np.log(np.exp(scores - m).sum(axis=2, keepdims=True))
    log_p = scores - log_z
    picked = np.take_along_axis(log_p, y[:, :, None], axis=2)[:, :, 0]
    keep = mask.astype(float)
    n_kept = keep.sum()
    one_hot = np.eye(scores.shape[2])[y]
    dscores = (np.exp(log_p) - one_hot) * keep[:, :, None] / n_kept
    return float(-(picked * keep).sum() / n_kept), dscores
''',
        "model": '''
def model_loss(params, x, y, state, mask=None):
    if mask is None:
        mask = np.ones(x.shape, dtype=bool)
    weights = [params[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")]
    emb, emb_cache = embedding_forward(x, params["embed"])
    h, c = state
    hs, caches = [], []
    for t in range(x.shape[1]):
        h, c, cache = lstm_step_forward(emb[:, t, :], h, c, *weights)
        hs.append(h)
        caches.append(cache)
    scores, aff_cache = temporal_affine_forward(np.stack(hs, axis=1), params["W_out"],
                                                params["b_out"])
    loss, dscores = temporal_softmax_loss(scores, y, mask)
    aff = temporal_affine_backward(dscores, aff_cache)
    grads = {"W_out": aff["W"], "b_out": aff["b"], "W_ih": 0.0, "W_hh": 0.0, "b_ih": 0.0,
             "b_hh": 0.0}
    d_emb = []
    dh_next = np.zeros_like(h)
    dc_next = np.zeros_like(c)
    for t in range(x.shape[1] - 1, -1, -1):
        g = lstm_step_backward(aff["h"][:, t, :] + dh_next, dc_next, caches[t])
        dh_next, dc_next = g["h_prev"], g["c_prev"]
        d_emb.insert(0, g["x"])
        for k in ("W_ih", "W_hh", "b_ih", "b_hh"):
            grads[k] = grads[k] + g[k]
    grads["embed"] = embedding_backward(np.stack(d_emb, axis=1), emb_cache)
    return loss, grads, (h, c)


def model_step(params, ids, state):
    x = params["embed"][ids]
    h, c, _ = lstm_step_forward(x, state[0], state[1], params["W_ih"], params["W_hh"],
                                params["b_ih"], params["b_hh"])
    return h @ params["W_out"].T + params["b_out"], (h, c)
''',
        "train": '''
def train(params, ids, steps, batch_size=32, window=32, lr=1e-2, max_norm=0.25):
    inputs, targets = streams(ids, batch_size)
    adam = Adam(params, lr=lr)
    losses, norms = [], []
    batches = iter(())
    state = None
    for _ in range(steps):
        batch = next(batches, None)
        if batch is None:  # a new pass over the streams starts from a zero state
            batches = windows(inputs, targets, window)
            batch = next(batches)
            state = zero_state(params, batch_size)
        loss, grads, state = model_loss(params, batch[0], batch[1], state)
        clipped, norm = clip_by_global_norm(grads, max_norm)
        adam.step(params, clipped)
        losses.append(loss)
        norms.append(norm)
    return params, {"loss": losses, "norm": norms}
''',
        "sample_next": '''
def sample_next(scores, temperature, u):
    z = scores / temperature
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p = p / p.sum(axis=1, keepdims=True)
    cdf = np.cumsum(p, axis=1)
    ids = np.array([np.searchsorted(row, value, side="right") for row, value in zip(cdf, u)],
                   dtype=np.int64)
    return np.clip(ids, 0, scores.shape[1] - 1)
''',
    },
)

GRU_BINCOUNT = CorrectSubmission(
    "gru_bincount",
    cells={
        "reused": '''
CELL = "gru"


def gru_step_forward(x, h_prev, W_ih, W_hh, b_ih, b_hh):
    H = h_prev.shape[1]
    gi = x @ W_ih.T + b_ih
    gh = h_prev @ W_hh.T + b_hh
    r = sigmoid(gi[:, :H] + gh[:, :H])
    z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    h_next = (1 - z) * n + z * h_prev
    return h_next, dict(x=x, h=h_prev, Wi=W_ih, Wh=W_hh, r=r, z=z, n=n, hn=gh[:, 2 * H:])


def gru_step_backward(dh_next, cache):
    r, z, n, hn, h = cache["r"], cache["z"], cache["n"], cache["hn"], cache["h"]
    d_n = dh_next * (1 - z) * (1 - n ** 2)
    d_z = dh_next * (h - n) * z * (1 - z)
    d_r = d_n * hn * r * (1 - r)
    d_i = np.concatenate([d_r, d_z, d_n], axis=1)
    d_h = np.concatenate([d_r, d_z, d_n * r], axis=1)
    return {"x": d_i @ cache["Wi"], "h_prev": d_h @ cache["Wh"] + dh_next * z,
            "W_ih": d_i.T @ cache["x"], "W_hh": d_h.T @ h, "b_ih": d_i.sum(axis=0),
            "b_hh": d_h.sum(axis=0)}


def clip_by_global_norm(grads, threshold):
    norm = np.sqrt(np.sum([np.vdot(g, g) for g in grads.values()]) + 1e-12)
    if norm <= threshold:
        return dict(grads), float(norm)
    return {k: v * (threshold / norm) for k, v in grads.items()}, float(norm)
''',
        "embedding": '''
def embedding_forward(x, W):
    return np.take(W, x, axis=0), (x, W.shape[0])


def embedding_backward(dout, cache):
    x, V = cache
    flat_ids = x.ravel()
    flat = dout.reshape(flat_ids.size, -1)
    return np.stack([np.bincount(flat_ids, weights=flat[:, d], minlength=V)
                     for d in range(flat.shape[1])], axis=1)
''',
        "temporal_affine": '''
def temporal_affine_forward(h, W, b):
    out = np.tensordot(h, W, axes=([2], [1])) + b
    return out, {"h": h, "W": W}


def temporal_affine_backward(dout, cache):
    h, W = cache["h"], cache["W"]
    dW = np.tensordot(dout, h, axes=([0, 1], [0, 1]))
    return {"h": np.tensordot(dout, W, axes=([2], [0])), "W": dW, "b": dout.sum(axis=(0, 1))}
''',
        "temporal_softmax_loss": '''
def temporal_softmax_loss(scores, y, mask):
    shifted = scores - scores.max(axis=-1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=-1, keepdims=True)
    n_idx, t_idx = np.indices(y.shape)
    keep = np.where(mask, 1.0, 0.0)
    total = keep.sum()
    log_p_target = shifted[n_idx, t_idx, y] - np.log(np.exp(shifted).sum(axis=-1))
    loss = -np.sum(log_p_target * keep) / total
    dscores = probs.copy()
    dscores[n_idx, t_idx, y] -= 1
    dscores *= keep[..., None] / total
    return float(loss), dscores
''',
        "model": '''
def model_loss(params, x, y, state, mask=None):
    N, T = x.shape
    mask = np.full((N, T), True) if mask is None else mask
    emb, emb_cache = embedding_forward(x, params["embed"])
    (h,) = state
    H = h.shape[1]
    hs = np.empty((N, T, H))
    caches = [None] * T
    for t in range(T):
        h, caches[t] = gru_step_forward(emb[:, t], h, params["W_ih"], params["W_hh"],
                                        params["b_ih"], params["b_hh"])
        hs[:, t] = h
    scores, out_cache = temporal_affine_forward(hs, params["W_out"], params["b_out"])
    loss, dscores = temporal_softmax_loss(scores, y, mask)
    back = temporal_affine_backward(dscores, out_cache)
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    grads["W_out"], grads["b_out"] = back["W"], back["b"]
    d_emb = np.empty_like(emb)
    carry = np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        step = gru_step_backward(back["h"][:, t] + carry, caches[t])
        carry = step["h_prev"]
        d_emb[:, t] = step["x"]
        for k in ("W_ih", "W_hh", "b_ih", "b_hh"):
            grads[k] += step[k]
    grads["embed"] = embedding_backward(d_emb, emb_cache)
    return loss, grads, (h,)


def model_step(params, ids, state):
    h, _ = gru_step_forward(np.take(params["embed"], ids, axis=0), state[0], params["W_ih"],
                            params["W_hh"], params["b_ih"], params["b_hh"])
    return h @ params["W_out"].T + params["b_out"], (h,)
''',
        "train": '''
def train(params, ids, steps, batch_size=32, window=32, lr=1e-2, max_norm=0.25):
    inputs, targets = streams(ids, batch_size)
    optimizer = Adam(params, lr=lr)
    history = {"loss": [], "norm": []}
    done = 0
    while done < steps:
        carried = zero_state(params, batch_size)
        for x, y in windows(inputs, targets, window):
            if done == steps:
                break
            loss, grads, carried = model_loss(params, x, y, carried)
            grads, norm = clip_by_global_norm(grads, max_norm)
            optimizer.step(params, grads)
            history["loss"].append(float(loss))
            history["norm"].append(norm)
            done += 1
    return params, history
''',
        "sample_next": '''
def sample_next(scores, temperature, u):
    logits = scores / temperature
    logits -= logits.max(axis=1)[:, None]
    weights = np.exp(logits)
    cumulative = np.cumsum(weights, axis=1) / weights.sum(axis=1)[:, None]
    out = np.empty(len(u), dtype=np.int64)
    for n in range(len(u)):
        out[n] = min(int(np.searchsorted(cumulative[n], u[n], side="right")),
                     scores.shape[1] - 1)
    return out
''',
    },
)

CORRECT_SUBMISSIONS = [LSTM_ONE_HOT_EINSUM, GRU_BINCOUNT]
